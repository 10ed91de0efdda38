// AWS KMS errors as absl::Status: the AWS `__type` travels as a status
// payload, so service code returns ordinary Statuses and the HTTP layer maps
// each to AWS's error shape in one place (KmsErrorResponse).
#ifndef VEIL_KMS_SERVER_KMS_ERRORS_H_
#define VEIL_KMS_SERVER_KMS_ERRORS_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace veil::kms_server {

// KmsError returns a Status for the AWS error `aws_type` (e.g.
// "NotFoundException") with `message`, whose absl code follows the type's
// meaning (NotFound, PermissionDenied, InvalidArgument, FailedPrecondition,
// Unauthenticated, Internal).
absl::Status KmsError(std::string_view aws_type, std::string_view message);

// KmsErrorType returns the AWS type of `status`: the one KmsError attached,
// or for other statuses "KMSInternalException" (never leaking their
// message to a caller; see KmsErrorResponse).
std::string KmsErrorType(const absl::Status& status);

// KmsErrorHttpStatus returns AWS's HTTP status for an error type: 500 for
// KMSInternalException, KeyUnavailableException and DependencyTimeoutException,
// 413 for RequestEntityTooLargeException, 404 for UnknownOperationException
// on a non-POST, otherwise 400 (KMS answers 400 even for AccessDenied).
int KmsErrorHttpStatus(std::string_view aws_type);

// KmsErrorResponse is the JSON body and HTTP status for `status`.
struct KmsErrorResponse {
  int http_status = 400;
  std::string type;
  std::string body;  // {"__type": ..., "message": ...}
};
// MakeKmsErrorResponse builds the response for a failed call. Statuses
// without an AWS type become KMSInternalException with a generic message:
// internal details stay in the server's log.
KmsErrorResponse MakeKmsErrorResponse(const absl::Status& status);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_KMS_ERRORS_H_
