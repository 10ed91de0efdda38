#include "veil/esdk/materials.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace veil::esdk {

absl::StatusOr<CommitmentPolicy> ParseCommitmentPolicy(const std::string& text) {
  const std::string t = absl::StrReplaceAll(absl::AsciiStrToLower(text), {{"_", "-"}});
  if (t == "forbid-encrypt-allow-decrypt") return CommitmentPolicy::kForbidEncryptAllowDecrypt;
  if (t == "require-encrypt-allow-decrypt") return CommitmentPolicy::kRequireEncryptAllowDecrypt;
  if (t == "require-encrypt-require-decrypt") {
    return CommitmentPolicy::kRequireEncryptRequireDecrypt;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown commitment policy '", text, "'"));
}

bool SuiteAllowedForEncrypt(CommitmentPolicy policy, const AlgorithmSuite& suite) {
  return policy == CommitmentPolicy::kForbidEncryptAllowDecrypt ? !suite.committing
                                                                : suite.committing;
}

bool SuiteAllowedForDecrypt(CommitmentPolicy policy, const AlgorithmSuite& suite) {
  return policy != CommitmentPolicy::kRequireEncryptRequireDecrypt || suite.committing;
}

uint16_t DefaultSuite(CommitmentPolicy policy) {
  return policy == CommitmentPolicy::kForbidEncryptAllowDecrypt ? kSuite0378 : kSuite0578;
}

EncryptionMaterials EncryptionMaterials::Clone() const {
  EncryptionMaterials m;
  m.suite = suite;
  m.encryption_context = encryption_context;
  m.required_encryption_context_keys = required_encryption_context_keys;
  m.encrypted_data_keys = encrypted_data_keys;
  if (plaintext_data_key) m.plaintext_data_key = plaintext_data_key->Clone();
  if (signing_key) m.signing_key = signing_key->Clone();
  return m;
}

DecryptionMaterials DecryptionMaterials::Clone() const {
  DecryptionMaterials m;
  m.suite = suite;
  m.encryption_context = encryption_context;
  m.required_encryption_context_keys = required_encryption_context_keys;
  if (plaintext_data_key) m.plaintext_data_key = plaintext_data_key->Clone();
  m.verification_key = verification_key;
  return m;
}

}  // namespace veil::esdk
