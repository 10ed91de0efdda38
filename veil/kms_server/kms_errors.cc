#include "veil/kms_server/kms_errors.h"

#include <optional>

#include "absl/strings/cord.h"
#include "nlohmann/json.hpp"

namespace veil::kms_server {
namespace {

constexpr char kPayloadUrl[] = "type.veil.dev/kms-error-type";

absl::StatusCode CodeFor(std::string_view type) {
  if (type == "NotFoundException") return absl::StatusCode::kNotFound;
  if (type == "AccessDeniedException" || type == "NotAuthorizedException") {
    return absl::StatusCode::kPermissionDenied;
  }
  if (type == "AlreadyExistsException") return absl::StatusCode::kAlreadyExists;
  if (type == "DisabledException" || type == "KMSInvalidStateException") {
    return absl::StatusCode::kFailedPrecondition;
  }
  if (type == "InvalidCiphertextException" || type == "IncorrectKeyException" ||
      type == "InvalidSignatureException" || type == "UnrecognizedClientException" ||
      type == "IncompleteSignatureException" || type == "MissingAuthenticationTokenException") {
    return absl::StatusCode::kUnauthenticated;
  }
  if (type == "KMSInternalException" || type == "KeyUnavailableException") {
    return absl::StatusCode::kInternal;
  }
  if (type == "UnsupportedOperationException" || type == "UnknownOperationException") {
    return absl::StatusCode::kUnimplemented;
  }
  if (type == "LimitExceededException" || type == "ThrottlingException") {
    return absl::StatusCode::kResourceExhausted;
  }
  return absl::StatusCode::kInvalidArgument;
}

}  // namespace

absl::Status KmsError(std::string_view aws_type, std::string_view message) {
  absl::Status status(CodeFor(aws_type), std::string(message));
  status.SetPayload(kPayloadUrl, absl::Cord(std::string(aws_type)));
  return status;
}

std::string KmsErrorType(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  if (payload.has_value()) return std::string(*payload);
  return "KMSInternalException";
}

int KmsErrorHttpStatus(std::string_view type) {
  if (type == "KMSInternalException" || type == "KeyUnavailableException" ||
      type == "DependencyTimeoutException") {
    return 500;
  }
  if (type == "RequestEntityTooLargeException") return 413;
  return 400;
}

KmsErrorResponse MakeKmsErrorResponse(const absl::Status& status) {
  KmsErrorResponse r;
  r.type = KmsErrorType(status);
  r.http_status = KmsErrorHttpStatus(r.type);
  const bool typed = status.GetPayload(kPayloadUrl).has_value();
  nlohmann::json body = {{"__type", r.type}};
  if (!typed) {
    body["message"] = "An internal error occurred in veil-kms.";
  } else if (!status.message().empty()) {
    body["message"] = std::string(status.message());
  }
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace veil::kms_server
