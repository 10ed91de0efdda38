// Principals: the callers veil-kms knows, each an IAM-style ARN with an
// access key pair. The secret access key is kept sealed under the root key
// (SigV4 verification needs the secret itself, so it cannot be hashed).
#ifndef VEIL_KMS_SERVER_PRINCIPALS_H_
#define VEIL_KMS_SERVER_PRINCIPALS_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "veil/common/secret_bytes.h"
#include "veil/kms_server/root_key.h"
#include "veil/kms_server/store.h"

namespace veil::kms_server {

// NewCredentials is what `veil-kms principal add` prints once.
struct NewCredentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
};

// ParsePrincipalArn checks arn:aws:iam::<12 digits>:user/<name> or
// :role/<name> (name: IAM's [A-Za-z0-9+=,.@_/-], 1..64 characters) and
// returns the account. InvalidArgument otherwise.
absl::StatusOr<std::string> ParsePrincipalArn(std::string_view arn);

// AddPrincipal registers `arn` with a fresh access key id ("AKIA" + 16
// characters) and a 40-character secret, sealed under `root_key`.
absl::StatusOr<NewCredentials> AddPrincipal(Store& store, const RootKey& root_key,
                                            std::string_view arn);

// AddPrincipalWithCredentials registers `arn` with given credentials (tests
// and fuzzers, which need fixed ones).
absl::Status AddPrincipalWithCredentials(Store& store, const RootKey& root_key,
                                         std::string_view arn, std::string_view access_key_id,
                                         const SecretBytes& secret_access_key);

// PrincipalDirectory answers "who holds this access key" for request
// authentication, keeping unsealed secrets in wiping memory. Thread-safe.
class PrincipalDirectory {
 public:
  PrincipalDirectory(const Store* store, const RootKey* root_key)
      : store_(store), root_key_(root_key) {}

  // Secret returns the secret for `access_key_id`: NotFound when unknown.
  // An unknown id is looked up in the database at most once a second (ids
  // added by `veil-kms principal add` while the server runs appear within a
  // second), so a flood of made-up ids cannot turn into database queries.
  absl::StatusOr<SecretBytes> Secret(const std::string& access_key_id) const;
  // Find returns the principal's record.
  std::optional<PrincipalRecord> Find(const std::string& access_key_id) const;

 private:
  const Store* store_;
  const RootKey* root_key_;
  mutable absl::Mutex mu_;
  mutable std::map<std::string, SecretBytes> secrets_ ABSL_GUARDED_BY(mu_);
  // misses_ maps recently unknown ids to when they were last looked up.
  mutable std::map<std::string, absl::Time> misses_ ABSL_GUARDED_BY(mu_);
};

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_PRINCIPALS_H_
