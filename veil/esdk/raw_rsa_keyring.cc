#include "veil/esdk/raw_rsa_keyring.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"

namespace veil::esdk {

absl::StatusOr<crypto::RsaPadding> ParseRsaPadding(std::string_view text) {
  if (text == "pkcs1") return crypto::RsaPadding::kPkcs1;
  if (text == "oaep-sha1") return crypto::RsaPadding::kOaepSha1;
  if (text == "oaep-sha256") return crypto::RsaPadding::kOaepSha256;
  if (text == "oaep-sha384") return crypto::RsaPadding::kOaepSha384;
  if (text == "oaep-sha512") return crypto::RsaPadding::kOaepSha512;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown RSA padding '", std::string(text), "' (pkcs1|oaep-sha1|oaep-sha256|oaep-sha384|oaep-sha512)"));
}

absl::StatusOr<std::unique_ptr<RawRsaKeyring>> RawRsaKeyring::Create(
    std::string key_namespace, std::string key_name, crypto::RsaPadding padding,
    std::string_view public_key_pem, std::string_view private_key_pem) {
  if (absl::StartsWith(key_namespace, "aws-kms")) {
    return absl::InvalidArgumentError("raw keyring namespace must not start with aws-kms");
  }
  if (public_key_pem.empty() && private_key_pem.empty()) {
    return absl::InvalidArgumentError("raw RSA keyring needs a public or a private key");
  }
  std::unique_ptr<RawRsaKeyring> k(new RawRsaKeyring());
  k->namespace_ = std::move(key_namespace);
  k->name_ = std::move(key_name);
  k->padding_ = padding;
  //= framework/raw-rsa-keyring.md#initialization
  //# The public key MUST NOT be derived from the private key.
  if (!public_key_pem.empty()) {
    VEIL_ASSIGN_OR_RETURN(k->public_key_, crypto::RsaPublicKey::FromPem(public_key_pem));
  }
  if (!private_key_pem.empty()) {
    VEIL_ASSIGN_OR_RETURN(k->private_key_, crypto::RsaPrivateKey::FromPem(private_key_pem));
  }
  return k;
}

absl::Status RawRsaKeyring::OnEncrypt(EncryptionMaterials& materials) const {
  if (public_key_ == nullptr) {
    return absl::FailedPreconditionError("raw RSA keyring has no public key to encrypt with");
  }
  std::optional<SecretBytes> generated;
  if (!materials.plaintext_data_key) {
    VEIL_ASSIGN_OR_RETURN(generated, crypto::RandomSecret(materials.suite->key_length));
  }
  const SecretBytes& pdk = generated ? *generated : *materials.plaintext_data_key;
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> wrapped, public_key_->Encrypt(padding_, pdk.Expose()));
  materials.encrypted_data_keys.push_back(
      {namespace_, std::vector<uint8_t>(name_.begin(), name_.end()), std::move(wrapped)});
  if (generated) materials.plaintext_data_key = std::move(generated);
  return absl::OkStatus();
}

absl::Status RawRsaKeyring::OnDecrypt(DecryptionMaterials& materials,
                                      absl::Span<const EncryptedDataKey> edks) const {
  if (materials.plaintext_data_key) {
    return absl::FailedPreconditionError("decryption materials already hold a data key");
  }
  if (private_key_ == nullptr) {
    return absl::FailedPreconditionError("raw RSA keyring has no private key to decrypt with");
  }
  for (const EncryptedDataKey& edk : edks) {
    if (edk.provider_id != namespace_ || AsStringView(edk.provider_info) != name_) continue;
    auto pdk = private_key_->Decrypt(padding_, edk.ciphertext);
    // With PKCS#1 v1.5, OpenSSL's implicit rejection may hand back random
    // bytes for a wrong key: the length check catches most, and the header
    // tag catches the rest.
    if (pdk.ok() && pdk->size() == materials.suite->key_length) {
      materials.plaintext_data_key = std::move(*pdk);
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError("raw RSA keyring could not unwrap any encrypted data key");
}

}  // namespace veil::esdk
