// FakeKmsServer: serves a KmsClient implementation (normally FakeKmsClient)
// over the AWS JSON 1.1 protocol on 127.0.0.1, verifying SigV4 on every
// request, so that tests can drive HttpKmsClient, the `veil` CLI or an AWS
// SDK end to end without a key service.
#ifndef VEIL_KMS_TESTING_FAKE_KMS_SERVER_H_
#define VEIL_KMS_TESTING_FAKE_KMS_SERVER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "veil/kms/client.h"

namespace veil::kms::testing {

class FakeKmsServer {
 public:
  // Start listens on an ephemeral port. `credentials` maps access key ids to
  // secret keys; `region` is the one SigV4 scopes must name.
  static absl::StatusOr<std::unique_ptr<FakeKmsServer>> Start(
      std::shared_ptr<KmsClient> backend, std::map<std::string, std::string> credentials,
      std::string region);
  ~FakeKmsServer();

  // url is "http://127.0.0.1:<port>".
  std::string url() const;
  // requests counts the requests that passed SigV4.
  int requests() const { return requests_.load(); }

 private:
  struct Impl;
  explicit FakeKmsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<int> requests_{0};
};

}  // namespace veil::kms::testing

#endif  // VEIL_KMS_TESTING_FAKE_KMS_SERVER_H_
