// CryptoMaterialsManager: assembles the materials for one message.
// Spec: framework/cmm-interface.md (brief sections 8, 9, 11, 13).
#ifndef VEIL_ESDK_CMM_H_
#define VEIL_ESDK_CMM_H_

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/esdk/materials.h"

namespace veil::esdk {

struct EncryptionMaterialsRequest {
  EncryptionContext encryption_context;
  CommitmentPolicy commitment_policy = CommitmentPolicy::kRequireEncryptRequireDecrypt;
  // The suite the caller asked for; empty = the policy's default.
  std::optional<uint16_t> suite_id;
  // The plaintext length when known up front (the caching CMM needs it).
  std::optional<uint64_t> max_plaintext_length;
};

struct DecryptionMaterialsRequest {
  uint16_t suite_id = 0;
  CommitmentPolicy commitment_policy = CommitmentPolicy::kRequireEncryptRequireDecrypt;
  absl::Span<const EncryptedDataKey> encrypted_data_keys;
  // The context stored in the message header.
  EncryptionContext encryption_context;
  // The context the caller reproduces (brief section 9 step 3).
  EncryptionContext reproduced_encryption_context;
};

// CryptoMaterialsManager implementations must be thread-safe.
class CryptoMaterialsManager {
 public:
  virtual ~CryptoMaterialsManager() = default;
  // GetEncryptionMaterials returns complete materials (suite, data key, at
  // least one EDK, signing key for signed suites) or an error.
  virtual absl::StatusOr<EncryptionMaterials> GetEncryptionMaterials(
      const EncryptionMaterialsRequest& request) = 0;
  // DecryptMaterials returns materials with the plaintext data key (and the
  // verification key for signed suites) or an error.
  virtual absl::StatusOr<DecryptionMaterials> DecryptMaterials(
      const DecryptionMaterialsRequest& request) = 0;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_CMM_H_
