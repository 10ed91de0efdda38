#include "veil/esdk/raw_aes_keyring.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "veil/common/byte_reader.h"
#include "veil/common/byte_writer.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/random.h"

namespace veil::esdk {
namespace {

constexpr uint32_t kTagLengthBits = 128;

}  // namespace

absl::StatusOr<std::unique_ptr<RawAesKeyring>> RawAesKeyring::Create(std::string key_namespace,
                                                                     std::string key_name,
                                                                     SecretBytes wrapping_key) {
  const size_t n = wrapping_key.size();
  if (n != 16 && n != 24 && n != 32) {
    return absl::InvalidArgumentError("raw AES wrapping key must be 16, 24 or 32 bytes");
  }
  //= framework/raw-aes-keyring.md#initialization
  //# The key namespace MUST NOT be "aws-kms" or start with "aws-kms".
  if (absl::StartsWith(key_namespace, "aws-kms")) {
    return absl::InvalidArgumentError("raw keyring namespace must not start with aws-kms");
  }
  return std::unique_ptr<RawAesKeyring>(
      new RawAesKeyring(std::move(key_namespace), std::move(key_name), std::move(wrapping_key)));
}

absl::Status RawAesKeyring::OnEncrypt(EncryptionMaterials& materials) const {
  const size_t key_length = materials.suite->key_length;
  std::optional<SecretBytes> generated;
  if (!materials.plaintext_data_key) {
    VEIL_ASSIGN_OR_RETURN(generated, crypto::RandomSecret(key_length));
  }
  const SecretBytes& pdk = generated ? *generated : *materials.plaintext_data_key;

  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> aad,
                        SerializeEncryptionContext(materials.encryption_context));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> iv, crypto::RandomBytes(crypto::kGcmIvSize));
  VEIL_ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::New(key_.Expose()));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> wrapped, aead->SealToVector(iv, aad, pdk.Expose()));

  ByteWriter info(name_.size() + 8 + iv.size());
  info.WriteString(name_);
  info.WriteU32(kTagLengthBits);
  info.WriteU32(crypto::kGcmIvSize);
  info.WriteBytes(iv);

  materials.encrypted_data_keys.push_back({namespace_, info.Release(), std::move(wrapped)});
  if (generated) materials.plaintext_data_key = std::move(generated);
  return absl::OkStatus();
}

absl::Status RawAesKeyring::OnDecrypt(DecryptionMaterials& materials,
                                      absl::Span<const EncryptedDataKey> edks) const {
  if (materials.plaintext_data_key) {
    return absl::FailedPreconditionError("decryption materials already hold a data key");
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> aad,
                        SerializeEncryptionContext(materials.encryption_context));
  VEIL_ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::New(key_.Expose()));
  for (const EncryptedDataKey& edk : edks) {
    //= framework/raw-aes-keyring.md#ondecrypt
    //# The key provider ID of the encrypted data key MUST equal this keyring's
    //# key namespace, and the key name obtained from the provider info MUST
    //# equal this keyring's key name.
    if (edk.provider_id != namespace_) continue;
    if (edk.provider_info.size() != name_.size() + 8 + crypto::kGcmIvSize) continue;
    ByteReader r(edk.provider_info);
    absl::Span<const uint8_t> name, iv;
    uint32_t tag_bits, iv_len;
    if (!r.ReadBytes(name_.size(), &name) || AsStringView(name) != name_ ||
        !r.ReadU32(&tag_bits) || tag_bits != kTagLengthBits || !r.ReadU32(&iv_len) ||
        iv_len != crypto::kGcmIvSize || !r.ReadBytes(iv_len, &iv)) {
      continue;
    }
    if (edk.ciphertext.size() != materials.suite->key_length + crypto::kGcmTagSize) continue;
    auto pdk = aead->OpenToSecret(iv, aad, edk.ciphertext);
    if (pdk.ok()) {
      materials.plaintext_data_key = std::move(*pdk);
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError("raw AES keyring could not unwrap any encrypted data key");
}

}  // namespace veil::esdk
