// Cryptographic materials passed between the message layer, materials
// managers and keyrings.
// Spec: framework/structures.md (brief sections 8, 9, 10).
#ifndef VEIL_ESDK_MATERIALS_H_
#define VEIL_ESDK_MATERIALS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "veil/common/secret_bytes.h"
#include "veil/esdk/algorithm_suite.h"
#include "veil/esdk/encryption_context.h"

namespace veil::esdk {

// CommitmentPolicy decides which suites may be written and read (brief
// section 10). The default everywhere is the strictest.
enum class CommitmentPolicy {
  kForbidEncryptAllowDecrypt,
  kRequireEncryptAllowDecrypt,
  kRequireEncryptRequireDecrypt,
};

// ParseCommitmentPolicy accepts "forbid-encrypt-allow-decrypt",
// "require-encrypt-allow-decrypt", "require-encrypt-require-decrypt" (and
// the upper-case underscore spellings).
absl::StatusOr<CommitmentPolicy> ParseCommitmentPolicy(const std::string& text);
// SuiteAllowedForEncrypt / SuiteAllowedForDecrypt apply the policy table.
bool SuiteAllowedForEncrypt(CommitmentPolicy policy, const AlgorithmSuite& suite);
bool SuiteAllowedForDecrypt(CommitmentPolicy policy, const AlgorithmSuite& suite);
// DefaultSuite returns the suite used when the caller names none: 0x0578
// under the committing policies, 0x0378 under FORBID (what the official SDKs
// do; the spec's 0x0078 has no KDF).
uint16_t DefaultSuite(CommitmentPolicy policy);

// EncryptedDataKey is one wrapped copy of the plaintext data key.
// Spec: data-format/message-header.md#encrypted-data-key-entries.
struct EncryptedDataKey {
  std::string provider_id;             // UTF-8
  std::vector<uint8_t> provider_info;  // opaque
  std::vector<uint8_t> ciphertext;

  bool operator==(const EncryptedDataKey&) const = default;
};

// EncryptionMaterials are what a materials manager hands the encryptor.
struct EncryptionMaterials {
  const AlgorithmSuite* suite = nullptr;
  // The full encryption context: stored pairs, required pairs, and
  // aws-crypto-public-key for signed suites. Keyrings see all of it.
  EncryptionContext encryption_context;
  // Keys of encryption_context that are authenticated but not stored in the
  // header (required-encryption-context CMM, brief section 11).
  std::set<std::string> required_encryption_context_keys;
  std::vector<EncryptedDataKey> encrypted_data_keys;
  // Set by the generating keyring; `suite->key_length` bytes.
  std::optional<SecretBytes> plaintext_data_key;
  // Signed suites: the DER (PKCS#8) signing key, shared by cached materials.
  std::optional<SecretBytes> signing_key;

  EncryptionMaterials Clone() const;
};

// DecryptionMaterials are what a materials manager hands the decryptor.
struct DecryptionMaterials {
  const AlgorithmSuite* suite = nullptr;
  EncryptionContext encryption_context;
  std::set<std::string> required_encryption_context_keys;
  std::optional<SecretBytes> plaintext_data_key;
  // Signed suites: the SEC1 compressed verification key.
  std::optional<std::vector<uint8_t>> verification_key;

  DecryptionMaterials Clone() const;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_MATERIALS_H_
