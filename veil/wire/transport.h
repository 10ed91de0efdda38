// Stream-socket endpoints of the enclave<->host channel: `vsock:CID:PORT` on
// Nitro, and in the local tiers `unix:/path/to.sock` or
// `tcp:127.0.0.1:PORT` (loopback only unless the options allow otherwise).
// Sockets are close-on-exec; TCP sockets have TCP_NODELAY (one small
// request, one answer).
#ifndef VEIL_WIRE_TRANSPORT_H_
#define VEIL_WIRE_TRANSPORT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/wire/scoped_fd.h"

namespace veil::wire {

// Endpoint is a parsed endpoint string.
struct Endpoint {
  enum class Kind { kUnix, kTcp, kVsock };
  Kind kind = Kind::kUnix;
  std::string path;     // kUnix: the socket file
  std::string address;  // kTcp: a numeric IPv4 address, or IPv6 without brackets
  uint32_t cid = 0;     // kVsock: the context id (VMADDR_CID_ANY = 4294967295 to listen)
  uint32_t port = 0;    // kTcp: 0..65535 (0 to listen on an ephemeral port); kVsock: any

  // ToString returns the endpoint in the form ParseEndpoint reads.
  std::string ToString() const;
  bool operator==(const Endpoint&) const = default;
};

// ParseEndpoint parses `unix:PATH` (PATH non-empty, no NUL byte, shorter
// than sockaddr_un allows), `tcp:ADDRESS:PORT` (ADDRESS a numeric IPv4
// address or a bracketed IPv6 one such as [::1]; host names are refused, so
// no lookup ever happens) and `vsock:CID:PORT` (decimal). Fails with
// InvalidArgument naming the problem.
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view text);

struct TransportOptions {
  // AllowNonLoopback lets tcp endpoints use addresses other than 127.0.0.0/8
  // and ::1. Off by default: the local tier's channel carries ciphertext
  // only, but nothing outside the machine should reach the enclave.
  bool allow_non_loopback = false;
  int backlog = 64;
};

// CheckEndpoint returns what Listen and Connect would say about `endpoint`
// before touching a socket: PermissionDenied for a tcp address outside
// loopback that `options` do not allow, InvalidArgument for an endpoint no
// socket address can express; OK otherwise.
absl::Status CheckEndpoint(const Endpoint& endpoint,
                           const TransportOptions& options = TransportOptions());

// Listen returns a listening socket for `endpoint`. For unix endpoints a
// stale socket file at the path is replaced (any other kind of file is
// FailedPrecondition) and the new one is mode 0600. Fails with
// PermissionDenied for a non-loopback tcp address that the options do not
// allow, InvalidArgument for an endpoint it cannot listen on, and
// Unavailable when the socket cannot be created or bound (e.g. no vsock
// support).
absl::StatusOr<ScopedFd> Listen(const Endpoint& endpoint,
                                const TransportOptions& options = TransportOptions());

// BoundEndpoint returns the endpoint a listening socket is bound to (with
// the port the kernel chose for tcp port 0).
absl::StatusOr<Endpoint> BoundEndpoint(int listen_fd);

// Accept waits at most `timeout` (InfiniteDuration: for ever) for a
// connection on `listen_fd`. Fails with DeadlineExceeded on timeout and
// Unavailable on a socket error.
absl::StatusOr<ScopedFd> Accept(int listen_fd, absl::Duration timeout);

// Connect connects to `endpoint` within `timeout`. Fails with
// PermissionDenied as Listen does, InvalidArgument for port 0,
// DeadlineExceeded on timeout, and Unavailable when nothing accepts there.
// The returned socket is blocking; frame.h bounds every wait on it anyway.
absl::StatusOr<ScopedFd> Connect(const Endpoint& endpoint, absl::Duration timeout,
                                 const TransportOptions& options = TransportOptions());

}  // namespace veil::wire

#endif  // VEIL_WIRE_TRANSPORT_H_
