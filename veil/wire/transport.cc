#include "veil/wire/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
// After sys/socket.h, which it needs.
#include <linux/vm_sockets.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/wire/internal/poll.h"

namespace veil::wire {
namespace {

std::string Errno(int err) { return std::strerror(err); }

absl::Status BadEndpoint(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("wire: endpoint \"", std::string(text),
                                                 "\": ", std::string(why)));
}

// ParseDecimal parses 1..10 decimal digits with no sign or spaces, at most
// `max`.
std::optional<uint32_t> ParseDecimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;  // room for the NUL

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_UNSPEC;
};

bool IsLoopback(const SockAddr& sa) {
  if (sa.family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa.storage);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa.family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa.storage);
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  return true;  // unix and vsock never leave the machine
}

absl::StatusOr<SockAddr> ToSockAddr(const Endpoint& e, const TransportOptions& options) {
  SockAddr sa;
  switch (e.kind) {
    case Endpoint::Kind::kUnix: {
      if (e.path.empty() || e.path.size() > kMaxUnixPath ||
          e.path.find('\0') != std::string::npos) {
        return BadEndpoint(e.ToString(), "not a usable socket path");
      }
      auto* un = reinterpret_cast<sockaddr_un*>(&sa.storage);
      un->sun_family = AF_UNIX;
      std::memcpy(un->sun_path, e.path.data(), e.path.size());
      sa.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + e.path.size() + 1);
      sa.family = AF_UNIX;
      break;
    }
    case Endpoint::Kind::kTcp: {
      if (e.port > 65535) return BadEndpoint(e.ToString(), "port out of range");
      auto* in = reinterpret_cast<sockaddr_in*>(&sa.storage);
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&sa.storage);
      if (::inet_pton(AF_INET, e.address.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(static_cast<uint16_t>(e.port));
        sa.len = sizeof(sockaddr_in);
        sa.family = AF_INET;
      } else if (::inet_pton(AF_INET6, e.address.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(static_cast<uint16_t>(e.port));
        sa.len = sizeof(sockaddr_in6);
        sa.family = AF_INET6;
      } else {
        return BadEndpoint(e.ToString(), "not a numeric IP address");
      }
      if (!options.allow_non_loopback && !IsLoopback(sa)) {
        return absl::PermissionDeniedError(absl::StrCat(
            "wire: endpoint ", e.ToString(), " is not loopback and non-loopback is not allowed"));
      }
      break;
    }
    case Endpoint::Kind::kVsock: {
      auto* vm = reinterpret_cast<sockaddr_vm*>(&sa.storage);
      vm->svm_family = AF_VSOCK;
      vm->svm_cid = e.cid;
      vm->svm_port = e.port;
      sa.len = sizeof(sockaddr_vm);
      sa.family = AF_VSOCK;
      break;
    }
  }
  return sa;
}

absl::StatusOr<ScopedFd> NewSocket(const SockAddr& sa, int flags) {
  ScopedFd fd(::socket(sa.family, SOCK_STREAM | SOCK_CLOEXEC | flags, 0));
  if (!fd.valid()) {
    return absl::UnavailableError(absl::StrCat("wire: cannot create socket: ", Errno(errno)));
  }
  return fd;
}

void SetNoDelay(int fd, int family) {
  if (family != AF_INET && family != AF_INET6) return;
  const int one = 1;
  // Best effort: without it the channel is slower, not wrong.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

absl::Status SetBlocking(int fd, bool blocking) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return absl::UnavailableError(absl::StrCat("wire: fcntl: ", Errno(errno)));
  const int want = blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK);
  if (want != flags && ::fcntl(fd, F_SETFL, want) < 0) {
    return absl::UnavailableError(absl::StrCat("wire: fcntl: ", Errno(errno)));
  }
  return absl::OkStatus();
}

// RemoveStaleSocket unlinks a socket file left at `path` by an earlier
// listener; anything else there is not ours to delete.
absl::Status RemoveStaleSocket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("wire: cannot stat ", path, ": ", Errno(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("wire: ", path, " exists and is not a socket"));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::UnavailableError(absl::StrCat("wire: cannot remove ", path, ": ", Errno(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Endpoint::ToString() const {
  switch (kind) {
    case Kind::kUnix:
      return absl::StrCat("unix:", path);
    case Kind::kTcp:
      if (address.find(':') != std::string::npos) {
        return absl::StrCat("tcp:[", address, "]:", port);
      }
      return absl::StrCat("tcp:", address, ":", port);
    case Kind::kVsock:
      break;
  }
  return absl::StrCat("vsock:", cid, ":", port);
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view text) {
  Endpoint e;
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return BadEndpoint(text, "expected unix:PATH, tcp:ADDRESS:PORT or vsock:CID:PORT");
  }
  const std::string_view scheme = text.substr(0, colon);
  const std::string_view rest = text.substr(colon + 1);
  if (scheme == "unix") {
    e.kind = Endpoint::Kind::kUnix;
    if (rest.empty()) return BadEndpoint(text, "empty socket path");
    if (rest.find('\0') != std::string_view::npos) return BadEndpoint(text, "NUL in socket path");
    if (rest.size() > kMaxUnixPath) {
      return BadEndpoint(text, absl::StrCat("socket path longer than ", kMaxUnixPath, " bytes"));
    }
    e.path = std::string(rest);
    return e;
  }
  if (scheme == "tcp") {
    e.kind = Endpoint::Kind::kTcp;
    std::string_view address, port;
    if (!rest.empty() && rest.front() == '[') {
      const size_t close = rest.find(']');
      if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
        return BadEndpoint(text, "expected tcp:[IPV6]:PORT");
      }
      address = rest.substr(1, close - 1);
      port = rest.substr(close + 2);
      in6_addr unused;
      if (::inet_pton(AF_INET6, std::string(address).c_str(), &unused) != 1) {
        return BadEndpoint(text, "not a numeric IPv6 address");
      }
    } else {
      const size_t last = rest.rfind(':');
      if (last == std::string_view::npos) return BadEndpoint(text, "expected tcp:ADDRESS:PORT");
      address = rest.substr(0, last);
      port = rest.substr(last + 1);
      if (address.find(':') != std::string_view::npos) {
        return BadEndpoint(text, "an IPv6 address needs brackets: tcp:[::1]:PORT");
      }
      in_addr unused;
      if (::inet_pton(AF_INET, std::string(address).c_str(), &unused) != 1) {
        return BadEndpoint(text, "not a numeric IPv4 address (host names are not looked up)");
      }
    }
    const std::optional<uint32_t> p = ParseDecimal(port, 65535);
    if (!p.has_value()) return BadEndpoint(text, "port is not a number in 0..65535");
    e.address = std::string(address);
    e.port = *p;
    return e;
  }
  if (scheme == "vsock") {
    e.kind = Endpoint::Kind::kVsock;
    const size_t sep = rest.find(':');
    if (sep == std::string_view::npos) return BadEndpoint(text, "expected vsock:CID:PORT");
    const std::optional<uint32_t> cid = ParseDecimal(rest.substr(0, sep), 0xffffffffu);
    const std::optional<uint32_t> port = ParseDecimal(rest.substr(sep + 1), 0xffffffffu);
    if (!cid.has_value()) return BadEndpoint(text, "CID is not a number in 0..4294967295");
    if (!port.has_value()) return BadEndpoint(text, "port is not a number in 0..4294967295");
    e.cid = *cid;
    e.port = *port;
    return e;
  }
  return BadEndpoint(text, "unknown scheme (expected unix, tcp or vsock)");
}

absl::Status CheckEndpoint(const Endpoint& endpoint, const TransportOptions& options) {
  return ToSockAddr(endpoint, options).status();
}

absl::StatusOr<ScopedFd> Listen(const Endpoint& endpoint, const TransportOptions& options) {
  VEIL_ASSIGN_OR_RETURN(const SockAddr sa, ToSockAddr(endpoint, options));
  // Non-blocking, so that Accept never blocks after poll when another thread
  // took the connection; accepted sockets do not inherit the flag.
  VEIL_ASSIGN_OR_RETURN(ScopedFd fd, NewSocket(sa, SOCK_NONBLOCK));
  if (sa.family == AF_INET || sa.family == AF_INET6) {
    const int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      return absl::UnavailableError(absl::StrCat("wire: SO_REUSEADDR: ", Errno(errno)));
    }
  }
  if (sa.family == AF_UNIX) {
    VEIL_RETURN_IF_ERROR(RemoveStaleSocket(endpoint.path));
    // On Linux the socket file takes the socket inode's mode at bind time, so
    // this closes the window before the chmod below. Best effort; the chmod
    // is the check.
    (void)::fchmod(fd.get(), 0600);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa.storage), sa.len) != 0) {
    return absl::UnavailableError(
        absl::StrCat("wire: cannot bind ", endpoint.ToString(), ": ", Errno(errno)));
  }
  if (sa.family == AF_UNIX && ::chmod(endpoint.path.c_str(), 0600) != 0) {
    const int err = errno;
    ::unlink(endpoint.path.c_str());
    return absl::UnavailableError(
        absl::StrCat("wire: cannot restrict ", endpoint.path, " to its owner: ", Errno(err)));
  }
  if (::listen(fd.get(), options.backlog) != 0) {
    return absl::UnavailableError(
        absl::StrCat("wire: cannot listen on ", endpoint.ToString(), ": ", Errno(errno)));
  }
  return fd;
}

absl::StatusOr<Endpoint> BoundEndpoint(int listen_fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof(storage);
  if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("wire: getsockname: ", Errno(errno)));
  }
  Endpoint e;
  char buf[INET6_ADDRSTRLEN] = {};
  switch (storage.ss_family) {
    case AF_UNIX: {
      const auto* un = reinterpret_cast<const sockaddr_un*>(&storage);
      e.kind = Endpoint::Kind::kUnix;
      e.path = std::string(un->sun_path, strnlen(un->sun_path, sizeof(un->sun_path)));
      return e;
    }
    case AF_INET: {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
      e.kind = Endpoint::Kind::kTcp;
      e.address = ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
      e.port = ntohs(in->sin_port);
      return e;
    }
    case AF_INET6: {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
      e.kind = Endpoint::Kind::kTcp;
      e.address = ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
      e.port = ntohs(in6->sin6_port);
      return e;
    }
    case AF_VSOCK: {
      const auto* vm = reinterpret_cast<const sockaddr_vm*>(&storage);
      e.kind = Endpoint::Kind::kVsock;
      e.cid = vm->svm_cid;
      e.port = vm->svm_port;
      return e;
    }
    default:
      return absl::InvalidArgumentError("wire: not a unix, tcp or vsock socket");
  }
}

absl::StatusOr<ScopedFd> Accept(int listen_fd, absl::Duration timeout) {
  const absl::Time deadline = internal::DeadlineAfter(timeout);
  while (true) {
    VEIL_RETURN_IF_ERROR(internal::WaitFor(listen_fd, POLLIN, deadline, "accept"));
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    ScopedFd fd(::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
    if (fd.valid()) {
      SetNoDelay(fd.get(), peer.ss_family);
      return fd;
    }
    // Another thread took the connection, or it was reset while queued.
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) {
      continue;
    }
    return absl::UnavailableError(absl::StrCat("wire: accept failed: ", Errno(errno)));
  }
}

absl::StatusOr<ScopedFd> Connect(const Endpoint& endpoint, absl::Duration timeout,
                                 const TransportOptions& options) {
  if (endpoint.kind == Endpoint::Kind::kTcp && endpoint.port == 0) {
    return BadEndpoint(endpoint.ToString(), "cannot connect to port 0");
  }
  VEIL_ASSIGN_OR_RETURN(const SockAddr sa, ToSockAddr(endpoint, options));
  const absl::Time deadline = internal::DeadlineAfter(timeout);
  VEIL_ASSIGN_OR_RETURN(ScopedFd fd, NewSocket(sa, SOCK_NONBLOCK));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa.storage), sa.len) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) {
      // EAGAIN here is a unix listener whose backlog is full.
      return absl::UnavailableError(
          absl::StrCat("wire: cannot connect to ", endpoint.ToString(), ": ", Errno(errno)));
    }
    VEIL_RETURN_IF_ERROR(internal::WaitFor(fd.get(), POLLOUT, deadline, "connect"));
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      return absl::UnavailableError(
          absl::StrCat("wire: cannot connect to ", endpoint.ToString(), ": ", Errno(err)));
    }
  }
  VEIL_RETURN_IF_ERROR(SetBlocking(fd.get(), true));
  SetNoDelay(fd.get(), sa.family);
  return fd;
}

}  // namespace veil::wire
