// CredentialsPusher: gives the enclave the parent instance's AWS
// credentials, as Nitro applications receive them (the enclave has no
// network and no instance metadata service). It pushes at start, every
// `refresh` after a success (or a definite refusal), every `retry` after a
// failure to reach the enclave or a busy/unavailable answer, and soon after
// Nudge (the gateway nudges when the enclave answers `unavailable`, e.g.
// after it restarted and lost them). The secret is held in SecretBytes and
// never logged: the log says only that a push happened and until when the
// credentials are valid.
#ifndef VEIL_HOST_CREDENTIALS_PUSHER_H_
#define VEIL_HOST_CREDENTIALS_PUSHER_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/host/access_log.h"
#include "veil/host/metrics.h"
#include "veil/wire/channel_client.h"
#include "veil/wire/messages.h"

namespace veil::host {

// CredentialsSource returns the credentials to push (read fresh each time).
using CredentialsSource = std::function<absl::StatusOr<wire::CredentialsRequest>()>;

// EnvironmentCredentials reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN (optional) and AWS_CREDENTIAL_EXPIRATION (optional,
// RFC 3339; `now() + 1h` when unset). FailedPrecondition when the key id or
// the secret is missing, InvalidArgument for an unreadable expiration.
absl::StatusOr<wire::CredentialsRequest> EnvironmentCredentials();

struct CredentialsPusherOptions {
  absl::Duration refresh = absl::Minutes(5);
  absl::Duration retry = absl::Seconds(5);
};

// CredentialsPusher runs one thread. Thread-safe.
class CredentialsPusher {
 public:
  // Start begins pushing at once. `channel`, `log` and `metrics` must
  // outlive the pusher.
  static std::unique_ptr<CredentialsPusher> Start(wire::ChannelClient* channel,
                                                  CredentialsSource source, HostLog* log,
                                                  HostMetrics* metrics,
                                                  CredentialsPusherOptions options = {});
  ~CredentialsPusher();  // Stop()
  CredentialsPusher(const CredentialsPusher&) = delete;
  CredentialsPusher& operator=(const CredentialsPusher&) = delete;

  // Nudge asks for a push soon (at most one per `retry`).
  void Nudge();
  void Stop();

 private:
  CredentialsPusher(wire::ChannelClient* channel, CredentialsSource source, HostLog* log,
                    HostMetrics* metrics, CredentialsPusherOptions options);
  void Run();
  // PushOnce pushes once; false when it should be retried soon.
  bool PushOnce();

  wire::ChannelClient* const channel_;
  const CredentialsSource source_;
  HostLog* const log_;
  HostMetrics* const metrics_;
  const CredentialsPusherOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;     // guarded by mu_
  bool nudged_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace veil::host

#endif  // VEIL_HOST_CREDENTIALS_PUSHER_H_
