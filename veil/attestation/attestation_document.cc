#include "veil/attestation/attestation_document.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "veil/common/cbor.h"
#include "veil/common/status_macros.h"

namespace veil::attestation {
namespace {

using cbor::Value;
using Type = cbor::Value::Type;

// The payload nests at most three levels (map > pcrs map > value), and nine
// keys, 32 PCRs and a bounded cabundle are far below these limits.
constexpr cbor::Limits kPayloadLimits = {
    .max_depth = 4, .max_items = 512, .max_input = 64 * 1024};

enum Field { kModuleId, kDigest, kTimestamp, kPcrs, kCertificate, kCabundle, kPublicKey,
             kUserData, kNonce, kFieldCount };
constexpr std::string_view kFieldNames[kFieldCount] = {
    "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key",
    "user_data", "nonce"};

// Quote renders untrusted text for an error message: escaped, and cut to 64
// bytes so a hostile document cannot make long messages.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = absl::StrCat(
      "\"", absl::CHexEscape(std::string(text.substr(0, std::min(text.size(), kMax)))), "\"");
  if (text.size() > kMax) out += "...";
  return out;
}

absl::Status Malformed(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("attestation document: ", std::string(field), " ", std::string(what)));
}

absl::StatusOr<absl::Span<const uint8_t>> Bytes(const Value& v, std::string_view field,
                                                size_t min, size_t max) {
  if (v.type != Type::kBytes) return Malformed(field, "is not a byte string");
  if (v.bytes.size() < min || v.bytes.size() > max) {
    return Malformed(field, absl::StrCat("is ", v.bytes.size(), " bytes, allowed ", min, "..",
                                         max));
  }
  return v.bytes;
}

// OptionalBytes treats CBOR null as absent (brief section 0, item 2).
absl::StatusOr<std::optional<absl::Span<const uint8_t>>> OptionalBytes(const Value& v,
                                                                        std::string_view field,
                                                                        size_t min, size_t max) {
  if (v.is_null()) return std::nullopt;
  VEIL_ASSIGN_OR_RETURN(absl::Span<const uint8_t> b, Bytes(v, field, min, max));
  return b;
}

absl::Status ParsePcrs(const Value& v, AttestationDocument& doc) {
  if (v.type != Type::kMap) return Malformed("pcrs", "is not a map");
  if (v.map.empty() || v.map.size() > kMaxPcrs) {
    return Malformed("pcrs", absl::StrCat("has ", v.map.size(), " entries, allowed 1..", kMaxPcrs));
  }
  for (const auto& [key, value] : v.map) {
    if (key.type != Type::kUnsigned || key.uint >= kMaxPcrs) {
      return Malformed("pcrs", "index is not an integer in 0..31");
    }
    const int index = static_cast<int>(key.uint);
    if (value.type != Type::kBytes) {
      return Malformed("pcrs", absl::StrCat("value of PCR", index, " is not a byte string"));
    }
    const size_t n = value.bytes.size();
    if (n != 32 && n != 48 && n != 64) {
      return Malformed("pcrs", absl::StrCat("value of PCR", index, " is ", n,
                                            " bytes, allowed 32, 48 or 64"));
    }
    // The CBOR decoder compares keys by encoding; 1 and 0x1801 are both
    // index 1.
    if (!doc.pcrs.emplace(index, value.bytes).second) {
      return Malformed("pcrs", absl::StrCat("has PCR", index, " twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseCabundle(const Value& v, AttestationDocument& doc) {
  if (v.type != Type::kArray) return Malformed("cabundle", "is not an array");
  if (v.items.empty() || v.items.size() > kMaxCabundle) {
    return Malformed("cabundle", absl::StrCat("has ", v.items.size(), " entries, allowed 1..",
                                              kMaxCabundle));
  }
  doc.cabundle.reserve(v.items.size());
  for (size_t i = 0; i < v.items.size(); ++i) {
    VEIL_ASSIGN_OR_RETURN(
        absl::Span<const uint8_t> cert,
        Bytes(v.items[i], absl::StrCat("cabundle[", i, "]"), 1, kMaxCertificateSize));
    doc.cabundle.push_back(cert);
  }
  return absl::OkStatus();
}

absl::Status ParseField(Field field, const Value& v, AttestationDocument& doc) {
  const std::string_view name = kFieldNames[field];
  switch (field) {
    case kModuleId:
      if (v.type != Type::kText) return Malformed(name, "is not a text string");
      if (v.bytes.empty()) return Malformed(name, "is empty");
      doc.module_id = v.text();
      return absl::OkStatus();
    case kDigest:
      if (v.type != Type::kText) return Malformed(name, "is not a text string");
      if (v.text() != "SHA384") {
        return Malformed(name, absl::StrCat("is ", Quote(v.text()), ", expected \"SHA384\""));
      }
      doc.digest = v.text();
      return absl::OkStatus();
    case kTimestamp:
      if (v.type != Type::kUnsigned) return Malformed(name, "is not an unsigned integer");
      // Zero is refused (AWS: > 0), and so is anything absl::Time cannot
      // hold as milliseconds.
      if (v.uint == 0 || v.uint > static_cast<uint64_t>(INT64_MAX)) {
        return Malformed(name, absl::StrCat(v.uint, " is out of range"));
      }
      doc.timestamp_ms = v.uint;
      return absl::OkStatus();
    case kPcrs:
      return ParsePcrs(v, doc);
    case kCertificate: {
      VEIL_ASSIGN_OR_RETURN(doc.certificate, Bytes(v, name, 1, kMaxCertificateSize));
      return absl::OkStatus();
    }
    case kCabundle:
      return ParseCabundle(v, doc);
    case kPublicKey: {
      VEIL_ASSIGN_OR_RETURN(doc.public_key, OptionalBytes(v, name, 1, kMaxPublicKeySize));
      return absl::OkStatus();
    }
    case kUserData: {
      VEIL_ASSIGN_OR_RETURN(doc.user_data, OptionalBytes(v, name, 0, kMaxUserDataSize));
      return absl::OkStatus();
    }
    case kNonce: {
      VEIL_ASSIGN_OR_RETURN(doc.nonce, OptionalBytes(v, name, 0, kMaxNonceSize));
      return absl::OkStatus();
    }
    case kFieldCount:
      break;
  }
  return absl::InternalError("attestation document: unknown field");
}

}  // namespace

absl::StatusOr<AttestationDocument> ParseAttestationDocument(absl::Span<const uint8_t> payload) {
  // Spec: nitro-attestation-nsm-kms.md#13-verification-procedure step 3.
  auto decoded = cbor::Decode(payload, kPayloadLimits);
  if (!decoded.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("attestation document: ", std::string(decoded.status().message())));
  }
  if (decoded->type != Type::kMap) {
    return absl::InvalidArgumentError("attestation document: payload is not a map");
  }
  AttestationDocument doc;
  bool seen[kFieldCount] = {};
  for (const auto& [key, value] : decoded->map) {
    if (key.type != Type::kText) {
      return absl::InvalidArgumentError("attestation document: a key is not a text string");
    }
    int field = 0;
    while (field < kFieldCount && kFieldNames[field] != key.text()) ++field;
    if (field == kFieldCount) {
      // Unknown keys are refused: none appears in real documents, and a
      // verifier that ignores fields cannot promise what it attests.
      return absl::InvalidArgumentError(
          absl::StrCat("attestation document: unknown key ", Quote(key.text())));
    }
    if (seen[field]) {
      return Malformed(kFieldNames[field], "appears twice");
    }
    seen[field] = true;
    VEIL_RETURN_IF_ERROR(ParseField(static_cast<Field>(field), value, doc));
  }
  for (int field = 0; field < kFieldCount; ++field) {
    if (!seen[field]) return Malformed(kFieldNames[field], "is missing");
  }
  return doc;
}

}  // namespace veil::attestation
