#include "veil/kms_server/principals.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "veil/common/byte_reader.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"

namespace veil::kms_server {
namespace {

std::string SecretContext(std::string_view access_key_id) {
  return absl::StrCat("veil-kms principal secret\x1f", std::string(access_key_id));
}

// RandomString draws `n` characters uniformly from `alphabet` (whose size
// divides 256, so there is no modulo bias).
absl::StatusOr<SecretBytes> RandomString(std::string_view alphabet, size_t n) {
  VEIL_ASSIGN_OR_RETURN(SecretBytes raw, crypto::RandomSecret(n));
  SecretBytes out(n);
  for (size_t i = 0; i < n; ++i) {
    out.MutableExpose()[i] =
        static_cast<uint8_t>(alphabet[raw.Expose()[i] % alphabet.size()]);
  }
  return out;
}

constexpr char kIdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";  // 32
constexpr char kSecretAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";  // 64

}  // namespace

absl::StatusOr<std::string> ParsePrincipalArn(std::string_view arn) {
  // ^arn:aws:iam::([0-9]{12}):(user|role)/([A-Za-z0-9+=,.@_/-]{1,64})$
  auto bad = [arn] {
    return absl::InvalidArgumentError(absl::StrCat(
        "principal ARN must look like arn:aws:iam::<12-digit account>:user/<name> or "
        ":role/<name>, got '",
        std::string(arn), "'"));
  };
  std::string_view rest = arn;
  if (!rest.starts_with("arn:aws:iam::")) return bad();
  rest.remove_prefix(13);
  if (rest.size() < 13 || rest[12] != ':') return bad();
  const std::string_view account = rest.substr(0, 12);
  if (!std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad();
  }
  rest.remove_prefix(13);
  if (rest.starts_with("user/")) {
    rest.remove_prefix(5);
  } else if (rest.starts_with("role/")) {
    rest.remove_prefix(5);
  } else {
    return bad();
  }
  if (rest.empty() || rest.size() > 64) return bad();
  const bool name_ok = std::all_of(rest.begin(), rest.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("+=,.@_/-").find(c) != std::string_view::npos;
  });
  if (!name_ok) return bad();
  return std::string(account);
}

absl::Status AddPrincipalWithCredentials(Store& store, const RootKey& root_key,
                                         std::string_view arn, std::string_view access_key_id,
                                         const SecretBytes& secret_access_key) {
  VEIL_ASSIGN_OR_RETURN(std::string account, ParsePrincipalArn(arn));
  PrincipalRecord record;
  record.access_key_id = std::string(access_key_id);
  record.arn = std::string(arn);
  record.account = account;
  record.created_ms = absl::ToUnixMillis(absl::Now());
  VEIL_ASSIGN_OR_RETURN(record.sealed_secret,
                        root_key.Seal(SecretContext(access_key_id), secret_access_key.Expose()));
  return store.AddPrincipal(record);
}

absl::StatusOr<NewCredentials> AddPrincipal(Store& store, const RootKey& root_key,
                                            std::string_view arn) {
  VEIL_RETURN_IF_ERROR(ParsePrincipalArn(arn));
  VEIL_ASSIGN_OR_RETURN(SecretBytes id_tail, RandomString(kIdAlphabet, 16));
  NewCredentials creds;
  creds.access_key_id = absl::StrCat("AKIA", std::string(AsStringView(id_tail.Expose())));
  VEIL_ASSIGN_OR_RETURN(creds.secret_access_key, RandomString(kSecretAlphabet, 40));
  VEIL_RETURN_IF_ERROR(AddPrincipalWithCredentials(store, root_key, arn, creds.access_key_id,
                                                   creds.secret_access_key));
  return creds;
}

absl::StatusOr<SecretBytes> PrincipalDirectory::Secret(const std::string& access_key_id) const {
  const absl::Time now = absl::Now();
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = secrets_.find(access_key_id);
    if (it != secrets_.end()) return it->second.Clone();
    auto miss = misses_.find(access_key_id);
    if (miss != misses_.end() && now - miss->second < absl::Seconds(1)) {
      return absl::NotFoundError("unknown access key id");
    }
  }
  std::optional<PrincipalRecord> record = store_->FindPrincipal(access_key_id);
  if (!record.has_value()) {
    absl::MutexLock lock(&mu_);
    if (misses_.size() >= 10000) misses_.clear();
    misses_[access_key_id] = now;
    return absl::NotFoundError("unknown access key id");
  }
  auto secret = root_key_->Open(SecretContext(access_key_id), record->sealed_secret);
  if (!secret.ok()) return absl::InternalError("a principal's secret does not open");
  absl::MutexLock lock(&mu_);
  secrets_[access_key_id] = secret->Clone();
  return secret;
}

std::optional<PrincipalRecord> PrincipalDirectory::Find(const std::string& access_key_id) const {
  return store_->FindPrincipal(access_key_id);
}

}  // namespace veil::kms_server
