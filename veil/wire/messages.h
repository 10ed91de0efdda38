// Messages on the enclave<->host channel (docs/wire-protocol.md). Each frame
// (frame.h) holds one CBOR map with text keys: `v` (the protocol version, 1),
// `id` (a correlation id the host chooses and the enclave echoes), `type`,
// and the fields of that type. Nothing here decrypts or encrypts: `body`
// fields are ESDK ciphertexts that travel opaquely.
//
// The protocol is strict, because both ends ship in one release: decoding
// refuses unknown types, unknown or duplicate keys, wrong types, missing
// required fields, out-of-range sizes and trailing bytes, with an
// InvalidArgument whose message names the field. Encoding checks the same
// rules, so it never produces a message the decoder refuses.
#ifndef VEIL_WIRE_MESSAGES_H_
#define VEIL_WIRE_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::wire {

inline constexpr uint64_t kProtocolVersion = 1;

// Fixed formats of text fields (not tunable: both ends must agree).
inline constexpr size_t kMaxTenantLength = 64;       // [A-Za-z0-9._-], at least 1
inline constexpr size_t kMaxRequestIdLength = 128;   // visible ASCII, at least 1
inline constexpr size_t kMaxAccessKeyIdLength = 128; // [A-Za-z0-9], at least 1
inline constexpr size_t kMaxSecretAccessKeyLength = 128;  // visible ASCII, at least 1
inline constexpr size_t kMaxSessionTokenLength = 4096;    // visible ASCII, may be empty
inline constexpr size_t kMaxHealthTextLength = 128;  // status, tier, model: printable ASCII

// Limits bound the sizes a message may have. Both ends use the defaults
// unless a deployment tightens them.
struct Limits {
  // A whole encoded message (one frame body): a 16 MiB image in an ESDK
  // message plus the message format's and this protocol's overhead.
  size_t max_frame_bytes = 24 * 1024 * 1024;
  size_t max_nonce_bytes = 64;       // attest: nonce (0..64 bytes)
  size_t max_user_data_bytes = 512;  // attest: user_data
  // attest response: a Nitro attestation document is about 4.5 KiB.
  size_t max_document_bytes = 32 * 1024;
};

// ---------------------------------------------------------------------------
// Requests (host -> enclave).

// InferRequest asks the enclave to run inference on one encrypted image.
struct InferRequest {
  std::string tenant;       // the tenant the host authenticated
  std::string request_id;   // the client's request id (bound in the ESDK context)
  std::vector<uint8_t> body;  // an ESDK ciphertext, not empty
  bool operator==(const InferRequest&) const = default;
};

// AttestRequest asks for an attestation document; both fields are optional
// and an empty nonce is distinct from none.
struct AttestRequest {
  std::optional<std::vector<uint8_t>> nonce;
  std::optional<std::vector<uint8_t>> user_data;
  bool operator==(const AttestRequest&) const = default;
};

// HealthRequest asks for the enclave's health; it has no fields.
struct HealthRequest {
  bool operator==(const HealthRequest&) const = default;
};

// CredentialsRequest pushes short-lived AWS credentials from the parent, as
// Nitro applications receive them. The secret is held in SecretBytes; it has
// no operator== (compare with care, if at all). The encoded request holds
// the secret in the clear: wipe its buffer after sending or decoding
// (ChannelClient does).
struct CredentialsRequest {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;
  absl::Time expiration;  // on the wire: RFC 3339 text
};

enum class MessageType { kInfer, kAttest, kHealth, kCredentials, kError };

// MessageTypeName returns the `type` text of `type` ("infer", ..., "error").
std::string_view MessageTypeName(MessageType type);

struct Request {
  uint64_t id = 0;
  std::variant<InferRequest, AttestRequest, HealthRequest, CredentialsRequest> message;

  MessageType type() const;
};

// ---------------------------------------------------------------------------
// Responses (enclave -> host). A response carries the id of its request and
// either the same type or `error`.

struct InferResponse {
  std::vector<uint8_t> body;  // ESDK ciphertext of the result, not empty
  bool operator==(const InferResponse&) const = default;
};

struct AttestResponse {
  std::vector<uint8_t> document;  // COSE_Sign1 attestation document, not empty
  bool operator==(const AttestResponse&) const = default;
};

// HealthResponse is metadata only. `model_sha256` is empty (no model loaded)
// or 64 lowercase hex digits.
struct HealthResponse {
  std::string status;
  std::string tier;
  std::string model;
  std::string model_sha256;
  uint64_t queue_depth = 0;
  uint64_t workers = 0;
  bool operator==(const HealthResponse&) const = default;
};

// CredentialsResponse acknowledges a CredentialsRequest; it has no fields.
struct CredentialsResponse {
  bool operator==(const CredentialsResponse&) const = default;
};

// ErrorCode is the closed set of failures the enclave reports. Errors carry
// a code and nothing else: no message, no field, no byte of any input, so no
// plaintext can leak to the host through an error.
enum class ErrorCode {
  kBadRequest,        // malformed request or ciphertext
  kUnauthenticated,   // a ciphertext, signature or attestation did not verify
  kPermissionDenied,  // authentic, but the policy refuses (e.g. wrong tenant)
  kExpired,           // the request or material it carries is past its validity
  kReplayed,          // this request id was already served
  kBusy,              // the enclave's queue is full; retry later
  kUnavailable,       // a dependency (KMS, model, credentials) is not ready
  kInternal,          // anything else
  kTooLarge,          // the request or its image exceeds a limit
};

struct ErrorResponse {
  ErrorCode code = ErrorCode::kInternal;
  bool operator==(const ErrorResponse&) const = default;
};

struct Response {
  uint64_t id = 0;
  std::variant<InferResponse, AttestResponse, HealthResponse, CredentialsResponse, ErrorResponse>
      message;

  MessageType type() const;
  bool operator==(const Response&) const = default;
};

// ErrorCodeName returns the wire text of `code` ("bad_request", ...).
std::string_view ErrorCodeName(ErrorCode code);
// ParseErrorCode returns the code whose wire text is `name`, or nullopt.
std::optional<ErrorCode> ParseErrorCode(std::string_view name);

// StatusFromErrorCode returns the Status a host-side caller sees for `code`:
// a fixed message ("enclave: busy") and the code's abseil meaning —
// bad_request InvalidArgument, unauthenticated Unauthenticated,
// permission_denied PermissionDenied, expired FailedPrecondition, replayed
// AlreadyExists, busy ResourceExhausted, unavailable Unavailable, internal
// Internal, too_large OutOfRange.
absl::Status StatusFromErrorCode(ErrorCode code);

// ErrorCodeFromStatus is the enclave-side default: the inverse of
// StatusFromErrorCode on those nine codes, DeadlineExceeded, Aborted and
// Cancelled become unavailable, and every other code (and OK) internal. The
// status message is ignored. Callers that know better pick the code directly.
ErrorCode ErrorCodeFromStatus(const absl::Status& status);

// HttpStatusForErrorCode returns the HTTP status a host answers with:
// bad_request 400, unauthenticated 401, expired 401 (the client must start
// over with fresh material), permission_denied 403, replayed 409, too_large
// 413, internal 500, busy 503, unavailable 503.
int HttpStatusForErrorCode(ErrorCode code);
// ShouldRetryAfter says whether the host adds a Retry-After header for
// `code` (busy and unavailable: the same request may succeed later).
bool ShouldRetryAfter(ErrorCode code);

// ---------------------------------------------------------------------------
// Codec.

// EncodeRequest returns the CBOR of `request` in RFC 8949 section 4.2.1 core
// deterministic encoding (shortest heads, map keys in bytewise order). Fails
// with InvalidArgument when a field breaks its rules (the message names the
// field) and OutOfRange when the encoding exceeds limits.max_frame_bytes.
absl::StatusOr<std::vector<uint8_t>> EncodeRequest(const Request& request,
                                                   const Limits& limits = Limits());
// DecodeRequest parses one encoded request (see the file comment for what it
// refuses, always with InvalidArgument).
absl::StatusOr<Request> DecodeRequest(absl::Span<const uint8_t> encoded,
                                      const Limits& limits = Limits());

// EncodeResponse and DecodeResponse are the same for responses.
absl::StatusOr<std::vector<uint8_t>> EncodeResponse(const Response& response,
                                                    const Limits& limits = Limits());
absl::StatusOr<Response> DecodeResponse(absl::Span<const uint8_t> encoded,
                                        const Limits& limits = Limits());

}  // namespace veil::wire

#endif  // VEIL_WIRE_MESSAGES_H_
