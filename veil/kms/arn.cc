#include "veil/kms/arn.h"

#include <cctype>

namespace veil::kms {

std::string KmsArn::ToString() const {
  return "arn:" + partition + ":kms:" + region + ":" + account + ":" + resource_type + "/" +
         resource_id;
}

absl::StatusOr<KmsArn> ParseKmsArn(std::string_view text) {
  auto invalid = [&](const char* why) {
    return absl::InvalidArgumentError("'" + std::string(text) + "' is not a KMS ARN: " + why);
  };
  // Five ':' separate six fields; the resource (last) may itself hold ':'.
  std::string_view rest = text;
  std::string_view fields[5];
  for (std::string_view& f : fields) {
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return invalid("too few ':'-separated fields");
    f = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  //= framework/aws-kms/aws-kms-key-arn.md#a-valid-aws-kms-arn
  //# MUST start with string `arn`
  if (fields[0] != "arn") return invalid("it must start with \"arn\"");
  //# The partition MUST be a non-empty
  if (fields[1].empty()) return invalid("the partition is empty");
  //# The service MUST be the string `kms`
  if (fields[2] != "kms") return invalid("the service is not \"kms\"");
  //# The region MUST be a non-empty string
  if (fields[3].empty()) return invalid("the region is empty");
  //# The account MUST be a non-empty string
  if (fields[4].empty()) return invalid("the account is empty");
  //# The resource section MUST be non-empty and MUST be split by a single `/`
  //# any additional `/` are included in the resource id
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return invalid("the resource has no '/'");
  const std::string_view type = rest.substr(0, slash);
  const std::string_view id = rest.substr(slash + 1);
  //# The resource type MUST be either `alias` or `key`
  if (type != "key" && type != "alias") return invalid("the resource type is not key or alias");
  //# The resource id MUST be a non-empty string
  if (id.empty()) return invalid("the resource id is empty");
  KmsArn arn;
  arn.partition = std::string(fields[1]);
  arn.region = std::string(fields[3]);
  arn.account = std::string(fields[4]);
  arn.resource_type = std::string(type);
  arn.resource_id = std::string(id);
  return arn;
}

absl::StatusOr<KmsArn> ParseKmsKeyArn(std::string_view text) {
  absl::StatusOr<KmsArn> arn = ParseKmsArn(text);
  if (!arn.ok()) return arn.status();
  if (!arn->IsKey()) {
    return absl::InvalidArgumentError("'" + std::string(text) +
                                      "' is a KMS alias ARN, not a key ARN");
  }
  return arn;
}

absl::Status ValidateKmsKeyIdentifier(std::string_view identifier) {
  if (identifier.empty()) return absl::InvalidArgumentError("KMS key identifier is empty");
  for (char c : identifier) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("KMS key identifier '" + std::string(identifier) +
                                        "' contains whitespace or control characters");
    }
  }
  if (identifier.rfind("arn:", 0) == 0) return ParseKmsArn(identifier).status();
  if (identifier.rfind("alias/", 0) == 0) {
    if (identifier.size() == 6) {
      return absl::InvalidArgumentError("KMS alias name 'alias/' has no name");
    }
    return absl::OkStatus();
  }
  if (identifier.find(':') != std::string_view::npos ||
      identifier.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError("'" + std::string(identifier) +
                                      "' is not a KMS key ARN, alias ARN, alias name or key id");
  }
  return absl::OkStatus();
}

}  // namespace veil::kms
