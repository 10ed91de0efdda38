// InferencePipeline: one infer request, from ESDK ciphertext to ESDK
// ciphertext. The only place a plaintext image exists.
//
//  1. The tenant's keyring (the host authenticated the tenant; the enclave
//     only trusts that as a claim to check).
//  2. Before any key is unwrapped, the message's encryption context must
//     name that tenant, purpose=ml-inference, the request id the host
//     relayed, and an expiry that has not passed and is at most max_ttl
//     ahead; the (tenant, request id) pair is reserved in the replay cache.
//  3. Decrypt, all or nothing, reproducing {tenant, purpose, request} so the
//     ESDK also checks them after authentication. A failure releases the
//     reservation (a forged copy cannot burn a genuine id); success spends it.
//  4. Detect (image intake, model). An image the detector refuses becomes an
//     encrypted error result for the tenant, never plaintext for the host.
//  5. Encrypt the result JSON under the tenant's key with context
//     {tenant, purpose=ml-inference-result, request}.
//  6. Every plaintext buffer is wiped before Handle returns.
//
// Failures reach the host as a wire::ErrorCode and nothing else.
#ifndef VEIL_ENCLAVE_PIPELINE_H_
#define VEIL_ENCLAVE_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/common/secret_bytes.h"
#include "veil/enclave/key_provider.h"
#include "veil/enclave/replay_cache.h"
#include "veil/inference/detector.h"
#include "veil/wire/messages.h"

namespace veil::enclave {

inline constexpr char kContextTenant[] = "tenant";
inline constexpr char kContextPurpose[] = "purpose";
inline constexpr char kContextRequest[] = "request";
inline constexpr char kContextExpires[] = "expires";
inline constexpr char kPurposeInference[] = "ml-inference";
inline constexpr char kPurposeResult[] = "ml-inference-result";

struct PipelineOptions {
  absl::Duration max_ttl = absl::Minutes(15);
  std::function<absl::Time()> clock;  // absl::Now when empty
  inference::DetectOptions detect;
  // The suite of result messages: committing, unsigned (0x0478). Results go
  // to the tenant who holds the key; a signature would add ~1.5 ms per
  // request and authenticate nothing the key commitment does not.
  uint16_t result_suite = 0x0478;
};

// Outcome is the encrypted result or the code the host receives.
using Outcome = std::variant<std::vector<uint8_t>, wire::ErrorCode>;

class InferencePipeline {
 public:
  InferencePipeline(const KeyProvider* keys, const inference::Detector* detector,
                    ReplayCache* replay, PipelineOptions options);

  // Handle runs one request. Thread-safe.
  Outcome Handle(const wire::InferRequest& request) const;

  // PlaintextObserver, when set (tests only), is called with every
  // plaintext buffer (decrypted image, result JSON) right after it has been
  // wiped in place and before it is released, so a test can check that no
  // byte of it survives.
  using PlaintextObserver = std::function<void(const uint8_t* data, size_t size)>;
  void set_plaintext_observer_for_testing(PlaintextObserver observer) {
    observer_ = std::move(observer);
  }

 private:
  void WipeAndObserve(SecretBytes& buffer) const;

  const KeyProvider* keys_;
  const inference::Detector* detector_;
  ReplayCache* replay_;
  const PipelineOptions options_;
  PlaintextObserver observer_;
};

// ParseExpiry parses the `expires` context value: RFC 3339 with a time zone
// ("2026-11-24T10:00:00Z"). InvalidArgument otherwise.
absl::StatusOr<absl::Time> ParseExpiry(const std::string& text);

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_PIPELINE_H_
