// RawAesKeyring: wraps data keys with a local AES-GCM wrapping key.
// Spec: framework/raw-aes-keyring.md (brief section 12.1).
#ifndef VEIL_ESDK_RAW_AES_KEYRING_H_
#define VEIL_ESDK_RAW_AES_KEYRING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "veil/common/secret_bytes.h"
#include "veil/esdk/keyring.h"

namespace veil::esdk {

// RawAesKeyring wraps with AES-GCM under a 16, 24 or 32-byte key; the EDK's
// provider info is key name ‖ u32 128 ‖ u32 12 ‖ IV and the AAD is the full
// serialized encryption context. Thread-safe.
class RawAesKeyring : public Keyring {
 public:
  // Create fails (InvalidArgument) for a bad key length or a namespace that
  // is or starts with "aws-kms".
  static absl::StatusOr<std::unique_ptr<RawAesKeyring>> Create(std::string key_namespace,
                                                              std::string key_name,
                                                              SecretBytes wrapping_key);

  absl::Status OnEncrypt(EncryptionMaterials& materials) const override;
  absl::Status OnDecrypt(DecryptionMaterials& materials,
                         absl::Span<const EncryptedDataKey> edks) const override;

 private:
  RawAesKeyring(std::string key_namespace, std::string key_name, SecretBytes wrapping_key)
      : namespace_(std::move(key_namespace)),
        name_(std::move(key_name)),
        key_(std::move(wrapping_key)) {}
  std::string namespace_;
  std::string name_;
  SecretBytes key_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_RAW_AES_KEYRING_H_
