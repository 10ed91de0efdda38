// FakeKmsClient: an in-memory KmsClient for tests (STYLE.md C11: a working
// fake with its own test). It keeps symmetric keys and aliases, really
// encrypts (AES-256-GCM bound to the encryption context), honours Recipient
// by answering with CiphertextForRecipient, and records every call so that
// tests can check the request fields a keyring sent.
#ifndef VEIL_KMS_TESTING_FAKE_KMS_CLIENT_H_
#define VEIL_KMS_TESTING_FAKE_KMS_CLIENT_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/kms/client.h"

namespace veil::kms::testing {

// FakeKmsCall is what the fake recorded about one call.
struct FakeKmsCall {
  std::string operation;  // "GenerateDataKey", ...
  std::string key_id;     // as sent (DestinationKeyId for ReEncrypt)
  EncryptionContext encryption_context;
  std::vector<std::string> grant_tokens;
  std::optional<int32_t> number_of_bytes;
  std::optional<Recipient> recipient;
  std::vector<uint8_t> ciphertext_blob;
};

// FakeKmsClient implements the cryptographic operations (Encrypt, Decrypt,
// ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext,
// GenerateRandom) and key and alias management (CreateKey, DescribeKey,
// ListKeys, aliases, Enable/DisableKey); the policy and rotation
// operations answer UnsupportedOperationException. Errors use AWS's types
// (NotFoundException, DisabledException, IncorrectKeyException,
// InvalidCiphertextException). Thread-safe.
class FakeKmsClient : public KmsClient {
 public:
  // RecipientKeyFn extracts the recipient's RSA SPKI DER from an attestation
  // document. The default treats the document bytes as the SPKI itself, so
  // tests need no real attestation.
  using RecipientKeyFn =
      std::function<absl::StatusOr<std::vector<uint8_t>>(absl::Span<const uint8_t> document)>;

  explicit FakeKmsClient(std::string region = "us-west-2", std::string account = "111122223333");
  ~FakeKmsClient() override;

  // AddKey creates an enabled symmetric key and returns its ARN.
  std::string AddKey();
  // AddAlias points "alias/<name>" at a key.
  void AddAlias(const std::string& alias_name, const std::string& key_arn);

  // Calls returns every call so far, in order; ClearCalls forgets them.
  std::vector<FakeKmsCall> Calls() const;
  void ClearCalls();

  // FailNext makes the next call of `operation` fail with `status`.
  void FailNext(const std::string& operation, absl::Status status);
  // set_ignore_recipient makes the fake answer Plaintext even when a
  // Recipient is given (a key service that ignores the parameter).
  void set_ignore_recipient(bool ignore);
  // set_answer_key_id makes every answer claim this KeyId (a misbehaving
  // service); empty restores the truth.
  void set_answer_key_id(std::string key_id);
  void set_recipient_key_fn(RecipientKeyFn fn);

  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  absl::StatusOr<DecryptResponse> Decrypt(const DecryptRequest& request) override;
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest& request) override;
  absl::StatusOr<GenerateDataKeyResponse> GenerateDataKey(
      const GenerateDataKeyRequest& request) override;
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyWithoutPlaintextRequest& request) override;
  absl::StatusOr<GenerateRandomResponse> GenerateRandom(
      const GenerateRandomRequest& request) override;
  absl::StatusOr<CreateKeyResponse> CreateKey(const CreateKeyRequest& request) override;
  absl::StatusOr<DescribeKeyResponse> DescribeKey(const DescribeKeyRequest& request) override;
  absl::StatusOr<ListKeysResponse> ListKeys(const ListKeysRequest& request) override;
  absl::Status CreateAlias(const CreateAliasRequest& request) override;
  absl::Status UpdateAlias(const UpdateAliasRequest& request) override;
  absl::Status DeleteAlias(const DeleteAliasRequest& request) override;
  absl::StatusOr<ListAliasesResponse> ListAliases(const ListAliasesRequest& request) override;
  absl::StatusOr<GetKeyPolicyResponse> GetKeyPolicy(const GetKeyPolicyRequest& request) override;
  absl::Status PutKeyPolicy(const PutKeyPolicyRequest& request) override;
  absl::Status EnableKey(const EnableKeyRequest& request) override;
  absl::Status DisableKey(const DisableKeyRequest& request) override;
  absl::StatusOr<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(
      const ScheduleKeyDeletionRequest& request) override;
  absl::StatusOr<CancelKeyDeletionResponse> CancelKeyDeletion(
      const CancelKeyDeletionRequest& request) override;
  absl::Status EnableKeyRotation(const EnableKeyRotationRequest& request) override;
  absl::Status DisableKeyRotation(const DisableKeyRotationRequest& request) override;
  absl::StatusOr<GetKeyRotationStatusResponse> GetKeyRotationStatus(
      const GetKeyRotationStatusRequest& request) override;

 private:
  struct Key;
  struct State;

  // Begin records a call and returns the injected failure, if any.
  absl::Status Begin(FakeKmsCall call);
  absl::StatusOr<const Key*> Resolve(const std::string& key_id) const;
  absl::StatusOr<const Key*> ResolveEnabled(const std::string& key_id) const;
  absl::StatusOr<std::vector<uint8_t>> Seal(const Key& key, const EncryptionContext& ec,
                                            const SecretBytes& plaintext) const;
  // Open returns the key a blob was made under and its plaintext.
  absl::StatusOr<std::pair<const Key*, SecretBytes>> Open(absl::Span<const uint8_t> blob,
                                                          const EncryptionContext& ec) const;
  // ForRecipient encrypts `plaintext` to a Recipient's key.
  absl::StatusOr<std::vector<uint8_t>> ForRecipient(const Recipient& recipient,
                                                    const SecretBytes& plaintext) const;
  std::string AnswerKeyId(const Key& key) const;

  std::string region_;
  std::string account_;
  mutable std::mutex mu_;
  std::unique_ptr<State> state_;
};

}  // namespace veil::kms::testing

#endif  // VEIL_KMS_TESTING_FAKE_KMS_CLIENT_H_
