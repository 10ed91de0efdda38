// ByteProxy: the enclave's path to the key service, in the pattern of AWS's
// vsock-proxy. It listens on one endpoint and connects every accepted
// connection to ONE destination fixed at construction, then copies bytes
// both ways without looking at them. TLS runs between the two far ends (the
// enclave and KMS), so the process running the proxy sees TLS records only.
//
// No crypto: the host links this library, so it depends on veil::wire,
// veil::common and abseil only (scripts/check-boundaries enforces it).
#ifndef VEIL_PROXY_BYTE_PROXY_H_
#define VEIL_PROXY_BYTE_PROXY_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/wire/transport.h"

namespace veil::proxy {

// Direction names the way bytes flow through a proxied connection.
enum class Direction {
  kToDestination,  // from the accepted peer to the fixed destination
  kToClient,       // from the destination back to the accepted peer
};

// CloseReason says why a proxied connection ended.
enum class CloseReason {
  kFinished,       // both directions reached end of stream and were flushed
  kIdleTimeout,    // no byte either way for idle_timeout
  kConnectFailed,  // the destination could not be reached in time
  kError,          // a socket error (reset, broken pipe) on either side
  kStopped,        // Stop() closed it
};

// CloseReasonName returns a stable lower-case name ("finished", ...).
const char* CloseReasonName(CloseReason reason);

// ConnectionRecord is the metadata of one finished connection: never any
// byte that went through it.
struct ConnectionRecord {
  uint64_t id = 0;  // 1, 2, ... in accept order
  uint64_t bytes_to_destination = 0;
  uint64_t bytes_to_client = 0;
  absl::Duration duration;
  CloseReason reason = CloseReason::kFinished;
};

// ByteProxyStats is a snapshot of the counters (each read atomically; the
// snapshot as a whole is not one instant).
struct ByteProxyStats {
  uint64_t connections_accepted = 0;  // accepted and proxied (or attempted)
  uint64_t connections_refused = 0;   // closed at once: max_connections reached
  uint64_t connections_active = 0;
  uint64_t connect_failures = 0;  // destination unreachable
  uint64_t idle_timeouts = 0;
  uint64_t bytes_to_destination = 0;
  uint64_t bytes_to_client = 0;
};

struct ByteProxyOptions {
  // max_connections bounds the connections proxied at once (and so the
  // threads); a connection accepted beyond it is closed at once.
  int max_connections = 64;
  // connect_timeout bounds the connection to the destination.
  absl::Duration connect_timeout = absl::Seconds(5);
  // idle_timeout closes a connection that moved no byte either way for this
  // long; InfiniteDuration() disables it.
  absl::Duration idle_timeout = absl::Minutes(5);
  // buffer_size is the bytes held per direction per connection.
  size_t buffer_size = 64 * 1024;
  // transport applies to both endpoints (e.g. to allow a non-loopback tcp
  // listener).
  wire::TransportOptions transport;
  // on_close, if set, receives the metadata of every connection when it
  // ends, on that connection's thread. It must be thread-safe and quick.
  std::function<void(const ConnectionRecord&)> on_close;
  // tap, if set, sees every chunk of bytes after it was written to the other
  // side, on the connection's thread: a hook for tests that check what an
  // observer of the proxy could see. It must be thread-safe.
  std::function<void(uint64_t connection_id, Direction, absl::Span<const uint8_t>)> tap;
};

// ByteProxy forwards every connection accepted on `listen` to `destination`.
// A peer cannot choose the destination: it is fixed here, which is the whole
// allowlist.
//
// Threads: one accept thread, plus one thread per proxied connection that
// runs a poll loop over the two sockets (bounded by max_connections). The
// accept thread starts in Create and everything stops in Stop (or the
// destructor).
//
// Half-close: when one side ends its stream, the proxy shuts down the write
// half of the other side once everything before the end was delivered, and
// keeps copying the other direction; the connection ends when both
// directions have ended. A socket error on either side closes both.
//
// Thread-safe: Stats, listen_endpoint and Stop may be called from any
// thread.
class ByteProxy {
 public:
  // Create listens on `listen` and starts accepting. Fails with what
  // wire::Listen reports, with InvalidArgument for a destination that
  // wire::CheckEndpoint refuses, or for max_connections < 1,
  // buffer_size == 0 or a non-positive timeout.
  static absl::StatusOr<std::unique_ptr<ByteProxy>> Create(const wire::Endpoint& listen,
                                                           const wire::Endpoint& destination,
                                                           ByteProxyOptions options = {});
  // The destructor calls Stop().
  ~ByteProxy();
  ByteProxy(const ByteProxy&) = delete;
  ByteProxy& operator=(const ByteProxy&) = delete;

  // listen_endpoint is where the proxy listens (with the port the kernel
  // chose for tcp port 0).
  const wire::Endpoint& listen_endpoint() const { return listen_endpoint_; }
  const wire::Endpoint& destination() const { return destination_; }

  // Stop stops accepting (and removes a unix listener's socket file), gives
  // the open connections up to `grace` to finish on their own, closes the
  // rest and joins every thread. A connection still connecting to its
  // destination is given up when its connect returns (at most
  // connect_timeout). Idempotent.
  void Stop(absl::Duration grace = absl::ZeroDuration());

  ByteProxyStats Stats() const;

 private:
  struct State;
  ByteProxy(std::unique_ptr<State> state, wire::Endpoint listen_endpoint,
            wire::Endpoint destination);

  std::unique_ptr<State> state_;
  wire::Endpoint listen_endpoint_;
  wire::Endpoint destination_;
};

}  // namespace veil::proxy

#endif  // VEIL_PROXY_BYTE_PROXY_H_
