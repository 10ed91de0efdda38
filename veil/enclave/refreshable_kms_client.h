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

namespace veil::enclave {

class RefreshableKmsClient final : public kms::KmsClient {
 public:
  // `base` gives endpoint, region, CA, connect_host, timeouts and retries;
  // its credentials are ignored.
  explicit RefreshableKmsClient(kms::HttpKmsClientOptions&& base,
                                std::function<absl::Time()> clock = {});

  // Update installs new credentials valid until `expiration`.
  absl::Status Update(kms::AwsCredentials credentials, absl::Time expiration);

#define VEIL_FORWARD(Op, Req, Ret) Ret Op(const kms::Req& request) override;
  VEIL_FORWARD(Encrypt, EncryptRequest, absl::StatusOr<kms::EncryptResponse>)
  VEIL_FORWARD(Decrypt, DecryptRequest, absl::StatusOr<kms::DecryptResponse>)
  VEIL_FORWARD(ReEncrypt, ReEncryptRequest, absl::StatusOr<kms::ReEncryptResponse>)
  VEIL_FORWARD(GenerateDataKey, GenerateDataKeyRequest,
               absl::StatusOr<kms::GenerateDataKeyResponse>)
  VEIL_FORWARD(GenerateDataKeyWithoutPlaintext, GenerateDataKeyWithoutPlaintextRequest,
               absl::StatusOr<kms::GenerateDataKeyWithoutPlaintextResponse>)
  VEIL_FORWARD(GenerateRandom, GenerateRandomRequest, absl::StatusOr<kms::GenerateRandomResponse>)
  VEIL_FORWARD(CreateKey, CreateKeyRequest, absl::StatusOr<kms::CreateKeyResponse>)
  VEIL_FORWARD(DescribeKey, DescribeKeyRequest, absl::StatusOr<kms::DescribeKeyResponse>)
  VEIL_FORWARD(ListKeys, ListKeysRequest, absl::StatusOr<kms::ListKeysResponse>)
  VEIL_FORWARD(CreateAlias, CreateAliasRequest, absl::Status)
  VEIL_FORWARD(UpdateAlias, UpdateAliasRequest, absl::Status)
  VEIL_FORWARD(DeleteAlias, DeleteAliasRequest, absl::Status)
  VEIL_FORWARD(ListAliases, ListAliasesRequest, absl::StatusOr<kms::ListAliasesResponse>)
  VEIL_FORWARD(GetKeyPolicy, GetKeyPolicyRequest, absl::StatusOr<kms::GetKeyPolicyResponse>)
  VEIL_FORWARD(PutKeyPolicy, PutKeyPolicyRequest, absl::Status)
  VEIL_FORWARD(EnableKey, EnableKeyRequest, absl::Status)
  VEIL_FORWARD(DisableKey, DisableKeyRequest, absl::Status)
  VEIL_FORWARD(ScheduleKeyDeletion, ScheduleKeyDeletionRequest,
               absl::StatusOr<kms::ScheduleKeyDeletionResponse>)
  VEIL_FORWARD(CancelKeyDeletion, CancelKeyDeletionRequest,
               absl::StatusOr<kms::CancelKeyDeletionResponse>)
  VEIL_FORWARD(EnableKeyRotation, EnableKeyRotationRequest, absl::Status)
  VEIL_FORWARD(DisableKeyRotation, DisableKeyRotationRequest, absl::Status)
  VEIL_FORWARD(GetKeyRotationStatus, GetKeyRotationStatusRequest,
               absl::StatusOr<kms::GetKeyRotationStatusResponse>)
#undef VEIL_FORWARD

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
