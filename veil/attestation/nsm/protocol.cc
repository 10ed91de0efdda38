#include "veil/attestation/nsm/protocol.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/cbor.h"
#include "veil/common/status_macros.h"

namespace veil::attestation::nsm::protocol {
namespace {

using cbor::Value;
using Type = cbor::Value::Type;

// Variant names on the wire (nsm-api src/api/mod.rs).
constexpr char kDescribePcr[] = "DescribePCR";
constexpr char kExtendPcr[] = "ExtendPCR";
constexpr char kLockPcr[] = "LockPCR";
constexpr char kLockPcrs[] = "LockPCRs";
constexpr char kDescribeNsm[] = "DescribeNSM";
constexpr char kAttestation[] = "Attestation";
constexpr char kGetRandom[] = "GetRandom";
constexpr char kError[] = "Error";

// The decoder's own bounds: NSM messages are small and shallow.
cbor::Limits MessageLimits(size_t max_input) {
  cbor::Limits limits;
  limits.max_depth = 4;
  limits.max_items = 256;
  limits.max_input = max_input;
  return limits;
}

void WriteOptionalBytes(cbor::Writer& w, const std::optional<std::vector<uint8_t>>& b) {
  if (b.has_value()) {
    w.Bytes(*b);
  } else {
    w.Null();
  }
}

// VariantHeader starts a struct variant: {"name": {<fields> ...
void VariantHeader(cbor::Writer& w, std::string_view name, uint64_t fields) {
  w.MapHeader(1);
  w.Text(name);
  w.MapHeader(fields);
}

absl::Status CheckAttestationFields(const AttestationRequest& r) {
  if (r.user_data && r.user_data->size() > kMaxUserDataSize) {
    return absl::InvalidArgumentError(absl::StrCat("user_data is ", r.user_data->size(),
                                                   " bytes; the NSM takes at most ",
                                                   kMaxUserDataSize));
  }
  if (r.nonce && r.nonce->size() > kMaxNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat("nonce is ", r.nonce->size(),
                                                   " bytes; the NSM takes at most ",
                                                   kMaxNonceSize));
  }
  if (r.public_key && (r.public_key->empty() || r.public_key->size() > kMaxPublicKeySize)) {
    return absl::InvalidArgumentError(absl::StrCat("public_key is ", r.public_key->size(),
                                                   " bytes; the NSM takes 1 to ",
                                                   kMaxPublicKeySize));
  }
  return absl::OkStatus();
}

// ---- decoding helpers --------------------------------------------------

// Fields finds the named entries of a struct map. With `strict`, keys other
// than `names` are refused; otherwise they are skipped (serde's default).
// Every name must be present exactly once. The result is in `names` order.
absl::StatusOr<std::vector<const Value*>> Fields(const Value& map,
                                                 std::initializer_list<std::string_view> names,
                                                 bool strict, absl::string_view what) {
  if (map.type != Type::kMap) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a map of fields"));
  }
  std::vector<const Value*> out(names.size(), nullptr);
  for (const auto& [key, value] : map.map) {
    if (key.type != Type::kText) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": field names must be text"));
    }
    const auto it = std::find(names.begin(), names.end(), key.text());
    if (it == names.end()) {
      if (strict) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": unknown field \"", std::string(key.text()), "\""));
      }
      continue;
    }
    const size_t i = static_cast<size_t>(it - names.begin());
    if (out[i] != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": duplicate field \"", std::string(key.text()), "\""));
    }
    out[i] = &value;
  }
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": missing field \"", std::string(*(names.begin() + i)), "\""));
    }
  }
  return out;
}

absl::StatusOr<uint16_t> U16(const Value& v, absl::string_view what) {
  if (v.type != Type::kUnsigned || v.uint > 0xFFFF) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected an unsigned 16-bit integer"));
  }
  return static_cast<uint16_t>(v.uint);
}

absl::StatusOr<std::vector<uint8_t>> Bytes(const Value& v, absl::string_view what) {
  if (v.type != Type::kBytes) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a byte string"));
  }
  return std::vector<uint8_t>(v.bytes.begin(), v.bytes.end());
}

absl::StatusOr<std::optional<std::vector<uint8_t>>> OptionalBytes(const Value& v,
                                                                  absl::string_view what) {
  if (v.is_null()) return std::optional<std::vector<uint8_t>>();
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> b, Bytes(v, what));
  return std::optional<std::vector<uint8_t>>(std::move(b));
}

absl::StatusOr<PcrValue> Pcr(const Value& v, absl::string_view what) {
  if (v.type != Type::kBytes || v.bytes.size() != kPcrLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": expected a ", kPcrLength, "-byte PCR value"));
  }
  PcrValue out;
  std::memcpy(out.data(), v.bytes.data(), kPcrLength);
  return out;
}

absl::StatusOr<std::string> Text(const Value& v, absl::string_view what) {
  if (v.type != Type::kText) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a text string"));
  }
  return std::string(v.text());
}

// Variant splits an externally tagged enum value into its name and, for
// struct and newtype variants, its content (nullptr for a unit variant).
absl::Status Variant(const Value& top, std::string_view* name, const Value** content) {
  if (top.type == Type::kText) {
    *name = top.text();
    *content = nullptr;
    return absl::OkStatus();
  }
  if (top.type == Type::kMap && top.map.size() == 1 && top.map[0].first.type == Type::kText) {
    *name = top.map[0].first.text();
    *content = &top.map[0].second;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "expected a text string (unit variant) or a one-entry map with a text key");
}

absl::StatusOr<Request> ParseRequest(const Value& top) {
  std::string_view name;
  const Value* content = nullptr;
  VEIL_RETURN_IF_ERROR(Variant(top, &name, &content));
  if (content == nullptr) {
    if (name == kDescribeNsm) return DescribeNsmRequest{};
    if (name == kGetRandom) return GetRandomRequest{};
  } else if (name == kDescribePcr) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"index"}, true, kDescribePcr));
    VEIL_ASSIGN_OR_RETURN(uint16_t index, U16(*f[0], "DescribePCR.index"));
    return DescribePcrRequest{index};
  } else if (name == kExtendPcr) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"index", "data"}, true, kExtendPcr));
    VEIL_ASSIGN_OR_RETURN(uint16_t index, U16(*f[0], "ExtendPCR.index"));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> data, Bytes(*f[1], "ExtendPCR.data"));
    return ExtendPcrRequest{index, std::move(data)};
  } else if (name == kLockPcr) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"index"}, true, kLockPcr));
    VEIL_ASSIGN_OR_RETURN(uint16_t index, U16(*f[0], "LockPCR.index"));
    return LockPcrRequest{index};
  } else if (name == kLockPcrs) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"range"}, true, kLockPcrs));
    VEIL_ASSIGN_OR_RETURN(uint16_t range, U16(*f[0], "LockPCRs.range"));
    return LockPcrsRequest{range};
  } else if (name == kAttestation) {
    VEIL_ASSIGN_OR_RETURN(
        auto f, Fields(*content, {"user_data", "nonce", "public_key"}, true, kAttestation));
    AttestationRequest r;
    VEIL_ASSIGN_OR_RETURN(r.user_data, OptionalBytes(*f[0], "Attestation.user_data"));
    VEIL_ASSIGN_OR_RETURN(r.nonce, OptionalBytes(*f[1], "Attestation.nonce"));
    VEIL_ASSIGN_OR_RETURN(r.public_key, OptionalBytes(*f[2], "Attestation.public_key"));
    if ((r.user_data && r.user_data->size() > kMaxUserDataSize) ||
        (r.nonce && r.nonce->size() > kMaxNonceSize) ||
        (r.public_key && r.public_key->size() > kMaxPublicKeySize)) {
      return NsmError(ErrorCode::kInputTooLarge,
                      "attestation field over its limit (user_data and nonce 512 bytes, "
                      "public_key 1024)");
    }
    if (r.public_key && r.public_key->empty()) {
      return absl::InvalidArgumentError("Attestation.public_key is empty");
    }
    return r;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown request \"", std::string(name), "\"",
                                                 content == nullptr ? " (unit form)" : ""));
}

absl::StatusOr<Response> ParseResponse(const Value& top) {
  std::string_view name;
  const Value* content = nullptr;
  VEIL_RETURN_IF_ERROR(Variant(top, &name, &content));
  if (content == nullptr) {
    if (name == kLockPcr) return LockPcrResponse{};
    if (name == kLockPcrs) return LockPcrsResponse{};
  } else if (name == kDescribePcr) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"lock", "data"}, false, kDescribePcr));
    if (f[0]->type != Type::kBool) {
      return absl::InvalidArgumentError("DescribePCR.lock: expected a bool");
    }
    DescribePcrResponse r;
    r.lock = f[0]->boolean;
    VEIL_ASSIGN_OR_RETURN(r.data, Pcr(*f[1], "DescribePCR.data"));
    return r;
  } else if (name == kExtendPcr) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"data"}, false, kExtendPcr));
    ExtendPcrResponse r;
    VEIL_ASSIGN_OR_RETURN(r.data, Pcr(*f[0], "ExtendPCR.data"));
    return r;
  } else if (name == kDescribeNsm) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content,
                                         {"version_major", "version_minor", "version_patch",
                                          "module_id", "max_pcrs", "locked_pcrs", "digest"},
                                         false, kDescribeNsm));
    DescribeNsmResponse r;
    NsmDescription& d = r.description;
    VEIL_ASSIGN_OR_RETURN(d.version_major, U16(*f[0], "DescribeNSM.version_major"));
    VEIL_ASSIGN_OR_RETURN(d.version_minor, U16(*f[1], "DescribeNSM.version_minor"));
    VEIL_ASSIGN_OR_RETURN(d.version_patch, U16(*f[2], "DescribeNSM.version_patch"));
    VEIL_ASSIGN_OR_RETURN(d.module_id, Text(*f[3], "DescribeNSM.module_id"));
    VEIL_ASSIGN_OR_RETURN(d.max_pcrs, U16(*f[4], "DescribeNSM.max_pcrs"));
    if (f[5]->type != Type::kArray) {
      return absl::InvalidArgumentError("DescribeNSM.locked_pcrs: expected an array");
    }
    for (const Value& item : f[5]->items) {
      VEIL_ASSIGN_OR_RETURN(uint16_t index, U16(item, "DescribeNSM.locked_pcrs[]"));
      d.locked_pcrs.push_back(index);
    }
    VEIL_ASSIGN_OR_RETURN(d.digest, Text(*f[6], "DescribeNSM.digest"));
    return r;
  } else if (name == kAttestation) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"document"}, false, kAttestation));
    AttestationResponse r;
    VEIL_ASSIGN_OR_RETURN(r.document, Bytes(*f[0], "Attestation.document"));
    if (r.document.empty()) {
      return absl::InvalidArgumentError("Attestation.document is empty");
    }
    return r;
  } else if (name == kGetRandom) {
    VEIL_ASSIGN_OR_RETURN(auto f, Fields(*content, {"random"}, false, kGetRandom));
    GetRandomResponse r;
    VEIL_ASSIGN_OR_RETURN(r.random, Bytes(*f[0], "GetRandom.random"));
    return r;
  } else if (name == kError) {
    VEIL_ASSIGN_OR_RETURN(std::string code_name, Text(*content, "Error"));
    const std::optional<ErrorCode> code = ErrorCodeFromName(code_name);
    if (!code.has_value() || *code == ErrorCode::kSuccess) {
      return absl::InvalidArgumentError(absl::StrCat("unknown NSM error code \"", code_name, "\""));
    }
    return ErrorResponse{*code};
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown response \"", std::string(name), "\"",
                                                 content == nullptr ? " (unit form)" : ""));
}

}  // namespace

std::string_view RequestName(const Request& request) {
  return std::visit(
      [](const auto& r) -> std::string_view {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, DescribePcrRequest>) return kDescribePcr;
        if constexpr (std::is_same_v<T, ExtendPcrRequest>) return kExtendPcr;
        if constexpr (std::is_same_v<T, LockPcrRequest>) return kLockPcr;
        if constexpr (std::is_same_v<T, LockPcrsRequest>) return kLockPcrs;
        if constexpr (std::is_same_v<T, DescribeNsmRequest>) return kDescribeNsm;
        if constexpr (std::is_same_v<T, AttestationRequest>) return kAttestation;
        if constexpr (std::is_same_v<T, GetRandomRequest>) return kGetRandom;
      },
      request);
}

absl::StatusOr<std::vector<uint8_t>> EncodeRequest(const Request& request) {
  cbor::Writer w;
  if (const auto* r = std::get_if<DescribePcrRequest>(&request)) {
    VariantHeader(w, kDescribePcr, 1);
    w.Text("index");
    w.Unsigned(r->index);
  } else if (const auto* r = std::get_if<ExtendPcrRequest>(&request)) {
    VariantHeader(w, kExtendPcr, 2);
    w.Text("index");
    w.Unsigned(r->index);
    w.Text("data");
    w.Bytes(r->data);
  } else if (const auto* r = std::get_if<LockPcrRequest>(&request)) {
    VariantHeader(w, kLockPcr, 1);
    w.Text("index");
    w.Unsigned(r->index);
  } else if (const auto* r = std::get_if<LockPcrsRequest>(&request)) {
    VariantHeader(w, kLockPcrs, 1);
    w.Text("range");
    w.Unsigned(r->range);
  } else if (std::holds_alternative<DescribeNsmRequest>(request)) {
    w.Text(kDescribeNsm);
  } else if (const auto* r = std::get_if<AttestationRequest>(&request)) {
    VEIL_RETURN_IF_ERROR(CheckAttestationFields(*r));
    // Spec: brief 3.3 -- field order is always user_data, nonce, public_key.
    VariantHeader(w, kAttestation, 3);
    w.Text("user_data");
    WriteOptionalBytes(w, r->user_data);
    w.Text("nonce");
    WriteOptionalBytes(w, r->nonce);
    w.Text("public_key");
    WriteOptionalBytes(w, r->public_key);
  } else {
    w.Text(kGetRandom);
  }
  if (w.bytes().size() > kMaxRequestSize) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(RequestName(request)), " request is ",
                                                   w.bytes().size(), " bytes; the NSM takes at most ",
                                                   kMaxRequestSize));
  }
  return w.Release();
}

absl::StatusOr<Request> DecodeRequest(absl::Span<const uint8_t> bytes) {
  if (bytes.size() > kMaxRequestSize) {
    return NsmError(ErrorCode::kInputTooLarge,
                    absl::StrCat("request is ", bytes.size(), " bytes; at most ", kMaxRequestSize));
  }
  absl::StatusOr<Value> top = cbor::Decode(bytes, MessageLimits(kMaxRequestSize));
  if (!top.ok()) {
    return NsmError(ErrorCode::kInvalidArgument,
                    absl::StrCat("request is not CBOR: ", std::string(top.status().message())));
  }
  absl::StatusOr<Request> request = ParseRequest(*top);
  if (!request.ok() && NsmErrorCodeOf(request.status()) != ErrorCode::kInputTooLarge) {
    return NsmError(ErrorCode::kInvalidArgument, std::string(request.status().message()));
  }
  return request;
}

absl::StatusOr<std::vector<uint8_t>> EncodeResponse(const Response& response) {
  cbor::Writer w;
  if (const auto* r = std::get_if<DescribePcrResponse>(&response)) {
    // Spec: brief 3.4 -- the `lock` key comes before `data`.
    VariantHeader(w, kDescribePcr, 2);
    w.Text("lock");
    w.Bool(r->lock);
    w.Text("data");
    w.Bytes(r->data);
  } else if (const auto* r = std::get_if<ExtendPcrResponse>(&response)) {
    VariantHeader(w, kExtendPcr, 1);
    w.Text("data");
    w.Bytes(r->data);
  } else if (std::holds_alternative<LockPcrResponse>(response)) {
    w.Text(kLockPcr);
  } else if (std::holds_alternative<LockPcrsResponse>(response)) {
    w.Text(kLockPcrs);
  } else if (const auto* r = std::get_if<DescribeNsmResponse>(&response)) {
    const NsmDescription& d = r->description;
    VariantHeader(w, kDescribeNsm, 7);
    w.Text("version_major");
    w.Unsigned(d.version_major);
    w.Text("version_minor");
    w.Unsigned(d.version_minor);
    w.Text("version_patch");
    w.Unsigned(d.version_patch);
    w.Text("module_id");
    w.Text(d.module_id);
    w.Text("max_pcrs");
    w.Unsigned(d.max_pcrs);
    w.Text("locked_pcrs");
    w.ArrayHeader(d.locked_pcrs.size());
    for (uint16_t index : d.locked_pcrs) w.Unsigned(index);
    w.Text("digest");
    w.Text(d.digest);
  } else if (const auto* r = std::get_if<AttestationResponse>(&response)) {
    VariantHeader(w, kAttestation, 1);
    w.Text("document");
    w.Bytes(r->document);
  } else if (const auto* r = std::get_if<GetRandomResponse>(&response)) {
    VariantHeader(w, kGetRandom, 1);
    w.Text("random");
    w.Bytes(r->random);
  } else {
    const ErrorCode code = std::get<ErrorResponse>(response).code;
    if (code == ErrorCode::kSuccess) {
      return absl::InvalidArgumentError("an Error response cannot carry Success");
    }
    w.MapHeader(1);
    w.Text(kError);
    w.Text(ErrorCodeName(code));
  }
  if (w.bytes().size() > kMaxResponseSize) {
    return absl::InvalidArgumentError(absl::StrCat("response is ", w.bytes().size(),
                                                   " bytes; the NSM protocol allows at most ",
                                                   kMaxResponseSize));
  }
  return w.Release();
}

absl::StatusOr<Response> DecodeResponse(absl::Span<const uint8_t> bytes) {
  if (bytes.size() > kMaxResponseSize) {
    return absl::InvalidArgumentError(absl::StrCat("NSM response is ", bytes.size(),
                                                   " bytes; at most ", kMaxResponseSize));
  }
  VEIL_ASSIGN_OR_RETURN(Value top, cbor::Decode(bytes, MessageLimits(kMaxResponseSize)));
  return ParseResponse(top);
}

}  // namespace veil::attestation::nsm::protocol
