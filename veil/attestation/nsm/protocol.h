// The NSM request/response protocol and its CBOR encoding, byte-exact to what
// the Rust nsm-api (serde_cbor 0.11, default settings) puts on the wire.
// Spec: ../shared/specs/nitro-attestation-nsm-kms.md sections 3.2-3.5.
//
// Encoding rules (3.2): enums are externally tagged; a unit variant is a text
// string with its name ("DescribeNSM"); a struct variant is a one-entry map
// {"Name": {field: value, ...}} whose inner map has text keys in declaration
// order; Option::None is null (f6); byte fields are bstr; u16 is a minimal
// uint; bool is f4/f5; all lengths definite.
#ifndef VEIL_ATTESTATION_NSM_PROTOCOL_H_
#define VEIL_ATTESTATION_NSM_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/attestation/nsm/nsm_device.h"

namespace veil::attestation::nsm::protocol {

// Requests, in nsm-api's Request enum.
struct DescribePcrRequest {
  uint16_t index = 0;
};
struct ExtendPcrRequest {
  uint16_t index = 0;
  std::vector<uint8_t> data;
};
struct LockPcrRequest {
  uint16_t index = 0;
};
struct LockPcrsRequest {
  uint16_t range = 0;
};
struct DescribeNsmRequest {};
struct AttestationRequest {
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
  std::optional<std::vector<uint8_t>> public_key;
};
struct GetRandomRequest {};

using Request = std::variant<DescribePcrRequest, ExtendPcrRequest, LockPcrRequest,
                             LockPcrsRequest, DescribeNsmRequest, AttestationRequest,
                             GetRandomRequest>;

// Responses, in nsm-api's Response enum.
struct DescribePcrResponse {
  bool lock = false;
  PcrValue data{};
};
struct ExtendPcrResponse {
  PcrValue data{};
};
struct LockPcrResponse {};
struct LockPcrsResponse {};
struct DescribeNsmResponse {
  NsmDescription description;
};
struct AttestationResponse {
  std::vector<uint8_t> document;
};
struct GetRandomResponse {
  std::vector<uint8_t> random;
};
struct ErrorResponse {
  ErrorCode code = ErrorCode::kInternalError;
};

using Response = std::variant<DescribePcrResponse, ExtendPcrResponse, LockPcrResponse,
                              LockPcrsResponse, DescribeNsmResponse, AttestationResponse,
                              GetRandomResponse, ErrorResponse>;

// RequestName returns the variant name on the wire ("Attestation", ...).
std::string_view RequestName(const Request& request);

// EncodeRequest returns the request's CBOR. Fails with InvalidArgument when
// an attestation field is over its limit (user_data and nonce 512 bytes,
// public_key 1024) or public_key is empty, and when the encoding would exceed
// kMaxRequestSize (4096) bytes.
absl::StatusOr<std::vector<uint8_t>> EncodeRequest(const Request& request);

// DecodeRequest parses a request as the NSM would receive it. It is strict:
// exactly the shapes EncodeRequest writes (unknown variants, missing,
// duplicate or unknown fields, wrong types, indices over u16 and trailing
// bytes are refused). Failures are NsmError statuses: InputTooLarge for input
// over 4096 bytes or an attestation field over its limit, InvalidArgument
// for anything malformed.
absl::StatusOr<Request> DecodeRequest(absl::Span<const uint8_t> bytes);

// EncodeResponse returns the response's CBOR; InvalidArgument if it would
// exceed kMaxResponseSize (12288) bytes or an ErrorResponse carries kSuccess.
absl::StatusOr<std::vector<uint8_t>> EncodeResponse(const Response& response);

// DecodeResponse parses what an NSM answered. Unit variants must be text, the
// others one-entry maps; PCR values must be 48 bytes; integers must fit u16;
// an attestation document must be 1..12288 bytes; trailing bytes, unknown
// variants and unknown error names are refused (InvalidArgument). Like serde,
// unknown fields inside a response struct are ignored, so that a newer NSM
// adding a field does not break this client; missing and duplicate fields are
// refused. Input over 12288 bytes is refused unread.
absl::StatusOr<Response> DecodeResponse(absl::Span<const uint8_t> bytes);

}  // namespace veil::attestation::nsm::protocol

#endif  // VEIL_ATTESTATION_NSM_PROTOCOL_H_
