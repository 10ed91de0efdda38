// EnclaveApp: veil-enclave wired together from its configuration. main()
// only parses flags and waits for a signal; tests build the same object
// in-process.
//
// At start, in this order: the NSM (device, simulator socket or mock) and
// OpenSSL's DRBG seeded from its generator; the ephemeral RSA-2048 key pair
// whose private half never leaves this object and whose public half is the
// `public_key` of every attestation document; the model (digest checked);
// the keys for the configured tier (with the in-enclave forwarder to the
// parent's KMS byte proxy when configured); the pipeline and the channel.
#ifndef VEIL_ENCLAVE_ENCLAVE_APP_H_
#define VEIL_ENCLAVE_ENCLAVE_APP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/attestation/nsm/nsm_device.h"
#include "veil/crypto/rsa.h"
#include "veil/enclave/config.h"
#include "veil/enclave/key_provider.h"
#include "veil/enclave/pipeline.h"
#include "veil/enclave/refreshable_kms_client.h"
#include "veil/enclave/replay_cache.h"
#include "veil/enclave/server.h"
#include "veil/inference/detector.h"
#include "veil/proxy/byte_proxy.h"

namespace veil::enclave {

struct AppOptions {
  std::function<absl::Time()> clock;  // absl::Now when empty
  // For tests: used instead of opening the configured NSM.
  std::unique_ptr<attestation::nsm::NsmDevice> nsm;
  // For tests: used instead of the OpenCV runner built from the model.
  std::unique_ptr<inference::ModelRunner> runner;
};

class EnclaveApp {
 public:
  static absl::StatusOr<std::unique_ptr<EnclaveApp>> Create(EnclaveConfig config,
                                                            AppOptions options = {});
  ~EnclaveApp();

  void Stop();

  const EnclaveConfig& config() const { return config_; }
  // The DER SubjectPublicKeyInfo of the enclave's ephemeral key.
  const std::vector<uint8_t>& public_key_der() const { return public_key_der_; }
  const inference::ModelManifest& model() const { return detector_->manifest(); }
  InferencePipeline& pipeline() { return *pipeline_; }
  // Attest returns a fresh document binding the enclave key, `nonce` and
  // `user_data`.
  absl::StatusOr<std::vector<uint8_t>> Attest(std::optional<absl::Span<const uint8_t>> nonce,
                                              std::optional<absl::Span<const uint8_t>> user_data);
  wire::HealthResponse Health() const;

 private:
  explicit EnclaveApp(EnclaveConfig config) : config_(std::move(config)) {}
  absl::Status BuildKeys(AppOptions& options);

  const EnclaveConfig config_;
  std::function<absl::Time()> clock_;
  std::shared_ptr<attestation::nsm::NsmDevice> nsm_;
  std::shared_ptr<const crypto::RsaPrivateKey> key_;
  std::vector<uint8_t> public_key_der_;
  std::unique_ptr<inference::Detector> detector_;
  std::shared_ptr<RefreshableKmsClient> kms_;
  std::unique_ptr<proxy::ByteProxy> kms_forwarder_;
  std::unique_ptr<KeyProvider> keys_;
  std::unique_ptr<ReplayCache> replay_;
  std::unique_ptr<InferencePipeline> pipeline_;
  std::unique_ptr<EnclaveServer> server_;
};

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_ENCLAVE_APP_H_
