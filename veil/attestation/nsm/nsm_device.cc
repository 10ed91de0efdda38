#include "veil/attestation/nsm/nsm_device.h"

#include <string>

#include "absl/strings/cord.h"

namespace veil::attestation::nsm {
namespace {

// The Status payload that carries the NSM error name next to the canonical
// code, so that the simulator's server can answer with the exact ErrorCode.
constexpr char kErrorCodePayloadUrl[] = "type.veil.dev/nsm.ErrorCode";

struct ErrorCodeEntry {
  ErrorCode code;
  const char* name;
};

constexpr ErrorCodeEntry kErrorCodes[] = {
    {ErrorCode::kSuccess, "Success"},
    {ErrorCode::kInvalidArgument, "InvalidArgument"},
    {ErrorCode::kInvalidIndex, "InvalidIndex"},
    {ErrorCode::kInvalidResponse, "InvalidResponse"},
    {ErrorCode::kReadOnlyIndex, "ReadOnlyIndex"},
    {ErrorCode::kInvalidOperation, "InvalidOperation"},
    {ErrorCode::kBufferTooSmall, "BufferTooSmall"},
    {ErrorCode::kInputTooLarge, "InputTooLarge"},
    {ErrorCode::kInternalError, "InternalError"},
};

absl::StatusCode CanonicalCode(ErrorCode code) {
  switch (code) {
    case ErrorCode::kSuccess:
      return absl::StatusCode::kOk;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kInputTooLarge:
      return absl::StatusCode::kInvalidArgument;
    case ErrorCode::kInvalidIndex:
      return absl::StatusCode::kOutOfRange;
    case ErrorCode::kReadOnlyIndex:
    case ErrorCode::kInvalidOperation:
      return absl::StatusCode::kFailedPrecondition;
    case ErrorCode::kBufferTooSmall:
      return absl::StatusCode::kResourceExhausted;
    case ErrorCode::kInvalidResponse:
    case ErrorCode::kInternalError:
      return absl::StatusCode::kInternal;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

std::string_view NsmKindName(NsmKind kind) {
  switch (kind) {
    case NsmKind::kNitro:
      return "nitro";
    case NsmKind::kSimulated:
      return "simulated";
    case NsmKind::kMock:
      return "mock";
  }
  return "unknown";
}

std::string_view ErrorCodeName(ErrorCode code) {
  for (const ErrorCodeEntry& e : kErrorCodes) {
    if (e.code == code) return e.name;
  }
  return "InternalError";
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (const ErrorCodeEntry& e : kErrorCodes) {
    if (name == e.name) return e.code;
  }
  return std::nullopt;
}

absl::Status NsmError(ErrorCode code, std::string_view message) {
  if (code == ErrorCode::kSuccess) code = ErrorCode::kInternalError;
  absl::Status status(CanonicalCode(code),
                      std::string(ErrorCodeName(code)) + ": " + std::string(message));
  status.SetPayload(kErrorCodePayloadUrl, absl::Cord(std::string(ErrorCodeName(code))));
  return status;
}

ErrorCode NsmErrorCodeOf(const absl::Status& status) {
  if (status.ok()) return ErrorCode::kSuccess;
  if (auto payload = status.GetPayload(kErrorCodePayloadUrl)) {
    if (std::optional<ErrorCode> code = ErrorCodeFromName(std::string(*payload))) {
      if (*code != ErrorCode::kSuccess) return *code;
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ErrorCode::kInvalidArgument;
    case absl::StatusCode::kOutOfRange:
      return ErrorCode::kInvalidIndex;
    case absl::StatusCode::kFailedPrecondition:
      return ErrorCode::kInvalidOperation;
    case absl::StatusCode::kResourceExhausted:
      return ErrorCode::kBufferTooSmall;
    default:
      return ErrorCode::kInternalError;
  }
}

}  // namespace veil::attestation::nsm
