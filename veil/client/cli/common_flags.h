// Flag values shared by `veil encrypt` and `veil decrypt`.
#ifndef VEIL_CLIENT_CLI_COMMON_FLAGS_H_
#define VEIL_CLIENT_CLI_COMMON_FLAGS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "veil/client/cli/wrapping_key_spec.h"
#include "veil/esdk/cmm.h"
#include "veil/esdk/encryption_context.h"
#include "veil/esdk/materials.h"

namespace veil::client {

inline constexpr char kDefaultCommitmentPolicy[] = "require-encrypt-require-decrypt";

// ParseContextFlags turns repeated KEY=VALUE values of `flag` into an
// encryption context (the value may be empty and may contain '='). A value
// without '=', an empty key, or a key given twice is a UsageError.
absl::StatusOr<esdk::EncryptionContext> ParseContextFlags(const std::vector<std::string>& pairs,
                                                          const char* flag);

// ParsePolicyFlag parses --commitment-policy (UsageError when unknown).
absl::StatusOr<esdk::CommitmentPolicy> ParsePolicyFlag(const std::string& text);

// MakeCmm loads the --wrapping-key keyrings for `use` into a DefaultCmm,
// wrapped in a RequiredEncryptionContextCmm when `required_keys` is not
// empty.
absl::StatusOr<std::shared_ptr<esdk::CryptoMaterialsManager>> MakeCmm(
    const std::vector<std::string>& wrapping_keys, const std::vector<std::string>& required_keys,
    KeyringUse use = KeyringUse::kEncrypt);

// CheckInputOutput rejects (UsageError) an empty path or an output that is
// literally the input (other aliases are caught when the files are opened).
absl::Status CheckInputOutput(const std::string& input, const std::string& output);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_COMMON_FLAGS_H_
