#include "veil/nitro_sim/nsm_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/frame_io.h"
#include "veil/attestation/nsm/protocol.h"

namespace veil::nitro_sim {
namespace {

namespace nsm = attestation::nsm;
namespace protocol = attestation::nsm::protocol;

protocol::Response ErrorOf(const absl::Status& status) {
  return protocol::ErrorResponse{nsm::NsmErrorCodeOf(status)};
}

std::optional<absl::Span<const uint8_t>> OptionalSpan(const std::optional<std::vector<uint8_t>>& v) {
  if (!v.has_value()) return std::nullopt;
  return absl::MakeConstSpan(*v);
}

protocol::Response Dispatch(nsm::NsmDevice& device, const protocol::Request& request) {
  if (const auto* r = std::get_if<protocol::AttestationRequest>(&request)) {
    absl::StatusOr<std::vector<uint8_t>> doc = device.GetAttestationDocument(
        OptionalSpan(r->user_data), OptionalSpan(r->nonce), OptionalSpan(r->public_key));
    if (!doc.ok()) return ErrorOf(doc.status());
    return protocol::AttestationResponse{std::move(*doc)};
  }
  if (const auto* r = std::get_if<protocol::DescribePcrRequest>(&request)) {
    absl::StatusOr<nsm::PcrDescription> d = device.DescribePcr(r->index);
    if (!d.ok()) return ErrorOf(d.status());
    return protocol::DescribePcrResponse{d->locked, d->value};
  }
  if (const auto* r = std::get_if<protocol::ExtendPcrRequest>(&request)) {
    absl::StatusOr<nsm::PcrValue> v = device.ExtendPcr(r->index, r->data);
    if (!v.ok()) return ErrorOf(v.status());
    return protocol::ExtendPcrResponse{*v};
  }
  if (const auto* r = std::get_if<protocol::LockPcrRequest>(&request)) {
    const absl::Status s = device.LockPcr(r->index);
    if (!s.ok()) return ErrorOf(s);
    return protocol::LockPcrResponse{};
  }
  if (const auto* r = std::get_if<protocol::LockPcrsRequest>(&request)) {
    const absl::Status s = device.LockPcrs(r->range);
    if (!s.ok()) return ErrorOf(s);
    return protocol::LockPcrsResponse{};
  }
  if (std::holds_alternative<protocol::GetRandomRequest>(request)) {
    absl::StatusOr<std::vector<uint8_t>> random = device.GetRandom();
    if (!random.ok()) return ErrorOf(random.status());
    return protocol::GetRandomResponse{std::move(*random)};
  }
  absl::StatusOr<nsm::NsmDescription> d = device.DescribeNsm();
  if (!d.ok()) return ErrorOf(d.status());
  return protocol::DescribeNsmResponse{std::move(*d)};
}

std::vector<uint8_t> EncodeError(nsm::ErrorCode code) {
  absl::StatusOr<std::vector<uint8_t>> b = protocol::EncodeResponse(protocol::ErrorResponse{code});
  // An Error response is a few dozen bytes; encoding it cannot fail.
  return b.ok() ? *b : std::vector<uint8_t>();
}

}  // namespace

std::vector<uint8_t> HandleNsmRequest(nsm::NsmDevice& device, absl::Span<const uint8_t> request) {
  absl::StatusOr<protocol::Request> decoded = protocol::DecodeRequest(request);
  if (!decoded.ok()) return EncodeError(nsm::NsmErrorCodeOf(decoded.status()));
  absl::StatusOr<std::vector<uint8_t>> response = protocol::EncodeResponse(Dispatch(device, *decoded));
  if (!response.ok()) return EncodeError(nsm::ErrorCode::kBufferTooSmall);
  return std::move(*response);
}

absl::StatusOr<std::unique_ptr<NsmServer>> NsmServer::Start(
    const std::string& socket_path, std::shared_ptr<nsm::NsmDevice> device,
    NsmServerOptions options) {
  if (device == nullptr) return absl::InvalidArgumentError("NsmServer needs a device");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path must be 1 to ",
                                                   sizeof(addr.sun_path) - 1,
                                                   " bytes: ", socket_path));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  struct stat st;
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat(socket_path, " exists and is not a socket; not replacing it"));
    }
    ::unlink(socket_path.c_str());  // a stale socket from an earlier run
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::chmod(socket_path.c_str(), 0600) != 0 || ::listen(fd, 16) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot listen on ", socket_path, ": ", err));
  }
  const int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    ::close(fd);
    ::unlink(socket_path.c_str());
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  std::unique_ptr<NsmServer> server(
      new NsmServer(socket_path, fd, wake, std::move(device), options));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

NsmServer::NsmServer(std::string socket_path, int listen_fd, int wake_fd,
                     std::shared_ptr<nsm::NsmDevice> device, NsmServerOptions options)
    : socket_path_(std::move(socket_path)),
      listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      device_(std::move(device)),
      options_(options) {}

NsmServer::~NsmServer() { Shutdown(); }

void NsmServer::Shutdown() {
  absl::MutexLock shutdown_lock(&shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  if (accept_thread_.joinable()) accept_thread_.join();
  std::list<std::unique_ptr<Connection>> connections;
  {
    absl::MutexLock lock(&mu_);
    // Wake every client thread blocked in recv; each closes its own fd.
    for (const auto& c : connections_) {
      if (!c->done) ::shutdown(c->fd, SHUT_RDWR);
    }
    connections.swap(connections_);
  }
  for (const auto& c : connections) {
    if (c->thread.joinable()) c->thread.join();
  }
  ::close(listen_fd_);
  ::close(wake_fd_);
  ::unlink(socket_path_.c_str());
}

uint64_t NsmServer::RequestsServed() const {
  absl::MutexLock lock(&mu_);
  return requests_served_;
}

void NsmServer::ReapFinished() {
  std::list<std::unique_ptr<Connection>> finished;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        finished.push_back(std::move(*it));
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& c : finished) c->thread.join();
}

void NsmServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ReapFinished();
    absl::MutexLock lock(&mu_);
    if (shutting_down_ || connections_.size() >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    auto connection = std::make_unique<Connection>();
    connection->fd = fd;
    Connection* c = connection.get();
    connections_.push_back(std::move(connection));
    c->thread = std::thread([this, c] { Serve(c); });
  }
}

void NsmServer::Serve(Connection* connection) {
  const int fd = connection->fd;
  for (;;) {
    absl::StatusOr<std::vector<uint8_t>> request = nsm::ReadFrame(fd, nsm::kMaxRequestSize);
    if (!request.ok()) {
      if (absl::IsResourceExhausted(request.status())) {
        // Oversize frame: say so, then hang up -- the unread body would be
        // taken for the next frame.
        (void)nsm::WriteFrame(fd, EncodeError(nsm::ErrorCode::kInputTooLarge),
                              nsm::kMaxResponseSize);
      }
      break;
    }
    const std::vector<uint8_t> response = HandleNsmRequest(*device_, *request);
    {
      absl::MutexLock lock(&mu_);
      ++requests_served_;
    }
    if (!nsm::WriteFrame(fd, response, nsm::kMaxResponseSize).ok()) break;
  }
  absl::MutexLock lock(&mu_);
  ::close(fd);
  connection->done = true;
}

}  // namespace veil::nitro_sim
