// RawRsaKeyring: wraps data keys with a local RSA key pair.
// Spec: framework/raw-rsa-keyring.md (brief section 12.2).
#ifndef VEIL_ESDK_RAW_RSA_KEYRING_H_
#define VEIL_ESDK_RAW_RSA_KEYRING_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "veil/crypto/rsa.h"
#include "veil/esdk/keyring.h"

namespace veil::esdk {

// RawRsaKeyring encrypts the data key with the public key (no encryption
// context binding: the header tag carries that) and decrypts with the private
// key. Either half may be absent; a keyring without a public key cannot
// encrypt, one without a private key cannot decrypt. Thread-safe.
class RawRsaKeyring : public Keyring {
 public:
  // Create takes PEM texts (SPKI public, PKCS#8 or PKCS#1 private; either
  // may be empty). Fails (InvalidArgument) on unparsable keys, both halves
  // empty, or an "aws-kms" namespace.
  static absl::StatusOr<std::unique_ptr<RawRsaKeyring>> Create(std::string key_namespace,
                                                              std::string key_name,
                                                              crypto::RsaPadding padding,
                                                              std::string_view public_key_pem,
                                                              std::string_view private_key_pem);

  absl::Status OnEncrypt(EncryptionMaterials& materials) const override;
  absl::Status OnDecrypt(DecryptionMaterials& materials,
                         absl::Span<const EncryptedDataKey> edks) const override;

 private:
  RawRsaKeyring() = default;
  std::string namespace_;
  std::string name_;
  crypto::RsaPadding padding_ = crypto::RsaPadding::kOaepSha256;
  std::unique_ptr<crypto::RsaPublicKey> public_key_;
  std::unique_ptr<crypto::RsaPrivateKey> private_key_;
};

// ParseRsaPadding accepts pkcs1, oaep-sha1, oaep-sha256, oaep-sha384,
// oaep-sha512.
absl::StatusOr<crypto::RsaPadding> ParseRsaPadding(std::string_view text);

}  // namespace veil::esdk

#endif  // VEIL_ESDK_RAW_RSA_KEYRING_H_
