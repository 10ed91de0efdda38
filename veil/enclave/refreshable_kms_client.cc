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

#define VEIL_DEFINE_FORWARD(Op, Ret)                                          \
  Ret RefreshableKmsClient::Op(const kms::Op##Request& request) {               \
    VEIL_ASSIGN_OR_RETURN(std::shared_ptr<kms::KmsClient> client, Current()); \
    return client->Op(request);                                                \
  }
VEIL_KMS_CLIENT_OPERATIONS(VEIL_DEFINE_FORWARD)
#undef VEIL_DEFINE_FORWARD

}  // namespace veil::enclave
