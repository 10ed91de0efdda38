// The single mapping from a failed call's Status to AWS's error response
// (STYLE.md C4). Service code fails with kms::KmsError (veil/kms/types.h),
// which carries the AWS error type.
#ifndef VEIL_KMS_SERVER_KMS_ERRORS_H_
#define VEIL_KMS_SERVER_KMS_ERRORS_H_

#include <string>

#include "absl/status/status.h"

namespace veil::kms_server {

// KmsErrorResponse is the HTTP status and JSON body of a failed call.
struct KmsErrorResponse {
  int http_status = 400;
  std::string type;  // the AWS `__type`
  std::string body;  // {"__type": ..., "message": ...}
};

// MakeKmsErrorResponse builds the response for `status`, with AWS's HTTP
// status for its type (kms::ErrorHttpStatus). A status without an AWS type
// becomes KMSInternalException with a generic message: internal details
// stay in the server's log.
KmsErrorResponse MakeKmsErrorResponse(const absl::Status& status);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_KMS_ERRORS_H_
