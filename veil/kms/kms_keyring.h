// ESDK keyrings backed by AWS KMS: the standard AWS KMS keyring, the
// discovery keyring, and KmsRecipientKeyring, which keeps plaintext data
// keys inside an attested enclave. All three read and write standard
// `aws-kms` encrypted data keys, so their messages interoperate with the
// official AWS Encryption SDKs.
//
// Spec: ../shared/specs/esdk-message-format.md section 12.3
// (framework/aws-kms/aws-kms-keyring.md, aws-kms-discovery-keyring.md) and
// ../shared/specs/nitro-attestation-nsm-kms.md section 4 (Recipient).
#ifndef VEIL_KMS_KMS_KEYRING_H_
#define VEIL_KMS_KMS_KEYRING_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/crypto/rsa.h"
#include "veil/esdk/keyring.h"
#include "veil/kms/client.h"

namespace veil::kms {

// kKmsProviderId is the provider id of every KMS-wrapped data key.
inline constexpr char kKmsProviderId[] = "aws-kms";

// KmsKeyring wraps data keys with one KMS key (brief section 12.3).
//
// OnEncrypt calls GenerateDataKey (no data key yet) or Encrypt (a data key
// from an earlier keyring) with the configured KeyId, the materials' full
// encryption context and the grant tokens, and records an `aws-kms` EDK
// whose provider info is the key ARN KMS answered with.
//
// OnDecrypt considers `aws-kms` EDKs only; an EDK whose provider info is not
// a KMS key ARN is an error (InvalidArgument), not skipped. It calls Decrypt
// for each EDK whose provider info equals the configured identifier and
// accepts the first answer whose KeyId equals it and whose plaintext has the
// suite's length. Because of that comparison, a keyring that decrypts must
// be configured with the key ARN: an alias never matches (brief section 14,
// gotcha 13). When nothing unwraps it fails (PermissionDenied unless every
// attempt failed the same way) with every error collected.
//
// Thread-safe if the client is.
class KmsKeyring : public esdk::Keyring {
 public:
  // Create fails (InvalidArgument) for a null client or an identifier that
  // is not a key ARN, alias ARN, alias name or key id.
  static absl::StatusOr<std::unique_ptr<KmsKeyring>> Create(
      std::shared_ptr<KmsClient> client, std::string key_id,
      std::vector<std::string> grant_tokens = {});

  absl::Status OnEncrypt(esdk::EncryptionMaterials& materials) const override;
  absl::Status OnDecrypt(esdk::DecryptionMaterials& materials,
                         absl::Span<const esdk::EncryptedDataKey> edks) const override;

  const std::string& key_id() const { return key_id_; }

 private:
  KmsKeyring(std::shared_ptr<KmsClient> client, std::string key_id,
             std::vector<std::string> grant_tokens)
      : client_(std::move(client)),
        key_id_(std::move(key_id)),
        grant_tokens_(std::move(grant_tokens)) {}

  std::shared_ptr<KmsClient> client_;
  std::string key_id_;
  std::vector<std::string> grant_tokens_;
};

// DiscoveryFilter restricts a discovery keyring to keys in one partition
// and a set of accounts.
struct DiscoveryFilter {
  std::string partition;          // e.g. "aws"
  std::set<std::string> accounts; // non-empty
};

// KmsDiscoveryKeyring decrypts any `aws-kms` EDK by asking KMS to Decrypt
// with the key ARN in its provider info, optionally only for keys whose ARN
// matches a DiscoveryFilter. It cannot encrypt (FailedPrecondition). A
// provider info that is not a key ARN is an error. One client serves every
// region, so EDKs for keys in other regions fail at KMS and are collected
// with the other errors. Thread-safe if the client is.
class KmsDiscoveryKeyring : public esdk::Keyring {
 public:
  // Create fails (InvalidArgument) for a null client or a filter with an
  // empty partition or no accounts.
  static absl::StatusOr<std::unique_ptr<KmsDiscoveryKeyring>> Create(
      std::shared_ptr<KmsClient> client, std::optional<DiscoveryFilter> filter = std::nullopt,
      std::vector<std::string> grant_tokens = {});

  absl::Status OnEncrypt(esdk::EncryptionMaterials& materials) const override;
  absl::Status OnDecrypt(esdk::DecryptionMaterials& materials,
                         absl::Span<const esdk::EncryptedDataKey> edks) const override;

 private:
  KmsDiscoveryKeyring(std::shared_ptr<KmsClient> client, std::optional<DiscoveryFilter> filter,
                      std::vector<std::string> grant_tokens)
      : client_(std::move(client)),
        filter_(std::move(filter)),
        grant_tokens_(std::move(grant_tokens)) {}

  std::shared_ptr<KmsClient> client_;
  std::optional<DiscoveryFilter> filter_;
  std::vector<std::string> grant_tokens_;
};

// AttestationSource returns a fresh attestation document (COSE_Sign1) whose
// `public_key` is `public_key_spki_der`. Inside a Nitro Enclave it asks the
// NSM; in tests it may be anything the key service under test accepts.
using AttestationSource = std::function<absl::StatusOr<std::vector<uint8_t>>(
    absl::Span<const uint8_t> public_key_spki_der)>;

// KmsRecipientKeyring is the KMS keyring for use inside an enclave. It
// holds an ephemeral RSA-2048 key pair, generated in Create or shared by
// the enclave's keyrings, whose private half never leaves the enclave, and
// sends every Decrypt and GenerateDataKey
// with a Recipient: a fresh attestation document binding that key. KMS then
// answers with CiphertextForRecipient (CMS EnvelopedData to the key), which
// only this keyring can open, so plaintext data keys exist only in the
// enclave. An answer that carries Plaintext despite the Recipient (a key
// service that ignores the parameter) is refused (FailedPrecondition).
// Data keys that already exist (multi-keyring children) are wrapped with
// Encrypt, which needs no Recipient. EDKs and decryption rules are those of
// KmsKeyring. Thread-safe if the client and the attestation source are.
class KmsRecipientKeyring : public esdk::Keyring {
 public:
  // Create generates a key pair for this keyring alone. It fails
  // (InvalidArgument) for a null client or attestation source or an invalid
  // identifier.
  static absl::StatusOr<std::unique_ptr<KmsRecipientKeyring>> Create(
      std::shared_ptr<KmsClient> client, std::string key_id, AttestationSource attestation,
      std::vector<std::string> grant_tokens = {});

  // Create with `key` uses that key pair instead: the enclave's one
  // ephemeral key, generated at start and shared by the keyrings of all
  // tenants, whose public half its attestation documents carry. The keyring
  // shares ownership of the key. Fails (InvalidArgument) as the overload
  // above does, and for a null key or one that is not RSA-2048 (the only
  // size KMS accepts for a Recipient).
  static absl::StatusOr<std::unique_ptr<KmsRecipientKeyring>> Create(
      std::shared_ptr<KmsClient> client, std::string key_id, AttestationSource attestation,
      std::shared_ptr<const crypto::RsaPrivateKey> key,
      std::vector<std::string> grant_tokens = {});

  absl::Status OnEncrypt(esdk::EncryptionMaterials& materials) const override;
  absl::Status OnDecrypt(esdk::DecryptionMaterials& materials,
                         absl::Span<const esdk::EncryptedDataKey> edks) const override;

  // public_key_spki_der is the DER SubjectPublicKeyInfo attestation
  // documents must carry.
  const std::vector<uint8_t>& public_key_spki_der() const { return public_key_; }

 private:
  KmsRecipientKeyring(std::shared_ptr<KmsClient> client, std::string key_id,
                      AttestationSource attestation, std::vector<std::string> grant_tokens,
                      std::shared_ptr<const crypto::RsaPrivateKey> key,
                      std::vector<uint8_t> public_key)
      : client_(std::move(client)),
        key_id_(std::move(key_id)),
        attestation_(std::move(attestation)),
        grant_tokens_(std::move(grant_tokens)),
        key_(std::move(key)),
        public_key_(std::move(public_key)) {}

  absl::StatusOr<Recipient> NewRecipient() const;
  // OpenForRecipient decrypts a CiphertextForRecipient answer.
  absl::StatusOr<SecretBytes> OpenForRecipient(const char* operation,
                                               const SecretBytes& plaintext,
                                               absl::Span<const uint8_t> for_recipient) const;

  std::shared_ptr<KmsClient> client_;
  std::string key_id_;
  AttestationSource attestation_;
  std::vector<std::string> grant_tokens_;
  std::shared_ptr<const crypto::RsaPrivateKey> key_;
  std::vector<uint8_t> public_key_;
};

}  // namespace veil::kms

#endif  // VEIL_KMS_KMS_KEYRING_H_
