// ChannelClient: the host's side of the enclave<->host channel. One call is
// one request frame answered by one response frame on a connection nobody
// else is using; connections are pooled and reused.
#ifndef VEIL_WIRE_CHANNEL_CLIENT_H_
#define VEIL_WIRE_CHANNEL_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/wire/messages.h"
#include "veil/wire/scoped_fd.h"
#include "veil/wire/transport.h"

namespace veil::wire {

struct ChannelClientOptions {
  absl::Duration connect_timeout = absl::Seconds(5);
  // CallTimeout bounds a whole call: writing the request and reading the
  // response (inference on a large image takes seconds).
  absl::Duration call_timeout = absl::Seconds(60);
  // MaxIdleConnections is how many connections are kept open between calls;
  // a call that finds none idle opens a new one, so the number of
  // concurrent calls is bounded by the caller's threads, not here.
  size_t max_idle_connections = 8;
  Limits limits;
  TransportOptions transport;
};

// ChannelClient sends requests to the enclave listening on one endpoint.
// Thread-safe: calls run in parallel, each on its own connection (the pool
// is guarded by a mutex that is never held during I/O).
class ChannelClient {
 public:
  // Create parses `endpoint` (transport.h) and checks it against
  // `options.transport`; it does not connect (the enclave may start later).
  static absl::StatusOr<std::unique_ptr<ChannelClient>> Create(
      std::string_view endpoint, ChannelClientOptions options = ChannelClientOptions());

  ChannelClient(const ChannelClient&) = delete;
  ChannelClient& operator=(const ChannelClient&) = delete;

  // Call sends `request` with a fresh correlation id (any id in `request` is
  // replaced) and returns the enclave's response: of the request's type, or
  // an ErrorResponse, which is a successful Call (the enclave answered).
  //
  // Fails with the status of EncodeRequest for a request it cannot send,
  // the statuses of transport.h and frame.h for a connection that fails
  // (DeadlineExceeded after call_timeout), InvalidArgument for a response
  // that does not decode, and DataLoss for a response with another id or
  // type. When a pooled connection turns out to be broken before anything
  // was read from it (the enclave closed it while idle), the request is
  // sent once more on a new connection; nothing else is retried. A
  // connection is returned to the pool only after a complete exchange.
  //
  // A credentials request's encoded frame is wiped after it is sent.
  absl::StatusOr<Response> Call(Request request);

 private:
  ChannelClient(Endpoint endpoint, ChannelClientOptions options)
      : endpoint_(std::move(endpoint)), options_(std::move(options)) {}

  // Exchange runs one request/response on `fd`.
  absl::StatusOr<Response> Exchange(int fd, absl::Span<const uint8_t> frame, uint64_t id,
                                    MessageType type, absl::Time deadline, bool* retryable);
  // TakeConnection pops an idle connection (unless `fresh`) or opens one.
  absl::StatusOr<ScopedFd> TakeConnection(absl::Time deadline, bool fresh, bool* reused);
  void ReturnConnection(ScopedFd fd);

  const Endpoint endpoint_;
  const ChannelClientOptions options_;
  absl::Mutex mu_;
  std::vector<ScopedFd> idle_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace veil::wire

#endif  // VEIL_WIRE_CHANNEL_CLIENT_H_
