// RefreshableKmsClient: a KmsClient whose AWS credentials the parent pushes
// over the channel (wire `credentials`), as Nitro applications receive
// short-lived credentials from their parent instance. Each Update builds a
// new HttpKmsClient; calls in flight finish on the old one. Before the first
// Update, and after the credentials' expiration, every call fails with
// Unavailable.
#ifndef VEIL_ENCLAVE_REFRESHABLE_KMS_CLIENT_H_
#define VEIL_ENCLAVE_REFRESHABLE_KMS_CLIENT_H_

#include <functional>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "veil/kms/client.h"

// VEIL_KMS_CLIENT_OPERATIONS(X) lists every KmsClient operation as
// X(Operation, ReturnType) (the request type is kms::<Operation>Request), so
// the forwarding below is declared and defined from one list.
#define VEIL_KMS_CLIENT_OPERATIONS(X) \
  X(Encrypt, absl::StatusOr<kms::EncryptResponse>) \
  X(Decrypt, absl::StatusOr<kms::DecryptResponse>) \
  X(ReEncrypt, absl::StatusOr<kms::ReEncryptResponse>) \
  X(GenerateDataKey, absl::StatusOr<kms::GenerateDataKeyResponse>) \
  X(GenerateDataKeyWithoutPlaintext, absl::StatusOr<kms::GenerateDataKeyWithoutPlaintextResponse>) \
  X(GenerateRandom, absl::StatusOr<kms::GenerateRandomResponse>) \
  X(CreateKey, absl::StatusOr<kms::CreateKeyResponse>) \
  X(DescribeKey, absl::StatusOr<kms::DescribeKeyResponse>) \
  X(ListKeys, absl::StatusOr<kms::ListKeysResponse>) \
  X(CreateAlias, absl::Status) \
  X(UpdateAlias, absl::Status) \
  X(DeleteAlias, absl::Status) \
  X(ListAliases, absl::StatusOr<kms::ListAliasesResponse>) \
  X(GetKeyPolicy, absl::StatusOr<kms::GetKeyPolicyResponse>) \
  X(PutKeyPolicy, absl::Status) \
  X(EnableKey, absl::Status) \
  X(DisableKey, absl::Status) \
  X(ScheduleKeyDeletion, absl::StatusOr<kms::ScheduleKeyDeletionResponse>) \
  X(CancelKeyDeletion, absl::StatusOr<kms::CancelKeyDeletionResponse>) \
  X(EnableKeyRotation, absl::Status) \
  X(DisableKeyRotation, absl::Status) \
  X(GetKeyRotationStatus, absl::StatusOr<kms::GetKeyRotationStatusResponse>)

namespace veil::enclave {

class RefreshableKmsClient final : public kms::KmsClient {
 public:
  // `base` gives endpoint, region, CA, connect_host, timeouts and retries;
  // its credentials are ignored.
  explicit RefreshableKmsClient(kms::HttpKmsClientOptions&& base,
                                std::function<absl::Time()> clock = {});

  // Update installs new credentials valid until `expiration`.
  absl::Status Update(kms::AwsCredentials credentials, absl::Time expiration);

#define VEIL_DECLARE_FORWARD(Op, Ret) Ret Op(const kms::Op##Request& request) override;
  VEIL_KMS_CLIENT_OPERATIONS(VEIL_DECLARE_FORWARD)
#undef VEIL_DECLARE_FORWARD

 private:
  absl::StatusOr<std::shared_ptr<kms::KmsClient>> Current() const;

  const kms::HttpKmsClientOptions base_;
  const std::function<absl::Time()> clock_;
  mutable std::mutex mu_;
  std::shared_ptr<kms::KmsClient> client_;  // guarded by mu_
  absl::Time expiration_;                   // guarded by mu_
};

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_REFRESHABLE_KMS_CLIENT_H_
