#include "veil/wire/messages.h"

#include <algorithm>
#include <array>
#include <list>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/cbor.h"
#include "veil/common/status_macros.h"

namespace veil::wire {
namespace {

using cbor::Value;
using Type = cbor::Value::Type;

// The decoder's own bounds: a message is one flat map of at most a dozen
// entries. Depth 4 (not 1) lets a nested value reach the field checks, whose
// error names the field, instead of failing in the CBOR decoder.
constexpr size_t kMaxCborDepth = 4;
constexpr size_t kMaxCborItems = 64;
constexpr size_t kMaxRfc3339Length = 64;
constexpr size_t kSha256HexLength = 64;

constexpr std::array<std::pair<ErrorCode, std::string_view>, 9> kErrorNames = {{
    {ErrorCode::kBadRequest, "bad_request"},
    {ErrorCode::kUnauthenticated, "unauthenticated"},
    {ErrorCode::kPermissionDenied, "permission_denied"},
    {ErrorCode::kExpired, "expired"},
    {ErrorCode::kReplayed, "replayed"},
    {ErrorCode::kBusy, "busy"},
    {ErrorCode::kUnavailable, "unavailable"},
    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kTooLarge, "too_large"},
}};

constexpr std::array<std::pair<MessageType, std::string_view>, 5> kTypeNames = {{
    {MessageType::kInfer, "infer"},
    {MessageType::kAttest, "attest"},
    {MessageType::kHealth, "health"},
    {MessageType::kCredentials, "credentials"},
    {MessageType::kError, "error"},
}};

std::optional<MessageType> ParseMessageType(std::string_view name) {
  for (const auto& [type, text] : kTypeNames) {
    if (text == name) return type;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Field rules, shared by the encoders and the decoders.

absl::Status FieldError(std::string_view where, std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("wire: ", std::string(where), ": field \"", std::string(field), "\" ",
                   std::string(what)));
}

bool IsTenantChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}
bool IsAlnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsVisible(char c) { return c > 0x20 && c < 0x7f; }
bool IsPrintable(char c) { return c >= 0x20 && c < 0x7f; }
bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// CheckText checks a text field's length (`min`..`max` characters) and that
// every character passes `allowed`, described by `charset`.
absl::Status CheckText(std::string_view where, std::string_view field, std::string_view s,
                       size_t min, size_t max, bool (*allowed)(char), std::string_view charset) {
  if (s.size() < min || s.size() > max) {
    return FieldError(where, field,
                      absl::StrCat("has ", s.size(), " characters, allowed ", min, "..", max));
  }
  if (!std::all_of(s.begin(), s.end(), allowed)) {
    return FieldError(where, field, absl::StrCat("has a character outside ", std::string(charset)));
  }
  return absl::OkStatus();
}

absl::Status CheckSize(std::string_view where, std::string_view field, size_t size, size_t min,
                       size_t max) {
  if (size < min || size > max) {
    return FieldError(where, field, absl::StrCat("has ", size, " bytes, allowed ", min, "..", max));
  }
  return absl::OkStatus();
}

std::string FormatExpiration(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseExpiration(std::string_view where, std::string_view text) {
  if (text.empty() || text.size() > kMaxRfc3339Length) {
    return FieldError(where, "expiration", "is not an RFC 3339 date-time");
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err) ||
      t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    return FieldError(where, "expiration", "is not an RFC 3339 date-time");
  }
  return t;
}

absl::Status Validate(const InferRequest& m, const Limits& limits) {
  constexpr std::string_view kWhere = "infer request";
  VEIL_RETURN_IF_ERROR(CheckText(kWhere, "tenant", m.tenant, 1, kMaxTenantLength, IsTenantChar,
                                 "[A-Za-z0-9._-]"));
  VEIL_RETURN_IF_ERROR(CheckText(kWhere, "request_id", m.request_id, 1, kMaxRequestIdLength,
                                 IsVisible, "visible ASCII"));
  return CheckSize(kWhere, "body", m.body.size(), 1, limits.max_frame_bytes);
}

absl::Status Validate(const AttestRequest& m, const Limits& limits) {
  constexpr std::string_view kWhere = "attest request";
  if (m.nonce.has_value()) {
    VEIL_RETURN_IF_ERROR(CheckSize(kWhere, "nonce", m.nonce->size(), 0, limits.max_nonce_bytes));
  }
  if (m.user_data.has_value()) {
    VEIL_RETURN_IF_ERROR(
        CheckSize(kWhere, "user_data", m.user_data->size(), 0, limits.max_user_data_bytes));
  }
  return absl::OkStatus();
}

absl::Status Validate(const HealthRequest&, const Limits&) { return absl::OkStatus(); }

absl::Status Validate(const CredentialsRequest& m, const Limits&) {
  constexpr std::string_view kWhere = "credentials request";
  VEIL_RETURN_IF_ERROR(CheckText(kWhere, "access_key_id", m.access_key_id, 1,
                                 kMaxAccessKeyIdLength, IsAlnum, "[A-Za-z0-9]"));
  // The secret is checked without echoing any of it (CheckText never does).
  VEIL_RETURN_IF_ERROR(CheckText(kWhere, "secret_access_key",
                                 AsStringView(m.secret_access_key.Expose()), 1,
                                 kMaxSecretAccessKeyLength, IsVisible, "visible ASCII"));
  VEIL_RETURN_IF_ERROR(CheckText(kWhere, "session_token", m.session_token, 0,
                                 kMaxSessionTokenLength, IsVisible, "visible ASCII"));
  // The expiration must survive its own text form.
  auto back = ParseExpiration(kWhere, FormatExpiration(m.expiration));
  if (!back.ok() || *back != m.expiration) {
    return FieldError(kWhere, "expiration", "has no RFC 3339 form");
  }
  return absl::OkStatus();
}

absl::Status Validate(const InferResponse& m, const Limits& limits) {
  return CheckSize("infer response", "body", m.body.size(), 1, limits.max_frame_bytes);
}

absl::Status Validate(const AttestResponse& m, const Limits& limits) {
  return CheckSize("attest response", "document", m.document.size(), 1,
                   limits.max_document_bytes);
}

absl::Status Validate(const HealthResponse& m, const Limits&) {
  constexpr std::string_view kWhere = "health response";
  VEIL_RETURN_IF_ERROR(
      CheckText(kWhere, "status", m.status, 1, kMaxHealthTextLength, IsPrintable, "printable ASCII"));
  VEIL_RETURN_IF_ERROR(
      CheckText(kWhere, "tier", m.tier, 1, kMaxHealthTextLength, IsPrintable, "printable ASCII"));
  VEIL_RETURN_IF_ERROR(
      CheckText(kWhere, "model", m.model, 0, kMaxHealthTextLength, IsPrintable, "printable ASCII"));
  if (!m.model_sha256.empty()) {
    VEIL_RETURN_IF_ERROR(CheckText(kWhere, "model_sha256", m.model_sha256, kSha256HexLength,
                                   kSha256HexLength, IsLowerHex, "lowercase hex"));
  }
  return absl::OkStatus();
}

absl::Status Validate(const CredentialsResponse&, const Limits&) { return absl::OkStatus(); }

absl::Status Validate(const ErrorResponse& m, const Limits&) {
  for (const auto& [code, unused] : kErrorNames) {
    if (code == m.code) return absl::OkStatus();
  }
  return FieldError("error response", "code", "is not a known error code");
}

// ---------------------------------------------------------------------------
// Encoding.

// HeadSize is the size of a CBOR head with argument `arg` (cbor::Writer
// writes the shortest).
size_t HeadSize(uint64_t arg) {
  if (arg < 24) return 1;
  if (arg <= 0xff) return 2;
  if (arg <= 0xffff) return 3;
  if (arg <= 0xffffffff) return 5;
  return 9;
}

// MapEncoder collects the entries of one message as views, then writes them
// in deterministic order into a buffer reserved to the exact size: the
// output never reallocates (no stray copy of a secret in freed memory), and
// an oversized message is refused before any of it is written.
class MapEncoder {
 public:
  void Uint(std::string_view key, uint64_t v) { entries_.push_back({key, Kind::kUint, v, {}}); }
  void Text(std::string_view key, std::string_view v) {
    entries_.push_back({key, Kind::kText, 0, AsBytes(v)});
  }
  void Bytes(std::string_view key, absl::Span<const uint8_t> v) {
    entries_.push_back({key, Kind::kBytes, 0, v});
  }
  // OwnedText is Text for a value made while encoding (kept until Finish).
  void OwnedText(std::string_view key, std::string v) {
    owned_.push_back(std::move(v));
    Text(key, owned_.back());
  }

  absl::StatusOr<std::vector<uint8_t>> Finish(const Limits& limits) {
    // RFC 8949 section 4.2.1: keys sorted by their encoded bytes. Every key
    // here is a text string shorter than 24 bytes, whose encoding is one
    // head byte (0x60 + length) and the text: shorter keys first, then
    // bytewise.
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      if (a.key.size() != b.key.size()) return a.key.size() < b.key.size();
      return a.key < b.key;
    });
    size_t size = HeadSize(entries_.size());
    for (const Entry& e : entries_) {
      size += HeadSize(e.key.size()) + e.key.size();
      size += e.kind == Kind::kUint ? HeadSize(e.uint) : HeadSize(e.bytes.size()) + e.bytes.size();
    }
    if (size > limits.max_frame_bytes) {
      return absl::OutOfRangeError(absl::StrCat("wire: message of ", size,
                                                " bytes exceeds the limit of ",
                                                limits.max_frame_bytes));
    }
    cbor::Writer w;
    w.Reserve(size);
    w.MapHeader(entries_.size());
    for (const Entry& e : entries_) {
      w.Text(e.key);
      switch (e.kind) {
        case Kind::kUint:
          w.Unsigned(e.uint);
          break;
        case Kind::kText:
          w.Text(AsStringView(e.bytes));
          break;
        case Kind::kBytes:
          w.Bytes(e.bytes);
          break;
      }
    }
    VEIL_CHECK(w.bytes().size() == size);
    return w.Release();
  }

 private:
  enum class Kind { kUint, kText, kBytes };
  struct Entry {
    std::string_view key;
    Kind kind;
    uint64_t uint;
    absl::Span<const uint8_t> bytes;
  };
  std::vector<Entry> entries_;
  std::list<std::string> owned_;  // stable addresses
};

void Header(MapEncoder& e, uint64_t id, MessageType type) {
  e.Uint("v", kProtocolVersion);
  e.Uint("id", id);
  e.Text("type", MessageTypeName(type));
}

void Put(MapEncoder& e, const InferRequest& m) {
  e.Text("tenant", m.tenant);
  e.Text("request_id", m.request_id);
  e.Bytes("body", m.body);
}
void Put(MapEncoder& e, const AttestRequest& m) {
  if (m.nonce.has_value()) e.Bytes("nonce", *m.nonce);
  if (m.user_data.has_value()) e.Bytes("user_data", *m.user_data);
}
void Put(MapEncoder&, const HealthRequest&) {}
void Put(MapEncoder& e, const CredentialsRequest& m) {
  e.Text("access_key_id", m.access_key_id);
  e.Text("secret_access_key", AsStringView(m.secret_access_key.Expose()));
  e.Text("session_token", m.session_token);
  e.OwnedText("expiration", FormatExpiration(m.expiration));
}
void Put(MapEncoder& e, const InferResponse& m) { e.Bytes("body", m.body); }
void Put(MapEncoder& e, const AttestResponse& m) { e.Bytes("document", m.document); }
void Put(MapEncoder& e, const HealthResponse& m) {
  e.Text("status", m.status);
  e.Text("tier", m.tier);
  e.Text("model", m.model);
  e.Text("model_sha256", m.model_sha256);
  e.Uint("queue_depth", m.queue_depth);
  e.Uint("workers", m.workers);
}
void Put(MapEncoder&, const CredentialsResponse&) {}
void Put(MapEncoder& e, const ErrorResponse& m) { e.Text("code", ErrorCodeName(m.code)); }

// ---------------------------------------------------------------------------
// Decoding.

// Fields is a decoded message map whose entries are taken one by one; Finish
// refuses any entry left over.
class Fields {
 public:
  // From checks that `v` is a map with text keys only (duplicates were
  // already refused by cbor::Decode).
  static absl::StatusOr<Fields> From(const Value& v, std::string_view where) {
    if (v.type != Type::kMap) {
      return absl::InvalidArgumentError(absl::StrCat("wire: ", std::string(where), " is not a map"));
    }
    for (const auto& [k, unused] : v.map) {
      if (k.type != Type::kText) {
        return absl::InvalidArgumentError(
            absl::StrCat("wire: ", std::string(where), " has a key that is not text"));
      }
    }
    return Fields(v);
  }

  void set_where(std::string where) { where_ = std::move(where); }
  const std::string& where() const { return where_; }

  // Find returns the entry for `key` and marks it taken, or nullptr.
  const Value* Find(std::string_view key) {
    for (size_t i = 0; i < map_->map.size(); ++i) {
      if (map_->map[i].first.text() == key) {
        taken_[i] = true;
        return &map_->map[i].second;
      }
    }
    return nullptr;
  }

  absl::StatusOr<const Value*> Required(std::string_view key, Type type, const char* type_name) {
    const Value* v = Find(key);
    if (v == nullptr) return FieldError(where_, key, "is missing");
    if (v->type != type) return FieldError(where_, key, absl::StrCat("is not ", type_name));
    return v;
  }
  absl::StatusOr<const Value*> Optional(std::string_view key, Type type, const char* type_name) {
    const Value* v = Find(key);
    if (v != nullptr && v->type != type) {
      return FieldError(where_, key, absl::StrCat("is not ", type_name));
    }
    return v;
  }

  absl::StatusOr<uint64_t> Uint(std::string_view key) {
    VEIL_ASSIGN_OR_RETURN(const Value* v, Required(key, Type::kUnsigned, "an unsigned integer"));
    return v->uint;
  }
  absl::StatusOr<std::string> Text(std::string_view key) {
    VEIL_ASSIGN_OR_RETURN(const Value* v, Required(key, Type::kText, "a text string"));
    return std::string(v->text());
  }
  absl::StatusOr<absl::Span<const uint8_t>> Bytes(std::string_view key) {
    VEIL_ASSIGN_OR_RETURN(const Value* v, Required(key, Type::kBytes, "a byte string"));
    return v->bytes;
  }
  absl::StatusOr<std::vector<uint8_t>> ByteVector(std::string_view key) {
    VEIL_ASSIGN_OR_RETURN(absl::Span<const uint8_t> b, Bytes(key));
    return std::vector<uint8_t>(b.begin(), b.end());
  }
  absl::StatusOr<std::optional<std::vector<uint8_t>>> OptionalBytes(std::string_view key) {
    VEIL_ASSIGN_OR_RETURN(const Value* v, Optional(key, Type::kBytes, "a byte string"));
    if (v == nullptr) return std::optional<std::vector<uint8_t>>();
    return std::optional<std::vector<uint8_t>>(std::in_place, v->bytes.begin(), v->bytes.end());
  }

  // Finish refuses the first entry nobody took. The key is echoed only when
  // it looks like a field name, never as arbitrary bytes.
  absl::Status Finish() const {
    for (size_t i = 0; i < map_->map.size(); ++i) {
      if (taken_[i]) continue;
      const std::string_view key = map_->map[i].first.text();
      const bool nameable = !key.empty() && key.size() <= 32 &&
                            std::all_of(key.begin(), key.end(), [](char c) {
                              return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                            });
      if (nameable) return FieldError(where_, key, "is not part of the protocol");
      return absl::InvalidArgumentError(
          absl::StrCat("wire: ", where_, ": a field that is not part of the protocol"));
    }
    return absl::OkStatus();
  }

 private:
  explicit Fields(const Value& map) : map_(&map), taken_(map.map.size(), false) {}
  const Value* map_;
  std::vector<bool> taken_;
  std::string where_;
};

// Envelope is the common part of every message.
struct Envelope {
  uint64_t id;
  MessageType type;
};

absl::StatusOr<Envelope> TakeEnvelope(Fields& f, std::string_view kind) {
  f.set_where(std::string(kind));
  VEIL_ASSIGN_OR_RETURN(const uint64_t version, f.Uint("v"));
  if (version != kProtocolVersion) {
    return FieldError(f.where(), "v", absl::StrCat("is ", version, ", only ", kProtocolVersion,
                                                   " is supported"));
  }
  VEIL_ASSIGN_OR_RETURN(const uint64_t id, f.Uint("id"));
  VEIL_ASSIGN_OR_RETURN(const std::string type_name, f.Text("type"));
  const std::optional<MessageType> type = ParseMessageType(type_name);
  if (!type.has_value() || (kind == "request" && *type == MessageType::kError)) {
    return FieldError(f.where(), "type", absl::StrCat("is not a known ", std::string(kind), " type"));
  }
  f.set_where(absl::StrCat(std::string(MessageTypeName(*type)), " ", std::string(kind)));
  return Envelope{id, *type};
}

absl::StatusOr<Value> DecodeMap(absl::Span<const uint8_t> encoded, const Limits& limits,
                                std::string_view kind) {
  if (encoded.size() > limits.max_frame_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("wire: ", std::string(kind), " of ",
                                                   encoded.size(), " bytes exceeds the limit of ",
                                                   limits.max_frame_bytes));
  }
  cbor::Limits cl;
  cl.max_depth = kMaxCborDepth;
  cl.max_items = kMaxCborItems;
  cl.max_input = limits.max_frame_bytes;
  // cbor::Decode refuses trailing bytes and duplicate keys.
  auto v = cbor::Decode(encoded, cl);
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wire: ", std::string(kind), ": ", std::string(v.status().message())));
  }
  return *std::move(v);
}

template <typename T>
absl::StatusOr<std::vector<uint8_t>> EncodeMessage(uint64_t id, MessageType type, const T& m,
                                                   const Limits& limits) {
  VEIL_RETURN_IF_ERROR(Validate(m, limits));
  MapEncoder e;
  Header(e, id, type);
  Put(e, m);
  return e.Finish(limits);
}

}  // namespace

std::string_view MessageTypeName(MessageType type) {
  for (const auto& [t, text] : kTypeNames) {
    if (t == type) return text;
  }
  return "unknown";
}

MessageType Request::type() const {
  static constexpr MessageType kTypes[] = {MessageType::kInfer, MessageType::kAttest,
                                           MessageType::kHealth, MessageType::kCredentials};
  return kTypes[message.index()];
}

MessageType Response::type() const {
  static constexpr MessageType kTypes[] = {MessageType::kInfer, MessageType::kAttest,
                                           MessageType::kHealth, MessageType::kCredentials,
                                           MessageType::kError};
  return kTypes[message.index()];
}

std::string_view ErrorCodeName(ErrorCode code) {
  for (const auto& [c, text] : kErrorNames) {
    if (c == code) return text;
  }
  return "internal";
}

std::optional<ErrorCode> ParseErrorCode(std::string_view name) {
  for (const auto& [code, text] : kErrorNames) {
    if (text == name) return code;
  }
  return std::nullopt;
}

absl::Status StatusFromErrorCode(ErrorCode code) {
  const std::string message = absl::StrCat("enclave: ", std::string(ErrorCodeName(code)));
  switch (code) {
    case ErrorCode::kBadRequest:
      return absl::InvalidArgumentError(message);
    case ErrorCode::kUnauthenticated:
      return absl::UnauthenticatedError(message);
    case ErrorCode::kPermissionDenied:
      return absl::PermissionDeniedError(message);
    case ErrorCode::kExpired:
      return absl::FailedPreconditionError(message);
    case ErrorCode::kReplayed:
      return absl::AlreadyExistsError(message);
    case ErrorCode::kBusy:
      return absl::ResourceExhaustedError(message);
    case ErrorCode::kUnavailable:
      return absl::UnavailableError(message);
    case ErrorCode::kTooLarge:
      return absl::OutOfRangeError(message);
    case ErrorCode::kInternal:
      break;
  }
  return absl::InternalError(message);
}

ErrorCode ErrorCodeFromStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorCode::kBadRequest;
    case absl::StatusCode::kUnauthenticated:
      return ErrorCode::kUnauthenticated;
    case absl::StatusCode::kPermissionDenied:
      return ErrorCode::kPermissionDenied;
    case absl::StatusCode::kFailedPrecondition:
      return ErrorCode::kExpired;
    case absl::StatusCode::kAlreadyExists:
      return ErrorCode::kReplayed;
    case absl::StatusCode::kResourceExhausted:
      return ErrorCode::kBusy;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return ErrorCode::kUnavailable;
    case absl::StatusCode::kOutOfRange:
      return ErrorCode::kTooLarge;
    default:
      return ErrorCode::kInternal;
  }
}

int HttpStatusForErrorCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return 400;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kExpired:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kReplayed:
      return 409;
    case ErrorCode::kTooLarge:
      return 413;
    case ErrorCode::kBusy:
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      break;
  }
  return 500;
}

bool ShouldRetryAfter(ErrorCode code) {
  return code == ErrorCode::kBusy || code == ErrorCode::kUnavailable;
}

absl::StatusOr<std::vector<uint8_t>> EncodeRequest(const Request& request, const Limits& limits) {
  const MessageType type = request.type();
  return std::visit([&](const auto& m) { return EncodeMessage(request.id, type, m, limits); },
                    request.message);
}

absl::StatusOr<Request> DecodeRequest(absl::Span<const uint8_t> encoded, const Limits& limits) {
  VEIL_ASSIGN_OR_RETURN(const Value root, DecodeMap(encoded, limits, "request"));
  VEIL_ASSIGN_OR_RETURN(Fields f, Fields::From(root, "request"));
  VEIL_ASSIGN_OR_RETURN(const Envelope env, TakeEnvelope(f, "request"));
  Request out;
  out.id = env.id;
  switch (env.type) {
    case MessageType::kInfer: {
      InferRequest m;
      VEIL_ASSIGN_OR_RETURN(m.tenant, f.Text("tenant"));
      VEIL_ASSIGN_OR_RETURN(m.request_id, f.Text("request_id"));
      VEIL_ASSIGN_OR_RETURN(m.body, f.ByteVector("body"));
      VEIL_RETURN_IF_ERROR(Validate(m, limits));
      out.message = std::move(m);
      break;
    }
    case MessageType::kAttest: {
      AttestRequest m;
      VEIL_ASSIGN_OR_RETURN(m.nonce, f.OptionalBytes("nonce"));
      VEIL_ASSIGN_OR_RETURN(m.user_data, f.OptionalBytes("user_data"));
      VEIL_RETURN_IF_ERROR(Validate(m, limits));
      out.message = std::move(m);
      break;
    }
    case MessageType::kHealth:
      out.message = HealthRequest{};
      break;
    case MessageType::kCredentials: {
      CredentialsRequest m;
      VEIL_ASSIGN_OR_RETURN(m.access_key_id, f.Text("access_key_id"));
      VEIL_ASSIGN_OR_RETURN(const Value* secret,
                            f.Required("secret_access_key", Type::kText, "a text string"));
      // Straight from the frame into SecretBytes: no std::string copy.
      m.secret_access_key = SecretBytes::Copy(secret->bytes);
      VEIL_ASSIGN_OR_RETURN(m.session_token, f.Text("session_token"));
      VEIL_ASSIGN_OR_RETURN(const std::string expiration, f.Text("expiration"));
      VEIL_ASSIGN_OR_RETURN(m.expiration, ParseExpiration(f.where(), expiration));
      VEIL_RETURN_IF_ERROR(Validate(m, limits));
      out.message = std::move(m);
      break;
    }
    case MessageType::kError:
      break;  // refused by TakeEnvelope
  }
  VEIL_RETURN_IF_ERROR(f.Finish());
  return out;
}

absl::StatusOr<std::vector<uint8_t>> EncodeResponse(const Response& response,
                                                    const Limits& limits) {
  const MessageType type = response.type();
  return std::visit(
      [&](const auto& m) { return EncodeMessage(response.id, type, m, limits); },
      response.message);
}

absl::StatusOr<Response> DecodeResponse(absl::Span<const uint8_t> encoded, const Limits& limits) {
  VEIL_ASSIGN_OR_RETURN(const Value root, DecodeMap(encoded, limits, "response"));
  VEIL_ASSIGN_OR_RETURN(Fields f, Fields::From(root, "response"));
  VEIL_ASSIGN_OR_RETURN(const Envelope env, TakeEnvelope(f, "response"));
  Response out;
  out.id = env.id;
  switch (env.type) {
    case MessageType::kInfer: {
      InferResponse m;
      VEIL_ASSIGN_OR_RETURN(m.body, f.ByteVector("body"));
      VEIL_RETURN_IF_ERROR(Validate(m, limits));
      out.message = std::move(m);
      break;
    }
    case MessageType::kAttest: {
      AttestResponse m;
      VEIL_ASSIGN_OR_RETURN(m.document, f.ByteVector("document"));
      VEIL_RETURN_IF_ERROR(Validate(m, limits));
      out.message = std::move(m);
      break;
    }
    case MessageType::kHealth: {
      HealthResponse m;
      VEIL_ASSIGN_OR_RETURN(m.status, f.Text("status"));
      VEIL_ASSIGN_OR_RETURN(m.tier, f.Text("tier"));
      VEIL_ASSIGN_OR_RETURN(m.model, f.Text("model"));
      VEIL_ASSIGN_OR_RETURN(m.model_sha256, f.Text("model_sha256"));
      VEIL_ASSIGN_OR_RETURN(m.queue_depth, f.Uint("queue_depth"));
      VEIL_ASSIGN_OR_RETURN(m.workers, f.Uint("workers"));
      VEIL_RETURN_IF_ERROR(Validate(m, limits));
      out.message = std::move(m);
      break;
    }
    case MessageType::kCredentials:
      out.message = CredentialsResponse{};
      break;
    case MessageType::kError: {
      VEIL_ASSIGN_OR_RETURN(const std::string name, f.Text("code"));
      const std::optional<ErrorCode> code = ParseErrorCode(name);
      if (!code.has_value()) return FieldError(f.where(), "code", "is not a known error code");
      out.message = ErrorResponse{*code};
      break;
    }
  }
  VEIL_RETURN_IF_ERROR(f.Finish());
  return out;
}

}  // namespace veil::wire
