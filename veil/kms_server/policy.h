// Key policies: AWS's JSON policy language for the subset a key service
// needs (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html).
//
// Supported: Version, Id, Statement (object or list); per statement Sid,
// Effect, Principal ("*" or {"AWS": ...}), Action/NotAction,
// Resource/NotResource and Condition with the operators StringEquals,
// StringNotEquals, StringEqualsIgnoreCase, StringNotEqualsIgnoreCase,
// StringLike, StringNotLike, Bool and Null, each optionally with the
// "IfExists" suffix and the ForAllValues:/ForAnyValue: set qualifiers.
// Anything else makes the document malformed, so a policy never silently
// means less than its author wrote.
//
// Evaluation follows IAM: an explicit Deny wins over any Allow; without a
// matching Allow the request is implicitly denied.
#ifndef VEIL_KMS_SERVER_POLICY_H_
#define VEIL_KMS_SERVER_POLICY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace veil::kms_server {

// kMaxPolicySize is AWS's limit on a key policy document (bytes).
inline constexpr size_t kMaxPolicySize = 32768;

// RequestContext is what a policy is evaluated against.
struct RequestContext {
  std::string action;             // "kms:Decrypt"
  std::string principal_arn;      // "arn:aws:iam::111122223333:user/alice"
  std::string principal_account;  // "111122223333"
  std::string resource_arn;       // the key's ARN
  // condition_keys maps a condition key to its values; names are compared
  // case-insensitively (IAM semantics), so store them as AddConditionKey
  // does. Single-valued keys have one value; kms:EncryptionContextKeys has
  // one per context key (possibly none).
  std::map<std::string, std::vector<std::string>> condition_keys;

  // AddConditionKey sets `name` (case-folded) to `values`.
  void AddConditionKey(std::string_view name, std::vector<std::string> values);
};

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

// Policy is a parsed, validated key policy. Immutable and thread-safe.
class Policy {
 public:
  // Parse validates `document`. InvalidArgument (with a message that names
  // the problem) for anything malformed or unsupported, or larger than
  // kMaxPolicySize.
  static absl::StatusOr<std::shared_ptr<const Policy>> Parse(std::string_view document);

  // Evaluate returns the decision for `request`.
  Decision Evaluate(const RequestContext& request) const;

  ~Policy();
  struct Statement;

 private:
  explicit Policy(std::vector<Statement> statements);
  std::vector<Statement> statements_;
};

// DefaultKeyPolicy returns AWS's default key policy for `account`: the
// account's root principal may do kms:*. In veil-kms, which has no IAM,
// the account root principal stands for every principal of that account
// (as if each had an IAM policy allowing kms:*), so keys work for their
// account out of the box, as in AWS.
std::string DefaultKeyPolicy(std::string_view account);

// WildcardMatch matches `text` against `pattern` where '*' matches any run
// of characters and '?' any one character; `ignore_case` folds ASCII case.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_POLICY_H_
