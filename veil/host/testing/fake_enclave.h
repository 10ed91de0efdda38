// FakeEnclave: a small wire server standing in for veil-enclave in the
// host's tests. It answers infer by transforming the body (no crypto), attest
// with fixed bytes followed by the nonce, health with a fixed mock tier, and
// records credentials pushes. It can be made slow (infer_delay), busy (every
// infer answered `busy`) or down (Stop; Start again on the same endpoint to
// bring it back).
#ifndef VEIL_HOST_TESTING_FAKE_ENCLAVE_H_
#define VEIL_HOST_TESTING_FAKE_ENCLAVE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/wire/messages.h"
#include "veil/wire/scoped_fd.h"

namespace veil::host::testing {

inline constexpr char kFakeTier[] = "local (mock TEE, FAKE enclave for tests)";
inline constexpr char kGarbagePrefix[] = "garbage";

// CredentialsSeen is what the fake received in its last credentials push.
struct CredentialsSeen {
  std::string access_key_id;
  std::string secret_access_key;  // a test value, kept as text on purpose
  std::string session_token;
  absl::Time expiration;
};

class FakeEnclave {
 public:
  // Start listens on `endpoint` (wire/transport.h form) and serves.
  static absl::StatusOr<std::unique_ptr<FakeEnclave>> Start(const std::string& endpoint);
  ~FakeEnclave();  // Stop()

  // Stop closes the listener and every connection and joins the threads:
  // from the host's side, the enclave is down.
  void Stop();

  void set_infer_delay(absl::Duration d) { infer_delay_ns_.store(absl::ToInt64Nanoseconds(d)); }
  void set_busy(bool busy) { busy_.store(busy); }

  int infer_calls() const { return infer_calls_.load(); }
  int infer_running() const { return infer_running_.load(); }
  std::string last_tenant() const;
  std::string last_request_id() const;
  std::optional<CredentialsSeen> last_credentials() const;

  // Transform is what infer answers for `body`: "RESULT:" and every byte
  // XOR 0x5a.
  static std::vector<uint8_t> Transform(absl::Span<const uint8_t> body);
  // Document is the attest answer's fixed prefix; the nonce follows it.
  static std::vector<uint8_t> Document();

 private:
  FakeEnclave() = default;
  void AcceptLoop();
  void Serve(int fd);
  wire::Response Answer(wire::Request& request);

  wire::ScopedFd listener_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> infer_delay_ns_{0};
  std::atomic<bool> busy_{false};
  std::atomic<int> infer_calls_{0};
  std::atomic<int> infer_running_{0};
  mutable std::mutex mu_;
  std::string last_tenant_;
  std::string last_request_id_;
  std::optional<CredentialsSeen> credentials_;
  std::vector<int> connections_;       // guarded by mu_
  std::vector<std::thread> servers_;   // guarded by mu_
  std::thread acceptor_;
};

}  // namespace veil::host::testing

#endif  // VEIL_HOST_TESTING_FAKE_ENCLAVE_H_
