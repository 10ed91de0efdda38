#include "veil/proxy/byte_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <list>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "veil/common/status_macros.h"
#include "veil/wire/scoped_fd.h"

namespace veil::proxy {
namespace {

// Signal is a level-triggered flag that poll can wait on: once raised, its
// eventfd stays readable, so it wakes every thread polling it.
class Signal {
 public:
  absl::Status Open() {
    fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd_.valid()) {
      return absl::UnavailableError(
          absl::StrCat("proxy: eventfd failed: ", std::string(std::strerror(errno))));
    }
    return absl::OkStatus();
  }
  void Raise() {
    raised_.store(true);
    const uint64_t one = 1;
    // Cannot fail short of a counter overflow, which one write per stop
    // never reaches.
    (void)!::write(fd_.get(), &one, sizeof(one));
  }
  bool raised() const { return raised_.load(); }
  int fd() const { return fd_.get(); }

 private:
  wire::ScopedFd fd_;
  std::atomic<bool> raised_{false};
};

bool SetNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  // Round up so that a wake-up never comes just before the deadline.
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// Flow is one direction of a connection: bytes read from `from` wait in
// `buf[start, end)` until written to `to`.
struct Flow {
  int from = -1;
  int to = -1;
  Direction direction = Direction::kToDestination;
  std::vector<uint8_t> buf;
  size_t start = 0;
  size_t end = 0;
  bool eof = false;   // `from` ended its stream
  bool shut = false;  // and `to` was told so with shutdown(SHUT_WR)
  uint64_t bytes = 0;

  bool pending() const { return start < end; }
  bool can_read() const { return !eof && end < buf.size(); }
  bool done() const { return shut; }
};

}  // namespace

const char* CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kFinished:
      return "finished";
    case CloseReason::kIdleTimeout:
      return "idle_timeout";
    case CloseReason::kConnectFailed:
      return "connect_failed";
    case CloseReason::kError:
      return "error";
    case CloseReason::kStopped:
      return "stopped";
  }
  return "unknown";
}

struct ByteProxy::State {
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  ByteProxyOptions options;
  wire::Endpoint destination;
  wire::ScopedFd listen_fd;
  std::string unix_path;  // the listener's socket file, to remove at Stop
  ino_t unix_ino = 0;
  Signal stop_accepting;
  Signal close_all;
  std::thread acceptor;

  std::atomic<uint64_t> accepted{0}, refused{0}, connect_failures{0}, idle_timeouts{0};
  std::atomic<uint64_t> bytes_to_destination{0}, bytes_to_client{0};
  std::atomic<uint64_t> active_count{0};

  absl::Mutex mu;
  uint64_t active ABSL_GUARDED_BY(mu) = 0;
  std::list<Connection> connections ABSL_GUARDED_BY(mu);

  absl::Mutex stop_mu;
  bool stopped ABSL_GUARDED_BY(stop_mu) = false;

  void AcceptLoop();
  void ReapFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  void Serve(uint64_t id, wire::ScopedFd client);
  CloseReason Pump(uint64_t id, int client, int destination, Flow& up, Flow& down);
  // Move reads then writes one flow; false on a socket error.
  bool Step(uint64_t id, Flow& flow, bool readable, absl::Time& last_activity);
};

void ByteProxy::State::ReapFinished() {
  for (auto it = connections.begin(); it != connections.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void ByteProxy::State::AcceptLoop() {
  pollfd fds[2] = {{listen_fd.get(), POLLIN, 0}, {stop_accepting.fd(), POLLIN, 0}};
  while (!stop_accepting.raised()) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;  // cannot happen with valid descriptors; Stop still works
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    wire::ScopedFd client(::accept4(listen_fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client.valid()) {
      // Out of descriptors: the pending connection stays queued and poll
      // would report it again at once, so back off instead of spinning.
      if (errno == EMFILE || errno == ENFILE) absl::SleepFor(absl::Milliseconds(50));
      continue;  // EAGAIN, ECONNABORTED: try again
    }
    absl::MutexLock lock(&mu);
    ReapFinished();
    if (active >= static_cast<uint64_t>(options.max_connections)) {
      refused.fetch_add(1);
      continue;  // `client` closes here
    }
    ++active;
    active_count.fetch_add(1);
    const uint64_t id = accepted.fetch_add(1) + 1;
    Connection& c = connections.emplace_back();
    c.thread = std::thread([this, id, &c, fd = std::move(client)]() mutable {
      Serve(id, std::move(fd));
      absl::MutexLock lock(&mu);
      --active;
      c.done.store(true);
    });
  }
}

void ByteProxy::State::Serve(uint64_t id, wire::ScopedFd client) {
  const absl::Time started = absl::Now();
  ConnectionRecord record;
  record.id = id;
  absl::StatusOr<wire::ScopedFd> dest =
      wire::Connect(destination, options.connect_timeout, options.transport);
  if (!dest.ok()) {
    connect_failures.fetch_add(1);
    record.reason = CloseReason::kConnectFailed;
  } else if (close_all.raised()) {
    record.reason = CloseReason::kStopped;
  } else if (!SetNonBlocking(client.get()) || !SetNonBlocking(dest->get())) {
    record.reason = CloseReason::kError;
  } else {
    Flow up{client.get(), dest->get(), Direction::kToDestination};
    Flow down{dest->get(), client.get(), Direction::kToClient};
    up.buf.resize(options.buffer_size);
    down.buf.resize(options.buffer_size);
    record.reason = Pump(id, client.get(), dest->get(), up, down);
    record.bytes_to_destination = up.bytes;
    record.bytes_to_client = down.bytes;
  }
  if (record.reason == CloseReason::kIdleTimeout) idle_timeouts.fetch_add(1);
  // Close both sides before reporting, so that a peer has seen the end by
  // the time anyone reads the record.
  client.reset();
  if (dest.ok()) dest->reset();
  record.duration = absl::Now() - started;
  active_count.fetch_sub(1);  // so that the record's reader sees it gone
  if (options.on_close) options.on_close(record);
}

bool ByteProxy::State::Step(uint64_t id, Flow& flow, bool readable, absl::Time& last_activity) {
  if (readable && flow.can_read()) {
    const ssize_t n =
        ::recv(flow.from, flow.buf.data() + flow.end, flow.buf.size() - flow.end, MSG_DONTWAIT);
    if (n > 0) {
      flow.end += static_cast<size_t>(n);
      last_activity = absl::Now();
    } else if (n == 0) {
      flow.eof = true;
    } else if (!WouldBlock(errno)) {
      return false;
    }
  }
  // Write opportunistically: the socket is usually writable, which saves a
  // poll round per chunk.
  while (flow.pending()) {
    const ssize_t n = ::send(flow.to, flow.buf.data() + flow.start, flow.end - flow.start,
                             MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (WouldBlock(errno)) break;
      return false;
    }
    const auto sent = static_cast<size_t>(n);
    if (options.tap) {
      options.tap(id, flow.direction, absl::MakeConstSpan(&flow.buf[flow.start], sent));
    }
    flow.start += sent;
    flow.bytes += sent;
    (flow.direction == Direction::kToDestination ? bytes_to_destination : bytes_to_client)
        .fetch_add(sent);
    last_activity = absl::Now();
  }
  if (!flow.pending()) flow.start = flow.end = 0;
  if (flow.eof && !flow.pending() && !flow.shut) {
    // ENOTCONN when the other side is already gone; the next send on it
    // reports that.
    (void)::shutdown(flow.to, SHUT_WR);
    flow.shut = true;
  }
  return true;
}

CloseReason ByteProxy::State::Pump(uint64_t id, int client, int destination, Flow& up, Flow& down) {
  absl::Time last_activity = absl::Now();
  while (!(up.done() && down.done())) {
    // A descriptor is polled only for what this side still wants from it;
    // one with no interest is left out (-1), so that a peer that hung up
    // does not wake the loop for ever. Its state shows at the next send.
    const short client_events =
        static_cast<short>((up.can_read() ? POLLIN : 0) | (down.pending() ? POLLOUT : 0));
    const short dest_events =
        static_cast<short>((down.can_read() ? POLLIN : 0) | (up.pending() ? POLLOUT : 0));
    pollfd fds[3] = {{client_events ? client : -1, client_events, 0},
                     {dest_events ? destination : -1, dest_events, 0},
                     {close_all.fd(), POLLIN, 0}};
    const absl::Time idle_deadline = options.idle_timeout == absl::InfiniteDuration()
                                         ? absl::InfiniteFuture()
                                         : last_activity + options.idle_timeout;
    const int n = ::poll(fds, 3, PollTimeoutMs(idle_deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return CloseReason::kError;
    }
    if (fds[2].revents != 0) return CloseReason::kStopped;
    if (n == 0) {
      if (absl::Now() >= idle_deadline) return CloseReason::kIdleTimeout;
      continue;
    }
    if (!Step(id, up, fds[0].revents != 0, last_activity) ||
        !Step(id, down, fds[1].revents != 0, last_activity)) {
      return CloseReason::kError;
    }
  }
  return CloseReason::kFinished;
}

ByteProxy::ByteProxy(std::unique_ptr<State> state, wire::Endpoint listen_endpoint,
                     wire::Endpoint destination)
    : state_(std::move(state)),
      listen_endpoint_(std::move(listen_endpoint)),
      destination_(std::move(destination)) {}

ByteProxy::~ByteProxy() { Stop(); }

absl::StatusOr<std::unique_ptr<ByteProxy>> ByteProxy::Create(const wire::Endpoint& listen,
                                                             const wire::Endpoint& destination,
                                                             ByteProxyOptions options) {
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("proxy: max_connections must be at least 1");
  }
  if (options.buffer_size == 0) {
    return absl::InvalidArgumentError("proxy: buffer_size must be positive");
  }
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("proxy: timeouts must be positive");
  }
  if (destination.kind == wire::Endpoint::Kind::kTcp && destination.port == 0) {
    return absl::InvalidArgumentError("proxy: the destination port must not be 0");
  }
  if (absl::Status s = wire::CheckEndpoint(destination, options.transport); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("proxy: destination: ", std::string(s.message())));
  }
  auto state = std::make_unique<State>();
  VEIL_ASSIGN_OR_RETURN(state->listen_fd, wire::Listen(listen, options.transport));
  VEIL_ASSIGN_OR_RETURN(wire::Endpoint bound, wire::BoundEndpoint(state->listen_fd.get()));
  if (listen.kind == wire::Endpoint::Kind::kUnix) {
    struct stat st;
    if (::stat(listen.path.c_str(), &st) == 0) {
      state->unix_path = listen.path;
      state->unix_ino = st.st_ino;
    }
  }
  VEIL_RETURN_IF_ERROR(state->stop_accepting.Open());
  VEIL_RETURN_IF_ERROR(state->close_all.Open());
  state->options = std::move(options);
  state->destination = destination;
  State* s = state.get();
  s->acceptor = std::thread([s] { s->AcceptLoop(); });
  return std::unique_ptr<ByteProxy>(new ByteProxy(std::move(state), std::move(bound), destination));
}

void ByteProxy::Stop(absl::Duration grace) {
  State& s = *state_;
  absl::MutexLock stop_lock(&s.stop_mu);
  if (s.stopped) return;
  s.stopped = true;
  s.stop_accepting.Raise();
  if (s.acceptor.joinable()) s.acceptor.join();
  s.listen_fd.reset();
  if (!s.unix_path.empty()) {
    // Remove the socket file only if it is still the one this proxy bound.
    struct stat st;
    if (::stat(s.unix_path.c_str(), &st) == 0 && st.st_ino == s.unix_ino) {
      ::unlink(s.unix_path.c_str());
    }
  }
  std::list<State::Connection> connections;
  {
    absl::MutexLock lock(&s.mu);
    if (grace > absl::ZeroDuration()) {
      s.mu.AwaitWithTimeout(absl::Condition(
                                +[](uint64_t* active) { return *active == 0; }, &s.active),
                            grace);
    }
    s.close_all.Raise();
    connections.swap(s.connections);
  }
  for (State::Connection& c : connections) c.thread.join();
}

ByteProxyStats ByteProxy::Stats() const {
  const State& s = *state_;
  ByteProxyStats out;
  out.connections_accepted = s.accepted.load();
  out.connections_refused = s.refused.load();
  out.connections_active = s.active_count.load();
  out.connect_failures = s.connect_failures.load();
  out.idle_timeouts = s.idle_timeouts.load();
  out.bytes_to_destination = s.bytes_to_destination.load();
  out.bytes_to_client = s.bytes_to_client.load();
  return out;
}

}  // namespace veil::proxy
