// Keyring: wraps and unwraps data keys. Raw AES, raw RSA, multi and the KMS
// keyrings implement it.
// Spec: framework/keyring-interface.md (brief section 12).
#ifndef VEIL_ESDK_KEYRING_H_
#define VEIL_ESDK_KEYRING_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "veil/esdk/materials.h"

namespace veil::esdk {

// Keyring is the seam for key providers. Implementations must be thread-safe
// (one keyring serves many messages concurrently).
class Keyring {
 public:
  virtual ~Keyring() = default;

  // OnEncrypt generates the plaintext data key if `materials` has none, wraps
  // it and appends an EDK. On failure `materials` is unchanged.
  virtual absl::Status OnEncrypt(EncryptionMaterials& materials) const = 0;

  // OnDecrypt tries the EDKs it recognises, in order, and sets the plaintext
  // data key from the first that unwraps. It fails (FailedPrecondition) if
  // the materials already hold a key, and fails without changing `materials`
  // when no EDK unwraps.
  virtual absl::Status OnDecrypt(DecryptionMaterials& materials,
                                 absl::Span<const EncryptedDataKey> edks) const = 0;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_KEYRING_H_
