#include "veil/kms/types.h"

#include <string>

#include "absl/strings/cord.h"

namespace veil::kms {
namespace {

constexpr char kErrorTypePayloadUrl[] = "type.veil.dev/veil.kms.ErrorType";

struct ErrorInfo {
  ErrorType type;
  const char* name;
  int http_status;
  absl::StatusCode code;
  bool retryable;
};

constexpr ErrorInfo kErrors[] = {
    {ErrorType::kNotFound, "NotFoundException", 400, absl::StatusCode::kNotFound, false},
    {ErrorType::kDisabled, "DisabledException", 400, absl::StatusCode::kFailedPrecondition, false},
    {ErrorType::kInvalidState, "KMSInvalidStateException", 400,
     absl::StatusCode::kFailedPrecondition, false},
    {ErrorType::kInvalidCiphertext, "InvalidCiphertextException", 400,
     absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kAccessDenied, "AccessDeniedException", 400, absl::StatusCode::kPermissionDenied,
     false},
    {ErrorType::kValidation, "ValidationException", 400, absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kSerialization, "SerializationException", 400, absl::StatusCode::kInvalidArgument,
     false},
    {ErrorType::kIncorrectKey, "IncorrectKeyException", 400, absl::StatusCode::kInvalidArgument,
     false},
    {ErrorType::kInvalidKeyUsage, "InvalidKeyUsageException", 400,
     absl::StatusCode::kFailedPrecondition, false},
    {ErrorType::kInvalidArn, "InvalidArnException", 400, absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kInvalidMarker, "InvalidMarkerException", 400, absl::StatusCode::kInvalidArgument,
     false},
    {ErrorType::kKmsInvalidSignature, "KMSInvalidSignatureException", 400,
     absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kAlreadyExists, "AlreadyExistsException", 400, absl::StatusCode::kAlreadyExists,
     false},
    {ErrorType::kLimitExceeded, "LimitExceededException", 400,
     absl::StatusCode::kResourceExhausted, false},
    {ErrorType::kThrottling, "ThrottlingException", 400, absl::StatusCode::kResourceExhausted,
     true},
    {ErrorType::kInternal, "KMSInternalException", 500, absl::StatusCode::kInternal, true},
    {ErrorType::kKeyUnavailable, "KeyUnavailableException", 500, absl::StatusCode::kUnavailable,
     true},
    {ErrorType::kDependencyTimeout, "DependencyTimeoutException", 500,
     absl::StatusCode::kUnavailable, true},
    {ErrorType::kUnrecognizedClient, "UnrecognizedClientException", 400,
     absl::StatusCode::kUnauthenticated, false},
    {ErrorType::kInvalidSignature, "InvalidSignatureException", 400,
     absl::StatusCode::kUnauthenticated, false},
    {ErrorType::kIncompleteSignature, "IncompleteSignatureException", 400,
     absl::StatusCode::kUnauthenticated, false},
    {ErrorType::kMissingAuthenticationToken, "MissingAuthenticationTokenException", 403,
     absl::StatusCode::kUnauthenticated, false},
    {ErrorType::kMalformedPolicyDocument, "MalformedPolicyDocumentException", 400,
     absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kInvalidAliasName, "InvalidAliasNameException", 400,
     absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kInvalidGrantToken, "InvalidGrantTokenException", 400,
     absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kNotAuthorized, "NotAuthorizedException", 400, absl::StatusCode::kPermissionDenied,
     false},
    {ErrorType::kUnsupportedOperation, "UnsupportedOperationException", 400,
     absl::StatusCode::kUnimplemented, false},
    {ErrorType::kUnknownOperation, "UnknownOperationException", 400,
     absl::StatusCode::kUnimplemented, false},
    {ErrorType::kRequestEntityTooLarge, "RequestEntityTooLargeException", 413,
     absl::StatusCode::kInvalidArgument, false},
    {ErrorType::kDryRunOperation, "DryRunOperationException", 412,
     absl::StatusCode::kFailedPrecondition, false},
};

const ErrorInfo& Info(ErrorType type) {
  for (const ErrorInfo& e : kErrors) {
    if (e.type == type) return e;
  }
  return kErrors[15];  // KMSInternalException; unreachable for valid enumerators
}

}  // namespace

const char* ErrorTypeName(ErrorType type) { return Info(type).name; }
int ErrorHttpStatus(ErrorType type) { return Info(type).http_status; }
absl::StatusCode ErrorStatusCode(ErrorType type) { return Info(type).code; }
bool IsRetryable(ErrorType type) { return Info(type).retryable; }

std::optional<ErrorType> ParseErrorType(std::string_view aws_type) {
  // "com.amazonaws.kms#NotFoundException" and "NotFoundException:http://...".
  if (const size_t hash = aws_type.rfind('#'); hash != std::string_view::npos) {
    aws_type.remove_prefix(hash + 1);
  }
  if (const size_t colon = aws_type.find(':'); colon != std::string_view::npos) {
    aws_type = aws_type.substr(0, colon);
  }
  for (const ErrorInfo& e : kErrors) {
    if (aws_type == e.name) return e.type;
  }
  return std::nullopt;
}

absl::Status KmsError(ErrorType type, std::string_view message) {
  std::string text = ErrorTypeName(type);
  text += ": ";
  text += message;
  absl::Status status(ErrorStatusCode(type), text);
  status.SetPayload(kErrorTypePayloadUrl, absl::Cord(std::string(ErrorTypeName(type))));
  return status;
}

std::optional<ErrorType> GetKmsErrorType(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorTypePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  return ParseErrorType(std::string(*payload));
}

}  // namespace veil::kms
