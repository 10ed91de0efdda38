// Store: veil-kms's durable state in one SQLite database (WAL journal,
// synchronous=FULL), with an in-memory mirror for reads.
//
// Every mutation is one SQLite transaction that has committed (and, with
// synchronous=FULL, reached the disk) before the method returns OK, so a
// call acknowledged to a client survives SIGKILL or power loss. The mirror
// is updated only after the commit. Reads never touch SQLite.
//
// The store holds bytes only: key material and secrets arrive already sealed
// under the root key (see root_key.h) and leave sealed.
#ifndef VEIL_KMS_SERVER_STORE_H_
#define VEIL_KMS_SERVER_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace veil::kms_server {

// KeyState is AWS's KeyState for the states veil-kms supports.
enum class KeyState { kEnabled, kDisabled, kPendingDeletion };

// KeyStateName returns "Enabled", "Disabled" or "PendingDeletion".
const char* KeyStateName(KeyState state);

// KeyRecord is one KMS key's metadata. Times are Unix milliseconds.
struct KeyRecord {
  std::string key_id;  // lower-case UUID
  std::string account;
  std::string region;
  std::string description;
  KeyState state = KeyState::kEnabled;
  int64_t created_ms = 0;
  // deletion_ms and pending_window_days are set in kPendingDeletion only.
  int64_t deletion_ms = 0;
  int pending_window_days = 0;
  bool rotation_enabled = false;
  int rotation_period_days = 365;
  // next_rotation_ms is when the next automatic rotation is due (0: none).
  int64_t next_rotation_ms = 0;
  // current_version encrypts; every version up to it decrypts.
  uint32_t current_version = 1;
  std::string policy;  // the key policy document, as given
  std::string tags_json = "[]";
};

// KeyVersion is one version of a key's material, sealed under the root key.
struct KeyVersion {
  uint32_t version = 0;
  std::vector<uint8_t> sealed_material;
  int64_t created_ms = 0;
};

// AliasRecord maps "alias/<name>" in an account to a key.
struct AliasRecord {
  std::string account;
  std::string alias_name;  // "alias/..."
  std::string target_key_id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// PrincipalRecord is a caller that may sign requests.
struct PrincipalRecord {
  std::string access_key_id;
  std::string arn;
  std::string account;
  std::vector<uint8_t> sealed_secret;
  int64_t created_ms = 0;
};

// Store is thread-safe.
class Store {
 public:
  // Open opens (creating if needed) the database at `path` and loads the
  // mirror. Internal for SQLite errors, DataLoss for rows that do not parse.
  // `durable` = false (synchronous=OFF) is for fuzzers and nothing else.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     bool durable = true);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- principals
  // AddPrincipal inserts a principal; AlreadyExists if the access key id is
  // taken.
  absl::Status AddPrincipal(const PrincipalRecord& principal);
  // FindPrincipal looks in the mirror, then in the database (principals may
  // be added by another process while the server runs).
  std::optional<PrincipalRecord> FindPrincipal(const std::string& access_key_id) const;

  // --- keys
  // CreateKey inserts `key` and its first version atomically.
  absl::Status CreateKey(const KeyRecord& key, const KeyVersion& first_version);
  // UpdateKey replaces a key's metadata (not its versions); NotFound if
  // absent.
  absl::Status UpdateKey(const KeyRecord& key);
  // AddKeyVersion inserts a version and makes it current, atomically with
  // the updated metadata `key` (whose current_version must be the new one).
  absl::Status AddKeyVersion(const KeyRecord& key, const KeyVersion& version);
  // DeleteKey removes a key, its versions and every alias that names it.
  absl::Status DeleteKey(const std::string& key_id);
  std::optional<KeyRecord> FindKey(const std::string& key_id) const;
  std::optional<KeyVersion> FindKeyVersion(const std::string& key_id, uint32_t version) const;
  // ListKeys returns the keys of `account` (region `region`) ordered by id.
  std::vector<KeyRecord> ListKeys(const std::string& account, const std::string& region) const;

  // --- aliases
  // CreateAlias inserts an alias; AlreadyExists if the name is taken in the
  // account.
  absl::Status CreateAlias(const AliasRecord& alias);
  // UpdateAlias points an existing alias at another key; NotFound if absent.
  absl::Status UpdateAlias(const std::string& account, const std::string& alias_name,
                           const std::string& target_key_id, int64_t updated_ms);
  absl::Status DeleteAlias(const std::string& account, const std::string& alias_name);
  std::optional<AliasRecord> FindAlias(const std::string& account,
                                       const std::string& alias_name) const;
  // ListAliases returns `account`'s aliases ordered by name, only those
  // naming `key_id` when it is non-empty.
  std::vector<AliasRecord> ListAliases(const std::string& account,
                                       const std::string& key_id) const;

 private:
  struct Db;
  explicit Store(std::unique_ptr<Db> db);
  absl::Status LoadMirror();

  // write_mu_ serializes writers (one SQLite connection); mirror_mu_ guards
  // the mirror and is held for writing only while a committed change is
  // applied to it.
  mutable absl::Mutex write_mu_;
  std::unique_ptr<Db> db_ ABSL_GUARDED_BY(write_mu_);
  mutable absl::Mutex mirror_mu_;
  mutable std::map<std::string, PrincipalRecord> principals_ ABSL_GUARDED_BY(mirror_mu_);
  std::map<std::string, KeyRecord> keys_ ABSL_GUARDED_BY(mirror_mu_);
  std::map<std::pair<std::string, uint32_t>, KeyVersion> versions_ ABSL_GUARDED_BY(mirror_mu_);
  std::map<std::pair<std::string, std::string>, AliasRecord> aliases_ ABSL_GUARDED_BY(mirror_mu_);
};

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_STORE_H_
