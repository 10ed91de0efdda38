#include "veil/kms_server/store.h"

#include <sqlite3.h>

#include <functional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"

namespace veil::kms_server {

const char* KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kEnabled:
      return "Enabled";
    case KeyState::kDisabled:
      return "Disabled";
    case KeyState::kPendingDeletion:
      return "PendingDeletion";
  }
  return "Unknown";
}

namespace {

std::optional<KeyState> ParseKeyState(std::string_view name) {
  if (name == "Enabled") return KeyState::kEnabled;
  if (name == "Disabled") return KeyState::kDisabled;
  if (name == "PendingDeletion") return KeyState::kPendingDeletion;
  return std::nullopt;
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS principals (
  access_key_id TEXT PRIMARY KEY,
  arn TEXT NOT NULL,
  account TEXT NOT NULL,
  sealed_secret BLOB NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  description TEXT NOT NULL,
  state TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  deletion_ms INTEGER NOT NULL,
  pending_window_days INTEGER NOT NULL,
  rotation_enabled INTEGER NOT NULL,
  rotation_period_days INTEGER NOT NULL,
  next_rotation_ms INTEGER NOT NULL,
  current_version INTEGER NOT NULL,
  policy TEXT NOT NULL,
  tags_json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_versions (
  key_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  sealed_material BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (key_id, version));
CREATE TABLE IF NOT EXISTS aliases (
  account TEXT NOT NULL,
  alias_name TEXT NOT NULL,
  target_key_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account, alias_name));
)sql";

// Stmt is a prepared statement with positional binding, finalized on scope
// exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(std::string_view text) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text(stmt_, ++index_, text.data(), static_cast<int>(text.size()),
                              SQLITE_TRANSIENT);
    }
    return *this;
  }
  Stmt& Bind(const std::vector<uint8_t>& blob) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_blob(stmt_, ++index_, blob.data(), static_cast<int>(blob.size()),
                              SQLITE_TRANSIENT);
    }
    return *this;
  }
  Stmt& Bind(int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }

  // Run executes a statement that returns no rows.
  absl::Status Run() {
    if (rc_ != SQLITE_OK) return Error("prepare/bind");
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_CONSTRAINT) return absl::AlreadyExistsError(sqlite3_errmsg(db_));
    if (rc != SQLITE_DONE) return Error("step");
    return absl::OkStatus();
  }
  // Next steps to the next row; false at the end (or on error, see status).
  bool Next() {
    if (rc_ != SQLITE_OK) return false;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) rc_ = rc;
    return false;
  }
  absl::Status status() const { return rc_ == SQLITE_OK ? absl::OkStatus() : Error("query"); }

  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::vector<uint8_t> Blob(int col) const {
    const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
    return p == nullptr ? std::vector<uint8_t>()
                        : std::vector<uint8_t>(p, p + sqlite3_column_bytes(stmt_, col));
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InternalError(absl::StrCat("sqlite ", std::string(what), ": ", sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
  int index_ = 0;
};

absl::Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    absl::Status status = absl::InternalError(absl::StrCat("sqlite: ", err ? err : "error"));
    sqlite3_free(err);
    return status;
  }
  return absl::OkStatus();
}

Stmt& BindKey(Stmt& s, const KeyRecord& k) {
  return s.Bind(k.key_id)
      .Bind(k.account)
      .Bind(k.region)
      .Bind(k.description)
      .Bind(KeyStateName(k.state))
      .Bind(k.created_ms)
      .Bind(k.deletion_ms)
      .Bind(int64_t{k.pending_window_days})
      .Bind(int64_t{k.rotation_enabled ? 1 : 0})
      .Bind(int64_t{k.rotation_period_days})
      .Bind(k.next_rotation_ms)
      .Bind(int64_t{k.current_version})
      .Bind(k.policy)
      .Bind(k.tags_json);
}

constexpr const char* kUpsertKey =
    "INSERT OR REPLACE INTO keys (key_id, account, region, description, state, created_ms, "
    "deletion_ms, pending_window_days, rotation_enabled, rotation_period_days, "
    "next_rotation_ms, current_version, policy, tags_json) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertVersion =
    "INSERT INTO key_versions (key_id, version, sealed_material, created_ms) VALUES (?,?,?,?)";

}  // namespace

struct Store::Db {
  sqlite3* handle = nullptr;
  ~Db() { sqlite3_close(handle); }

  // Transaction runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back
  // on error.
  absl::Status Transaction(const std::function<absl::Status()>& body) {
    VEIL_RETURN_IF_ERROR(Exec(handle, "BEGIN IMMEDIATE"));
    absl::Status status = body();
    if (status.ok()) status = Exec(handle, "COMMIT");
    if (!status.ok()) Exec(handle, "ROLLBACK").IgnoreError();
    return status;
  }
};

Store::Store(std::unique_ptr<Db> db) : db_(std::move(db)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, bool durable) {
  auto db = std::make_unique<Db>();
  const int rc = sqlite3_open_v2(path.c_str(), &db->handle,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(
        "cannot open ", path, ": ", db->handle ? sqlite3_errmsg(db->handle) : "out of memory"));
  }
  sqlite3_busy_timeout(db->handle, 5000);
  // WAL + synchronous=FULL: a transaction is durable once COMMIT returns
  // (the WAL is fsynced at every commit), which is what "acknowledged calls
  // survive SIGKILL and power loss" needs.
  VEIL_RETURN_IF_ERROR(Exec(db->handle, "PRAGMA journal_mode=WAL"));
  VEIL_RETURN_IF_ERROR(
      Exec(db->handle, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"));
  VEIL_RETURN_IF_ERROR(Exec(db->handle, "PRAGMA foreign_keys=ON"));
  VEIL_RETURN_IF_ERROR(Exec(db->handle, kSchema));
  std::unique_ptr<Store> store(new Store(std::move(db)));
  VEIL_RETURN_IF_ERROR(store->LoadMirror());
  return store;
}

absl::Status Store::LoadMirror() {
  absl::MutexLock w(&write_mu_);
  absl::MutexLock m(&mirror_mu_);
  sqlite3* h = db_->handle;
  {
    Stmt s(h, "SELECT access_key_id, arn, account, sealed_secret, created_ms FROM principals");
    while (s.Next()) {
      PrincipalRecord p{s.Text(0), s.Text(1), s.Text(2), s.Blob(3), s.Int(4)};
      principals_[p.access_key_id] = std::move(p);
    }
    VEIL_RETURN_IF_ERROR(s.status());
  }
  {
    Stmt s(h,
           "SELECT key_id, account, region, description, state, created_ms, deletion_ms, "
           "pending_window_days, rotation_enabled, rotation_period_days, next_rotation_ms, "
           "current_version, policy, tags_json FROM keys");
    while (s.Next()) {
      KeyRecord k;
      k.key_id = s.Text(0);
      k.account = s.Text(1);
      k.region = s.Text(2);
      k.description = s.Text(3);
      const std::optional<KeyState> state = ParseKeyState(s.Text(4));
      if (!state) return absl::DataLossError(absl::StrCat("key ", k.key_id, ": bad state"));
      k.state = *state;
      k.created_ms = s.Int(5);
      k.deletion_ms = s.Int(6);
      k.pending_window_days = static_cast<int>(s.Int(7));
      k.rotation_enabled = s.Int(8) != 0;
      k.rotation_period_days = static_cast<int>(s.Int(9));
      k.next_rotation_ms = s.Int(10);
      k.current_version = static_cast<uint32_t>(s.Int(11));
      k.policy = s.Text(12);
      k.tags_json = s.Text(13);
      keys_[k.key_id] = std::move(k);
    }
    VEIL_RETURN_IF_ERROR(s.status());
  }
  {
    Stmt s(h, "SELECT key_id, version, sealed_material, created_ms FROM key_versions");
    while (s.Next()) {
      KeyVersion v{static_cast<uint32_t>(s.Int(1)), s.Blob(2), s.Int(3)};
      versions_[{s.Text(0), v.version}] = std::move(v);
    }
    VEIL_RETURN_IF_ERROR(s.status());
  }
  {
    Stmt s(h,
           "SELECT account, alias_name, target_key_id, created_ms, updated_ms FROM aliases");
    while (s.Next()) {
      AliasRecord a{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4)};
      aliases_[{a.account, a.alias_name}] = std::move(a);
    }
    VEIL_RETURN_IF_ERROR(s.status());
  }
  for (const auto& [id, key] : keys_) {
    if (!versions_.contains({id, key.current_version})) {
      return absl::DataLossError(absl::StrCat("key ", id, ": current version missing"));
    }
  }
  return absl::OkStatus();
}

absl::Status Store::AddPrincipal(const PrincipalRecord& p) {
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (principals_.contains(p.access_key_id)) {
      return absl::AlreadyExistsError("access key id exists");
    }
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&] {
    return Stmt(db_->handle,
                "INSERT INTO principals (access_key_id, arn, account, sealed_secret, created_ms) "
                "VALUES (?,?,?,?,?)")
        .Bind(p.access_key_id)
        .Bind(p.arn)
        .Bind(p.account)
        .Bind(p.sealed_secret)
        .Bind(p.created_ms)
        .Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  principals_[p.access_key_id] = p;
  return absl::OkStatus();
}

std::optional<PrincipalRecord> Store::FindPrincipal(const std::string& access_key_id) const {
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    auto it = principals_.find(access_key_id);
    if (it != principals_.end()) return it->second;
  }
  // `veil-kms principal add` may have added it from another process since
  // the mirror was loaded.
  absl::MutexLock w(&write_mu_);
  Stmt s(db_->handle,
         "SELECT access_key_id, arn, account, sealed_secret, created_ms FROM principals "
         "WHERE access_key_id = ?");
  s.Bind(access_key_id);
  if (!s.Next()) return std::nullopt;
  PrincipalRecord p{s.Text(0), s.Text(1), s.Text(2), s.Blob(3), s.Int(4)};
  absl::MutexLock m(&mirror_mu_);
  principals_[p.access_key_id] = p;
  return p;
}

absl::Status Store::CreateKey(const KeyRecord& key, const KeyVersion& first_version) {
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (keys_.contains(key.key_id)) return absl::AlreadyExistsError("key id exists");
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    Stmt insert(db_->handle, kUpsertKey);
    VEIL_RETURN_IF_ERROR(BindKey(insert, key).Run());
    return Stmt(db_->handle, kInsertVersion)
        .Bind(key.key_id)
        .Bind(int64_t{first_version.version})
        .Bind(first_version.sealed_material)
        .Bind(first_version.created_ms)
        .Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  keys_[key.key_id] = key;
  versions_[{key.key_id, first_version.version}] = first_version;
  return absl::OkStatus();
}

absl::Status Store::UpdateKey(const KeyRecord& key) {
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (!keys_.contains(key.key_id)) return absl::NotFoundError("no such key");
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&] {
    Stmt update(db_->handle, kUpsertKey);
    return BindKey(update, key).Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  keys_[key.key_id] = key;
  return absl::OkStatus();
}

absl::Status Store::AddKeyVersion(const KeyRecord& key, const KeyVersion& version) {
  if (key.current_version != version.version) {
    return absl::InvalidArgumentError("new version must become current");
  }
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (!keys_.contains(key.key_id)) return absl::NotFoundError("no such key");
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    VEIL_RETURN_IF_ERROR(Stmt(db_->handle, kInsertVersion)
                             .Bind(key.key_id)
                             .Bind(int64_t{version.version})
                             .Bind(version.sealed_material)
                             .Bind(version.created_ms)
                             .Run());
    Stmt update(db_->handle, kUpsertKey);
    return BindKey(update, key).Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  keys_[key.key_id] = key;
  versions_[{key.key_id, version.version}] = version;
  return absl::OkStatus();
}

absl::Status Store::DeleteKey(const std::string& key_id) {
  absl::MutexLock w(&write_mu_);
  VEIL_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    VEIL_RETURN_IF_ERROR(
        Stmt(db_->handle, "DELETE FROM aliases WHERE target_key_id = ?").Bind(key_id).Run());
    VEIL_RETURN_IF_ERROR(
        Stmt(db_->handle, "DELETE FROM key_versions WHERE key_id = ?").Bind(key_id).Run());
    return Stmt(db_->handle, "DELETE FROM keys WHERE key_id = ?").Bind(key_id).Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  keys_.erase(key_id);
  for (auto it = versions_.lower_bound({key_id, 0});
       it != versions_.end() && it->first.first == key_id;) {
    it = versions_.erase(it);
  }
  for (auto it = aliases_.begin(); it != aliases_.end();) {
    it = it->second.target_key_id == key_id ? aliases_.erase(it) : std::next(it);
  }
  return absl::OkStatus();
}

std::optional<KeyRecord> Store::FindKey(const std::string& key_id) const {
  absl::ReaderMutexLock m(&mirror_mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

std::optional<KeyVersion> Store::FindKeyVersion(const std::string& key_id,
                                                uint32_t version) const {
  absl::ReaderMutexLock m(&mirror_mu_);
  auto it = versions_.find({key_id, version});
  if (it == versions_.end()) return std::nullopt;
  return it->second;
}

std::vector<KeyRecord> Store::ListKeys(const std::string& account,
                                       const std::string& region) const {
  absl::ReaderMutexLock m(&mirror_mu_);
  std::vector<KeyRecord> out;
  for (const auto& [id, key] : keys_) {
    if (key.account == account && key.region == region) out.push_back(key);
  }
  return out;
}

absl::Status Store::CreateAlias(const AliasRecord& alias) {
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (aliases_.contains({alias.account, alias.alias_name})) {
      return absl::AlreadyExistsError("alias exists");
    }
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&] {
    return Stmt(db_->handle,
                "INSERT INTO aliases (account, alias_name, target_key_id, created_ms, updated_ms) "
                "VALUES (?,?,?,?,?)")
        .Bind(alias.account)
        .Bind(alias.alias_name)
        .Bind(alias.target_key_id)
        .Bind(alias.created_ms)
        .Bind(alias.updated_ms)
        .Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  aliases_[{alias.account, alias.alias_name}] = alias;
  return absl::OkStatus();
}

absl::Status Store::UpdateAlias(const std::string& account, const std::string& alias_name,
                                const std::string& target_key_id, int64_t updated_ms) {
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (!aliases_.contains({account, alias_name})) return absl::NotFoundError("no such alias");
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&] {
    return Stmt(db_->handle,
                "UPDATE aliases SET target_key_id = ?, updated_ms = ? "
                "WHERE account = ? AND alias_name = ?")
        .Bind(target_key_id)
        .Bind(updated_ms)
        .Bind(account)
        .Bind(alias_name)
        .Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  AliasRecord& a = aliases_[{account, alias_name}];
  a.target_key_id = target_key_id;
  a.updated_ms = updated_ms;
  return absl::OkStatus();
}

absl::Status Store::DeleteAlias(const std::string& account, const std::string& alias_name) {
  absl::MutexLock w(&write_mu_);
  {
    absl::ReaderMutexLock m(&mirror_mu_);
    if (!aliases_.contains({account, alias_name})) return absl::NotFoundError("no such alias");
  }
  VEIL_RETURN_IF_ERROR(db_->Transaction([&] {
    return Stmt(db_->handle, "DELETE FROM aliases WHERE account = ? AND alias_name = ?")
        .Bind(account)
        .Bind(alias_name)
        .Run();
  }));
  absl::MutexLock m(&mirror_mu_);
  aliases_.erase({account, alias_name});
  return absl::OkStatus();
}

std::optional<AliasRecord> Store::FindAlias(const std::string& account,
                                            const std::string& alias_name) const {
  absl::ReaderMutexLock m(&mirror_mu_);
  auto it = aliases_.find({account, alias_name});
  if (it == aliases_.end()) return std::nullopt;
  return it->second;
}

std::vector<AliasRecord> Store::ListAliases(const std::string& account,
                                            const std::string& key_id) const {
  absl::ReaderMutexLock m(&mirror_mu_);
  std::vector<AliasRecord> out;
  for (auto it = aliases_.lower_bound({account, std::string()});
       it != aliases_.end() && it->first.first == account; ++it) {
    if (key_id.empty() || it->second.target_key_id == key_id) out.push_back(it->second);
  }
  return out;
}

}  // namespace veil::kms_server
