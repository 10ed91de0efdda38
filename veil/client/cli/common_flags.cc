#include "veil/client/cli/common_flags.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/wrapping_key_spec.h"
#include "veil/common/status_macros.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/required_ec_cmm.h"

namespace veil::client {

absl::StatusOr<esdk::EncryptionContext> ParseContextFlags(const std::vector<std::string>& pairs,
                                                          const char* flag) {
  esdk::EncryptionContext ec;
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) {
      return UsageError(absl::StrCat(flag, " '", pair, "': expected KEY=VALUE"));
    }
    if (eq == 0) return UsageError(absl::StrCat(flag, " '", pair, "': empty key"));
    std::string key = pair.substr(0, eq);
    if (!ec.emplace(key, pair.substr(eq + 1)).second) {
      return UsageError(absl::StrCat(flag, ": key '", key, "' given more than once"));
    }
  }
  return ec;
}

absl::StatusOr<esdk::CommitmentPolicy> ParsePolicyFlag(const std::string& text) {
  auto policy = esdk::ParseCommitmentPolicy(text);
  if (!policy.ok()) {
    return UsageError(absl::StrCat(
        "--commitment-policy '", text,
        "': expected require-encrypt-require-decrypt, require-encrypt-allow-decrypt or "
        "forbid-encrypt-allow-decrypt"));
  }
  return *policy;
}

absl::StatusOr<std::shared_ptr<esdk::CryptoMaterialsManager>> MakeCmm(
    const std::vector<std::string>& wrapping_keys, const std::vector<std::string>& required_keys,
    KeyringUse use) {
  for (const std::string& key : required_keys) {
    if (key.empty()) return UsageError("--required-encryption-context-key: empty key");
  }
  KeyringSources sources;
  sources.use = use;
  VEIL_ASSIGN_OR_RETURN(auto keyring, KeyringFromSpecs(wrapping_keys, sources));
  std::shared_ptr<esdk::CryptoMaterialsManager> cmm = esdk::DefaultCmm::Create(std::move(keyring));
  if (required_keys.empty()) return cmm;
  VEIL_ASSIGN_OR_RETURN(
      auto required,
      esdk::RequiredEncryptionContextCmm::Create(
          std::move(cmm), std::set<std::string>(required_keys.begin(), required_keys.end())));
  return std::shared_ptr<esdk::CryptoMaterialsManager>(std::move(required));
}

absl::Status CheckInputOutput(const std::string& input, const std::string& output) {
  if (input.empty()) return UsageError("--input is empty (use - for stdin)");
  if (output.empty()) return UsageError("--output is empty (use - for stdout)");
  if (input == output && input != "-") {
    return UsageError(absl::StrCat("--output ", output, " is the input; choose another path"));
  }
  return absl::OkStatus();
}

}  // namespace veil::client
