#include "veil/kms_server/kms_errors.h"

#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "veil/kms/json_codec.h"
#include "veil/kms/types.h"

namespace veil::kms_server {

KmsErrorResponse MakeKmsErrorResponse(const absl::Status& status) {
  const std::optional<kms::ErrorType> type = kms::GetKmsErrorType(status);
  kms::ErrorResponse error;
  if (type.has_value()) {
    error.type = kms::ErrorTypeName(*type);
    // kms::KmsError prefixes the message with "<type>: "; the wire form
    // carries the type separately.
    std::string_view message(status.message().data(), status.message().size());
    const std::string prefix = absl::StrCat(error.type, ": ");
    if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
    error.message = std::string(message);
  } else {
    error.type = kms::ErrorTypeName(kms::ErrorType::kInternal);
    error.message = "An internal error occurred in veil-kms.";
  }
  KmsErrorResponse r;
  r.type = error.type;
  r.http_status = kms::ErrorHttpStatus(type.value_or(kms::ErrorType::kInternal));
  auto body = kms::EncodeJson(error);
  r.body = body.ok() ? *std::move(body)
                     : absl::StrCat(R"({"__type":")", error.type, R"("})");
  return r;
}

}  // namespace veil::kms_server
