// AWS KMS ARNs and key identifiers.
// Spec: aws-encryption-sdk-specification framework/aws-kms/aws-kms-key-arn.md
// (brief section 12.3): arn:<partition>:kms:<region>:<account>:<type>/<id>.
#ifndef VEIL_KMS_ARN_H_
#define VEIL_KMS_ARN_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace veil::kms {

// KmsArn is a parsed AWS KMS ARN.
struct KmsArn {
  std::string partition;      // "aws", "aws-cn", "aws-us-gov", ...
  std::string region;
  std::string account;
  std::string resource_type;  // "key" or "alias"
  std::string resource_id;    // key id, or alias name without "alias/"

  // ToString returns the ARN text.
  std::string ToString() const;
  bool IsKey() const { return resource_type == "key"; }
  // IsMultiRegionKey: a key whose id starts with "mrk-".
  bool IsMultiRegionKey() const { return IsKey() && resource_id.rfind("mrk-", 0) == 0; }
};

// ParseKmsArn parses `text`, failing with InvalidArgument unless it starts
// with "arn", has a non-empty partition, the service "kms", a non-empty
// region and account, and a resource "key/<id>" or "alias/<name>" with a
// non-empty id.
absl::StatusOr<KmsArn> ParseKmsArn(std::string_view text);

// ParseKmsKeyArn is ParseKmsArn that also requires resource type "key".
absl::StatusOr<KmsArn> ParseKmsKeyArn(std::string_view text);

// ValidateKmsKeyIdentifier accepts the four forms KMS accepts as KeyId (key
// ARN, alias ARN, "alias/<name>", bare key id) and refuses anything else
// (InvalidArgument): empty, an ARN that does not parse, "alias/" alone, or
// text with whitespace or control characters.
absl::Status ValidateKmsKeyIdentifier(std::string_view identifier);

}  // namespace veil::kms

#endif  // VEIL_KMS_ARN_H_
