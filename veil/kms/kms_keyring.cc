#include "veil/kms/kms_keyring.h"

#include <optional>
#include <utility>

#include "absl/functional/function_ref.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/cms.h"
#include "veil/kms/arn.h"

namespace veil::kms {
namespace {

using esdk::DecryptionMaterials;
using esdk::EncryptedDataKey;
using esdk::EncryptionMaterials;

std::string ProviderInfoText(const EncryptedDataKey& edk) {
  return std::string(edk.provider_info.begin(), edk.provider_info.end());
}

EncryptedDataKey MakeEdk(const std::string& key_arn, std::vector<uint8_t> ciphertext) {
  // Spec: framework/aws-kms/aws-kms-keyring.md#onencrypt: ciphertext is the
  // response CiphertextBlob, provider id "aws-kms", provider info the
  // response KeyId (always a key ARN).
  return EncryptedDataKey{kKmsProviderId, std::vector<uint8_t>(key_arn.begin(), key_arn.end()),
                          std::move(ciphertext)};
}

// CheckKeyArn checks that KMS answered with a key ARN (the EDK's provider
// info must be one).
absl::Status CheckAnsweredKeyArn(const char* operation, const std::string& key_id) {
  //= framework/aws-kms/aws-kms-keyring.md#onencrypt
  //# The Generate Data Key response’s `KeyId` MUST be a valid AWS KMS key ARN.
  if (absl::Status s = ParseKmsKeyArn(key_id).status(); !s.ok()) {
    return absl::InternalError(std::string("KMS ") + operation + " answered with KeyId '" +
                               key_id + "', which is not a key ARN");
  }
  return absl::OkStatus();
}

absl::Status CheckLength(const char* operation, const SecretBytes& key, size_t expected) {
  if (key.size() != expected) {
    return absl::InternalError(std::string("KMS ") + operation + " returned a " +
                               std::to_string(key.size()) + "-byte data key, expected " +
                               std::to_string(expected));
  }
  return absl::OkStatus();
}

// CandidateEdks returns the `aws-kms` EDKs whose provider info equals
// `key_id` (every EDK when `key_id` is empty), failing on an `aws-kms` EDK
// whose provider info is not a key ARN.
absl::StatusOr<std::vector<const EncryptedDataKey*>> CandidateEdks(
    absl::Span<const EncryptedDataKey> edks, const std::string& key_id) {
  std::vector<const EncryptedDataKey*> out;
  for (const EncryptedDataKey& edk : edks) {
    //= framework/aws-kms/aws-kms-keyring.md#ondecrypt
    //# Its provider ID MUST exactly match the value “aws-kms”.
    if (edk.provider_id != kKmsProviderId) continue;
    const std::string info = ProviderInfoText(edk);
    //# The provider info MUST be a valid AWS KMS ARN with a resource type of `key` or OnDecrypt MUST fail.
    if (absl::Status s = ParseKmsKeyArn(info).status(); !s.ok()) {
      return absl::InvalidArgumentError("aws-kms encrypted data key has provider info that is "
                                        "not a KMS key ARN: " + std::string(s.message()));
    }
    //# The provider info MUST match the configured AWS KMS key identifier.
    // (Exactly: multi-Region keys are not matched across Regions.)
    if (!key_id.empty() && info != key_id) continue;
    out.push_back(&edk);
  }
  return out;
}

// NothingUnwrapped builds the failure of OnDecrypt from the collected
// errors: their common code if they all share one, else PermissionDenied.
absl::Status NothingUnwrapped(const std::string& who, const std::vector<absl::Status>& errors) {
  if (errors.empty()) {
    return absl::PermissionDeniedError(who + ": no aws-kms encrypted data key for this key");
  }
  std::string joined;
  absl::StatusCode code = errors.front().code();
  for (const absl::Status& e : errors) {
    if (e.code() != code) code = absl::StatusCode::kPermissionDenied;
    if (!joined.empty()) joined += "; ";
    joined += std::string(e.message());
  }
  return absl::Status(code, who + " could not unwrap any encrypted data key: " + joined);
}

absl::Status CheckNoKey(const DecryptionMaterials& materials) {
  if (materials.plaintext_data_key) {
    return absl::FailedPreconditionError("decryption materials already hold a data key");
  }
  return absl::OkStatus();
}

// Encrypt wraps an existing data key (the keyring is not the generator).
absl::Status WrapExisting(KmsClient& client, const std::string& key_id,
                          const std::vector<std::string>& grant_tokens,
                          EncryptionMaterials& materials) {
  EncryptRequest req;
  req.key_id = key_id;
  req.plaintext = materials.plaintext_data_key->Clone();
  req.encryption_context = materials.encryption_context;
  req.grant_tokens = grant_tokens;
  VEIL_ASSIGN_OR_RETURN(EncryptResponse resp, client.Encrypt(req));
  VEIL_RETURN_IF_ERROR(CheckAnsweredKeyArn("Encrypt", resp.key_id));
  materials.encrypted_data_keys.push_back(MakeEdk(resp.key_id, std::move(resp.ciphertext_blob)));
  return absl::OkStatus();
}

// DecryptEdk asks KMS to Decrypt one EDK under `key_id` and checks the answer
// (brief 12.3): the response must name `key_id` and the data key must have
// the suite's length. `extract` takes the data key out of the response
// (Plaintext, or CiphertextForRecipient opened inside the enclave).
absl::StatusOr<SecretBytes> DecryptEdk(
    KmsClient& client, const std::string& key_id, const EncryptedDataKey& edk,
    const DecryptionMaterials& materials, const std::vector<std::string>& grant_tokens,
    std::optional<Recipient> recipient,
    absl::FunctionRef<absl::StatusOr<SecretBytes>(DecryptResponse&)> extract) {
  DecryptRequest req;
  req.key_id = key_id;
  req.ciphertext_blob = edk.ciphertext;
  req.encryption_context = materials.encryption_context;
  req.grant_tokens = grant_tokens;
  req.recipient = std::move(recipient);
  VEIL_ASSIGN_OR_RETURN(DecryptResponse resp, client.Decrypt(req));
  //= framework/aws-kms/aws-kms-keyring.md#ondecrypt
  //# The `KeyId` field in the response MUST equal the configured AWS KMS key identifier.
  if (resp.key_id != key_id) {
    return absl::InternalError("KMS Decrypt answered for key '" + resp.key_id + "', not '" +
                               key_id + "'");
  }
  VEIL_ASSIGN_OR_RETURN(SecretBytes pdk, extract(resp));
  VEIL_RETURN_IF_ERROR(CheckLength("Decrypt", pdk, materials.suite->key_length));
  return pdk;
}

absl::StatusOr<SecretBytes> TakePlaintext(DecryptResponse& resp) {
  return std::move(resp.plaintext);
}

}  // namespace

// ---------------------------------------------------------------------------
// KmsKeyring

absl::StatusOr<std::unique_ptr<KmsKeyring>> KmsKeyring::Create(
    std::shared_ptr<KmsClient> client, std::string key_id, std::vector<std::string> grant_tokens) {
  if (client == nullptr) return absl::InvalidArgumentError("KMS keyring needs a client");
  VEIL_RETURN_IF_ERROR(ValidateKmsKeyIdentifier(key_id));
  return std::unique_ptr<KmsKeyring>(
      new KmsKeyring(std::move(client), std::move(key_id), std::move(grant_tokens)));
}

absl::Status KmsKeyring::OnEncrypt(EncryptionMaterials& materials) const {
  if (materials.plaintext_data_key) {
    return WrapExisting(*client_, key_id_, grant_tokens_, materials);
  }
  // Spec: framework/aws-kms/aws-kms-keyring.md#onencrypt: no data key yet,
  // so GenerateDataKey with KeyId, NumberOfBytes (the KDF input length), the
  // full encryption context and the grant tokens.
  GenerateDataKeyRequest req;
  req.key_id = key_id_;
  req.number_of_bytes = static_cast<int32_t>(materials.suite->key_length);
  req.encryption_context = materials.encryption_context;
  req.grant_tokens = grant_tokens_;
  VEIL_ASSIGN_OR_RETURN(GenerateDataKeyResponse resp, client_->GenerateDataKey(req));
  VEIL_RETURN_IF_ERROR(CheckLength("GenerateDataKey", resp.plaintext, materials.suite->key_length));
  VEIL_RETURN_IF_ERROR(CheckAnsweredKeyArn("GenerateDataKey", resp.key_id));
  materials.encrypted_data_keys.push_back(MakeEdk(resp.key_id, std::move(resp.ciphertext_blob)));
  materials.plaintext_data_key = std::move(resp.plaintext);
  return absl::OkStatus();
}

absl::Status KmsKeyring::OnDecrypt(DecryptionMaterials& materials,
                                   absl::Span<const EncryptedDataKey> edks) const {
  VEIL_RETURN_IF_ERROR(CheckNoKey(materials));
  VEIL_ASSIGN_OR_RETURN(std::vector<const EncryptedDataKey*> candidates,
                        CandidateEdks(edks, key_id_));
  std::vector<absl::Status> errors;
  for (const EncryptedDataKey* edk : candidates) {
    absl::StatusOr<SecretBytes> pdk = DecryptEdk(*client_, key_id_, *edk, materials,
                                                 grant_tokens_, std::nullopt, TakePlaintext);
    if (!pdk.ok()) {
      errors.push_back(pdk.status());
      continue;
    }
    materials.plaintext_data_key = std::move(pdk).value();
    return absl::OkStatus();
  }
  if (candidates.empty() && !ParseKmsKeyArn(key_id_).ok()) {
    // Gotcha 13, explained where it bites.
    return absl::PermissionDeniedError(
        "KMS keyring for " + key_id_ +
        ": no aws-kms encrypted data key for this key; encrypted data keys name the key ARN "
        "KMS answered with, so a keyring that decrypts must be configured with a key ARN, not "
        "an alias or key id");
  }
  return NothingUnwrapped("KMS keyring for " + key_id_, errors);
}

// ---------------------------------------------------------------------------
// KmsDiscoveryKeyring

absl::StatusOr<std::unique_ptr<KmsDiscoveryKeyring>> KmsDiscoveryKeyring::Create(
    std::shared_ptr<KmsClient> client, std::optional<DiscoveryFilter> filter,
    std::vector<std::string> grant_tokens) {
  if (client == nullptr) return absl::InvalidArgumentError("KMS discovery keyring needs a client");
  if (filter.has_value() && (filter->partition.empty() || filter->accounts.empty() ||
                             filter->accounts.count("") > 0)) {
    return absl::InvalidArgumentError(
        "KMS discovery filter needs a partition and at least one non-empty account");
  }
  return std::unique_ptr<KmsDiscoveryKeyring>(
      new KmsDiscoveryKeyring(std::move(client), std::move(filter), std::move(grant_tokens)));
}

absl::Status KmsDiscoveryKeyring::OnEncrypt(EncryptionMaterials&) const {
  //= framework/aws-kms/aws-kms-discovery-keyring.md#onencrypt
  //# This function MUST fail.
  return absl::FailedPreconditionError("a KMS discovery keyring cannot encrypt");
}

absl::Status KmsDiscoveryKeyring::OnDecrypt(DecryptionMaterials& materials,
                                            absl::Span<const EncryptedDataKey> edks) const {
  VEIL_RETURN_IF_ERROR(CheckNoKey(materials));
  VEIL_ASSIGN_OR_RETURN(std::vector<const EncryptedDataKey*> candidates, CandidateEdks(edks, ""));
  std::vector<absl::Status> errors;
  for (const EncryptedDataKey* edk : candidates) {
    const std::string arn_text = ProviderInfoText(*edk);
    VEIL_ASSIGN_OR_RETURN(KmsArn arn, ParseKmsKeyArn(arn_text));
    //= framework/aws-kms/aws-kms-discovery-keyring.md#ondecrypt
    //# If a discovery filter is configured, its partition and the provider info partition MUST match.
    //# If a discovery filter is configured, its set of accounts MUST contain the provider info account.
    if (filter_.has_value() &&
        (arn.partition != filter_->partition || filter_->accounts.count(arn.account) == 0)) {
      continue;
    }
    absl::StatusOr<SecretBytes> pdk = DecryptEdk(*client_, arn_text, *edk, materials,
                                                 grant_tokens_, std::nullopt, TakePlaintext);
    if (!pdk.ok()) {
      errors.push_back(pdk.status());
      continue;
    }
    materials.plaintext_data_key = std::move(pdk).value();
    return absl::OkStatus();
  }
  return NothingUnwrapped("KMS discovery keyring", errors);
}

// ---------------------------------------------------------------------------
// KmsRecipientKeyring

absl::StatusOr<std::unique_ptr<KmsRecipientKeyring>> KmsRecipientKeyring::Create(
    std::shared_ptr<KmsClient> client, std::string key_id, AttestationSource attestation,
    std::vector<std::string> grant_tokens) {
  if (client == nullptr) return absl::InvalidArgumentError("KMS recipient keyring needs a client");
  if (!attestation) {
    return absl::InvalidArgumentError("KMS recipient keyring needs an attestation source");
  }
  VEIL_RETURN_IF_ERROR(ValidateKmsKeyIdentifier(key_id));
  // RSA-2048 is what KMS requires of a Recipient's public key.
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<crypto::RsaPrivateKey> key,
                        crypto::RsaPrivateKey::Generate(2048));
  return Create(std::move(client), std::move(key_id), std::move(attestation),
                std::shared_ptr<const crypto::RsaPrivateKey>(std::move(key)),
                std::move(grant_tokens));
}

absl::StatusOr<std::unique_ptr<KmsRecipientKeyring>> KmsRecipientKeyring::Create(
    std::shared_ptr<KmsClient> client, std::string key_id, AttestationSource attestation,
    std::shared_ptr<const crypto::RsaPrivateKey> key, std::vector<std::string> grant_tokens) {
  if (client == nullptr) return absl::InvalidArgumentError("KMS recipient keyring needs a client");
  if (!attestation) {
    return absl::InvalidArgumentError("KMS recipient keyring needs an attestation source");
  }
  if (key == nullptr) return absl::InvalidArgumentError("KMS recipient keyring needs a key pair");
  VEIL_RETURN_IF_ERROR(ValidateKmsKeyIdentifier(key_id));
  VEIL_ASSIGN_OR_RETURN(std::string pem, key->PublicKeyPem());
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<crypto::RsaPublicKey> public_key,
                        crypto::RsaPublicKey::FromPem(pem));
  if (public_key->ModulusBits() != 2048) {
    return absl::InvalidArgumentError(
        "KMS recipient keyring needs an RSA-2048 key (KMS accepts no other size), got " +
        std::to_string(public_key->ModulusBits()) + " bits");
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> spki, crypto::RecipientPublicKeyDer(*key));
  return std::unique_ptr<KmsRecipientKeyring>(
      new KmsRecipientKeyring(std::move(client), std::move(key_id), std::move(attestation),
                              std::move(grant_tokens), std::move(key), std::move(spki)));
}

absl::StatusOr<Recipient> KmsRecipientKeyring::NewRecipient() const {
  absl::StatusOr<std::vector<uint8_t>> doc = attestation_(public_key_);
  if (!doc.ok()) {
    return absl::Status(doc.status().code(), "cannot get an attestation document for the KMS "
                                             "Recipient: " + std::string(doc.status().message()));
  }
  if (doc->empty()) return absl::InternalError("the attestation source returned an empty document");
  return Recipient{key_encryption_algorithm::kRsaesOaepSha256, std::move(doc).value()};
}

absl::StatusOr<SecretBytes> KmsRecipientKeyring::OpenForRecipient(
    const char* operation, const SecretBytes& plaintext,
    absl::Span<const uint8_t> for_recipient) const {
  // A key service that ignores Recipient releases the key outside the
  // attestation policy; whatever it returned is not used.
  if (!plaintext.empty()) {
    return absl::FailedPreconditionError(
        std::string("KMS ") + operation +
        " returned Plaintext for a Recipient request: the key service ignored the attestation");
  }
  if (for_recipient.empty()) {
    return absl::InternalError(std::string("KMS ") + operation +
                               " returned no CiphertextForRecipient");
  }
  return crypto::DecryptEnvelopedData(for_recipient, *key_);
}

absl::Status KmsRecipientKeyring::OnEncrypt(EncryptionMaterials& materials) const {
  if (materials.plaintext_data_key) {
    return WrapExisting(*client_, key_id_, grant_tokens_, materials);
  }
  GenerateDataKeyRequest req;
  req.key_id = key_id_;
  req.number_of_bytes = static_cast<int32_t>(materials.suite->key_length);
  req.encryption_context = materials.encryption_context;
  req.grant_tokens = grant_tokens_;
  VEIL_ASSIGN_OR_RETURN(req.recipient, NewRecipient());
  VEIL_ASSIGN_OR_RETURN(GenerateDataKeyResponse resp, client_->GenerateDataKey(req));
  VEIL_ASSIGN_OR_RETURN(SecretBytes pdk, OpenForRecipient("GenerateDataKey", resp.plaintext,
                                                          resp.ciphertext_for_recipient));
  VEIL_RETURN_IF_ERROR(CheckLength("GenerateDataKey", pdk, materials.suite->key_length));
  VEIL_RETURN_IF_ERROR(CheckAnsweredKeyArn("GenerateDataKey", resp.key_id));
  materials.encrypted_data_keys.push_back(MakeEdk(resp.key_id, std::move(resp.ciphertext_blob)));
  materials.plaintext_data_key = std::move(pdk);
  return absl::OkStatus();
}

absl::Status KmsRecipientKeyring::OnDecrypt(DecryptionMaterials& materials,
                                            absl::Span<const EncryptedDataKey> edks) const {
  VEIL_RETURN_IF_ERROR(CheckNoKey(materials));
  VEIL_ASSIGN_OR_RETURN(std::vector<const EncryptedDataKey*> candidates,
                        CandidateEdks(edks, key_id_));
  std::vector<absl::Status> errors;
  for (const EncryptedDataKey* edk : candidates) {
    VEIL_ASSIGN_OR_RETURN(Recipient recipient, NewRecipient());
    absl::StatusOr<SecretBytes> pdk =
        DecryptEdk(*client_, key_id_, *edk, materials, grant_tokens_, std::move(recipient),
                   [this](DecryptResponse& resp) {
                     return OpenForRecipient("Decrypt", resp.plaintext,
                                             resp.ciphertext_for_recipient);
                   });
    if (!pdk.ok()) {
      errors.push_back(pdk.status());
      continue;
    }
    materials.plaintext_data_key = std::move(pdk).value();
    return absl::OkStatus();
  }
  return NothingUnwrapped("KMS recipient keyring for " + key_id_, errors);
}

}  // namespace veil::kms
