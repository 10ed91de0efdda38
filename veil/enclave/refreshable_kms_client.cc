#include "veil/enclave/refreshable_kms_client.h"

#include <utility>

#include "veil/common/status_macros.h"

namespace veil::enclave {

RefreshableKmsClient::RefreshableKmsClient(kms::HttpKmsClientOptions&& base,
                                           std::function<absl::Time()> clock)
    : base_(std::move(base)),
      clock_(clock ? std::move(clock) : std::function<absl::Time()>([] { return absl::Now(); })) {}

absl::Status RefreshableKmsClient::Update(kms::AwsCredentials credentials, absl::Time expiration) {
  if (expiration <= clock_()) {
    return absl::InvalidArgumentError("the pushed credentials have already expired");
  }
  kms::HttpKmsClientOptions options;
  options.endpoint = base_.endpoint;
  options.region = base_.region;
  options.ca_file = base_.ca_file;
  options.connect_host = base_.connect_host;
  options.connect_timeout = base_.connect_timeout;
  options.timeout = base_.timeout;
  options.retry = base_.retry;
  options.user_agent = base_.user_agent;
  options.credentials = std::move(credentials);
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<kms::KmsClient> client,
                        kms::HttpKmsClient::Create(std::move(options)));
  std::lock_guard<std::mutex> lock(mu_);
  client_ = std::move(client);
  expiration_ = expiration;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<kms::KmsClient>> RefreshableKmsClient::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (client_ == nullptr) {
    return absl::UnavailableError("no AWS credentials yet: the parent has not pushed any");
  }
  if (clock_() >= expiration_) {
    return absl::UnavailableError("the AWS credentials pushed by the parent have expired");
  }
  return client_;
}

#define VEIL_FORWARD(Op, Req, Ret)                                  \
  Ret RefreshableKmsClient::Op(const kms::Req& request) {           \
    VEIL_ASSIGN_OR_RETURN(std::shared_ptr<kms::KmsClient> client, Current()); \
    return client->Op(request);                                     \
  }
VEIL_FORWARD(Encrypt, EncryptRequest, absl::StatusOr<kms::EncryptResponse>)
VEIL_FORWARD(Decrypt, DecryptRequest, absl::StatusOr<kms::DecryptResponse>)
VEIL_FORWARD(ReEncrypt, ReEncryptRequest, absl::StatusOr<kms::ReEncryptResponse>)
VEIL_FORWARD(GenerateDataKey, GenerateDataKeyRequest, absl::StatusOr<kms::GenerateDataKeyResponse>)
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

}  // namespace veil::enclave
