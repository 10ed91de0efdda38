// ByteProxy over Unix sockets (and one tcp listener): bulk round trips,
// half-close, timeouts, the connection limit, a dead destination, Stop, and
// no descriptor leak.
#include "veil/proxy/byte_proxy.h"

#include <dirent.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <list>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"
#include "veil/wire/transport.h"

namespace veil::proxy {
namespace {

namespace fs = std::filesystem;
using ::veil::testing::StatusIs;
using wire::Endpoint;
using wire::ScopedFd;

int CountOpenFds() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// TempDir is a fresh directory under /tmp (short, for sockaddr_un).
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/veil-proxy-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  Endpoint Unix(const std::string& name) const {
    Endpoint e;
    e.kind = Endpoint::Kind::kUnix;
    e.path = path_ + "/" + name;
    return e;
  }

 private:
  std::string path_;
};

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    off += static_cast<size_t>(n);
  }
}

// ReadUntilEof reads until end of stream, a socket error or `timeout`;
// `eof` tells which happened.
std::string ReadUntilEof(int fd, absl::Duration timeout = absl::Seconds(10), bool* eof = nullptr) {
  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[65536];
  if (eof != nullptr) *eof = false;
  while (absl::Now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now())) + 1;
    if (::poll(&p, 1, left) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0 && eof != nullptr) *eof = true;
    break;
  }
  return out;
}

std::string ReadExactly(int fd, size_t n) {
  std::string out;
  char buf[4096];
  while (out.size() < n) {
    const ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// Closed reports whether the peer closed `fd` within `timeout`.
bool ClosedWithin(int fd, absl::Duration timeout) {
  bool eof = false;
  const std::string rest = ReadUntilEof(fd, timeout, &eof);
  return eof && rest.empty();
}

// Server accepts on a unix endpoint and runs `handler` on each connection
// in its own thread.
class Server {
 public:
  Server(const Endpoint& at, std::function<void(ScopedFd)> handler) : handler_(std::move(handler)) {
    listen_ = std::move(wire::Listen(at).value());
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        absl::StatusOr<ScopedFd> fd = wire::Accept(listen_.get(), absl::Milliseconds(50));
        if (!fd.ok()) continue;
        accepted_.fetch_add(1);
        std::lock_guard<std::mutex> lock(mu_);
        workers_.emplace_back([this, f = std::move(*fd)]() mutable { handler_(std::move(f)); });
      }
    });
  }
  ~Server() {
    stop_.store(true);
    thread_.join();
    for (auto& t : workers_) t.join();
  }
  int accepted() const { return accepted_.load(); }

 private:
  std::function<void(ScopedFd)> handler_;
  ScopedFd listen_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::mutex mu_;
  std::list<std::thread> workers_;
};

// Echo copies everything back, then closes after end of stream.
void Echo(ScopedFd fd) {
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) return;
    size_t off = 0;
    while (off < static_cast<size_t>(n)) {
      const ssize_t w = ::send(fd.get(), buf + off, static_cast<size_t>(n) - off, MSG_NOSIGNAL);
      if (w <= 0) return;
      off += static_cast<size_t>(w);
    }
  }
}

ScopedFd ConnectTo(const Endpoint& e) {
  absl::StatusOr<ScopedFd> fd = wire::Connect(e, absl::Seconds(5));
  EXPECT_TRUE(fd.ok()) << fd.status();
  return fd.ok() ? std::move(*fd) : ScopedFd();
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::unique_ptr<ByteProxy> NewProxy(const Endpoint& listen, const Endpoint& to,
                                    ByteProxyOptions options = {}) {
  auto p = ByteProxy::Create(listen, to, std::move(options));
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? std::move(*p) : nullptr;
}

TEST(ByteProxyTest, EchoesMegabytesBothWays) {
  TempDir dir;
  Server echo(dir.Unix("dest.sock"), Echo);
  std::mutex tap_mu;
  std::string tapped_up, tapped_down;
  ByteProxyOptions options;
  options.tap = [&](uint64_t, Direction d, absl::Span<const uint8_t> bytes) {
    std::lock_guard<std::mutex> lock(tap_mu);
    (d == Direction::kToDestination ? tapped_up : tapped_down)
        .append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  };
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"), std::move(options));
  ASSERT_NE(proxy, nullptr);

  const std::string data = RandomBytes(4 << 20, 1);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  std::thread writer([&] {
    WriteAll(client.get(), data);
    ::shutdown(client.get(), SHUT_WR);
  });
  bool eof = false;
  const std::string back = ReadUntilEof(client.get(), absl::Seconds(30), &eof);
  writer.join();
  EXPECT_TRUE(eof);
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
  proxy->Stop();
  const ByteProxyStats s = proxy->Stats();
  EXPECT_EQ(s.connections_accepted, 1u);
  EXPECT_EQ(s.bytes_to_destination, data.size());
  EXPECT_EQ(s.bytes_to_client, data.size());
  EXPECT_EQ(s.connections_active, 0u);
  EXPECT_TRUE(tapped_up == data);
  EXPECT_TRUE(tapped_down == data);
}

TEST(ByteProxyTest, ManyConcurrentConnections) {
  TempDir dir;
  Server echo(dir.Unix("dest.sock"), Echo);
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"));
  ASSERT_NE(proxy, nullptr);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      const std::string data = RandomBytes(256 << 10, static_cast<uint32_t>(i + 10));
      ScopedFd c = ConnectTo(proxy->listen_endpoint());
      std::thread w([&] {
        WriteAll(c.get(), data);
        ::shutdown(c.get(), SHUT_WR);
      });
      const std::string back = ReadUntilEof(c.get(), absl::Seconds(30));
      w.join();
      if (back == data) ok.fetch_add(1);
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(proxy->Stats().connections_accepted, 8u);
}

TEST(ByteProxyTest, ClientHalfClosePropagatesAndTheAnswerStillArrives) {
  TempDir dir;
  std::atomic<bool> server_saw_eof{false};
  // The destination reads to end of stream before it answers: only a
  // propagated half-close lets it answer.
  Server server(dir.Unix("dest.sock"), [&](ScopedFd fd) {
    bool eof = false;
    const std::string got = ReadUntilEof(fd.get(), absl::Seconds(10), &eof);
    server_saw_eof.store(eof && got == "request");
    WriteAll(fd.get(), "answer after end of request");
  });
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"));
  ASSERT_NE(proxy, nullptr);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  WriteAll(client.get(), "request");
  ASSERT_EQ(::shutdown(client.get(), SHUT_WR), 0);
  bool eof = false;
  EXPECT_EQ(ReadUntilEof(client.get(), absl::Seconds(10), &eof), "answer after end of request");
  EXPECT_TRUE(eof);
  EXPECT_TRUE(server_saw_eof.load());
}

TEST(ByteProxyTest, DestinationHalfClosePropagatesAndTheClientCanStillSend) {
  TempDir dir;
  std::string server_got;
  std::mutex mu;
  Server server(dir.Unix("dest.sock"), [&](ScopedFd fd) {
    WriteAll(fd.get(), "banner");
    ::shutdown(fd.get(), SHUT_WR);
    const std::string got = ReadUntilEof(fd.get(), absl::Seconds(10));
    std::lock_guard<std::mutex> lock(mu);
    server_got = got;
  });
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"));
  ASSERT_NE(proxy, nullptr);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  bool eof = false;
  EXPECT_EQ(ReadUntilEof(client.get(), absl::Seconds(10), &eof), "banner");
  EXPECT_TRUE(eof);  // the destination's half-close arrived
  WriteAll(client.get(), "still sending");
  ::shutdown(client.get(), SHUT_WR);
  // Wait for the proxy to finish the connection.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (proxy->Stats().connections_active != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(proxy->Stats().connections_active, 0u);
  proxy->Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(server_got, "still sending");
}

TEST(ByteProxyTest, IdleTimeoutClosesBothSides) {
  TempDir dir;
  std::atomic<bool> server_saw_close{false};
  Server server(dir.Unix("dest.sock"), [&](ScopedFd fd) {
    server_saw_close.store(ClosedWithin(fd.get(), absl::Seconds(10)));
  });
  std::mutex mu;
  std::vector<ConnectionRecord> records;
  ByteProxyOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  options.on_close = [&](const ConnectionRecord& r) {
    std::lock_guard<std::mutex> lock(mu);
    records.push_back(r);
  };
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"), std::move(options));
  ASSERT_NE(proxy, nullptr);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(ClosedWithin(client.get(), absl::Seconds(5)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  proxy->Stop();
  EXPECT_EQ(proxy->Stats().idle_timeouts, 1u);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].reason, CloseReason::kIdleTimeout);
  EXPECT_STREQ(CloseReasonName(records[0].reason), "idle_timeout");
}

TEST(ByteProxyTest, TrafficKeepsAConnectionAlivePastTheIdleTimeout) {
  TempDir dir;
  Server echo(dir.Unix("dest.sock"), Echo);
  ByteProxyOptions options;
  options.idle_timeout = absl::Milliseconds(300);
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"), std::move(options));
  ASSERT_NE(proxy, nullptr);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  for (int i = 0; i < 6; ++i) {
    WriteAll(client.get(), "x");
    EXPECT_EQ(ReadExactly(client.get(), 1), "x");
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(proxy->Stats().idle_timeouts, 0u);
}

TEST(ByteProxyTest, MaxConnectionsRefusesTheExtraOne) {
  TempDir dir;
  Server echo(dir.Unix("dest.sock"), Echo);
  ByteProxyOptions options;
  options.max_connections = 2;
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"), std::move(options));
  ASSERT_NE(proxy, nullptr);
  ScopedFd a = ConnectTo(proxy->listen_endpoint());
  ScopedFd b = ConnectTo(proxy->listen_endpoint());
  // A round trip on each proves both are proxied (and counted) before the
  // third arrives.
  for (int fd : {a.get(), b.get()}) {
    WriteAll(fd, "hi");
    EXPECT_EQ(ReadExactly(fd, 2), "hi");
  }
  ScopedFd c = ConnectTo(proxy->listen_endpoint());
  EXPECT_TRUE(ClosedWithin(c.get(), absl::Seconds(5)));
  ByteProxyStats s = proxy->Stats();
  EXPECT_EQ(s.connections_refused, 1u);
  EXPECT_EQ(s.connections_accepted, 2u);
  EXPECT_EQ(s.connections_active, 2u);

  // A slot frees when a connection ends.
  ::shutdown(a.get(), SHUT_WR);
  ReadUntilEof(a.get());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (proxy->Stats().connections_active != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ScopedFd d = ConnectTo(proxy->listen_endpoint());
  WriteAll(d.get(), "ok");
  EXPECT_EQ(ReadExactly(d.get(), 2), "ok");
  EXPECT_EQ(proxy->Stats().connections_refused, 1u);
}

TEST(ByteProxyTest, DestinationDownClosesTheAcceptedConnectionPromptly) {
  TempDir dir;
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("nobody-listens.sock"));
  ASSERT_NE(proxy, nullptr);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  const absl::Time start = absl::Now();
  EXPECT_TRUE(ClosedWithin(client.get(), absl::Seconds(5)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  proxy->Stop();
  EXPECT_EQ(proxy->Stats().connect_failures, 1u);
}

TEST(ByteProxyTest, StopEndsEverything) {
  TempDir dir;
  Server echo(dir.Unix("dest.sock"), Echo);
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"));
  ASSERT_NE(proxy, nullptr);
  std::vector<ScopedFd> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(ConnectTo(proxy->listen_endpoint()));
    WriteAll(clients.back().get(), "ping");
    EXPECT_EQ(ReadExactly(clients.back().get(), 4), "ping");
  }
  EXPECT_EQ(proxy->Stats().connections_active, 3u);
  const absl::Time start = absl::Now();
  proxy->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  for (ScopedFd& c : clients) EXPECT_TRUE(ClosedWithin(c.get(), absl::Seconds(2)));
  EXPECT_EQ(proxy->Stats().connections_active, 0u);
  // The listener is gone, socket file included.
  struct stat st;
  EXPECT_NE(::stat(proxy->listen_endpoint().path.c_str(), &st), 0);
  EXPECT_FALSE(wire::Connect(proxy->listen_endpoint(), absl::Seconds(1)).ok());
  proxy->Stop();  // idempotent
}

TEST(ByteProxyTest, StopWithGraceLetsAConnectionFinish) {
  TempDir dir;
  Server server(dir.Unix("dest.sock"), [](ScopedFd fd) {
    ReadExactly(fd.get(), 1);
    absl::SleepFor(absl::Milliseconds(200));
    WriteAll(fd.get(), "late answer");
  });
  auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"));
  ASSERT_NE(proxy, nullptr);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  WriteAll(client.get(), "q");
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (proxy->Stats().connections_active != 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  const absl::Time start = absl::Now();
  std::thread stopper([&] { proxy->Stop(absl::Seconds(5)); });
  EXPECT_EQ(ReadUntilEof(client.get(), absl::Seconds(5)), "late answer");
  // Ending our side finishes the connection, which ends the grace early.
  ::shutdown(client.get(), SHUT_WR);
  stopper.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(proxy->Stats().connections_active, 0u);
}

TEST(ByteProxyTest, TcpListenerToUnixDestination) {
  // The enclave-side direction: a loopback tcp listener forwarding to a
  // unix socket.
  TempDir dir;
  Server echo(dir.Unix("dest.sock"), Echo);
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint tcp, wire::ParseEndpoint("tcp:127.0.0.1:0"));
  auto proxy = NewProxy(tcp, dir.Unix("dest.sock"));
  ASSERT_NE(proxy, nullptr);
  EXPECT_EQ(proxy->listen_endpoint().kind, Endpoint::Kind::kTcp);
  EXPECT_NE(proxy->listen_endpoint().port, 0u);
  ScopedFd client = ConnectTo(proxy->listen_endpoint());
  const std::string data = RandomBytes(1 << 20, 7);
  std::thread w([&] {
    WriteAll(client.get(), data);
    ::shutdown(client.get(), SHUT_WR);
  });
  EXPECT_TRUE(ReadUntilEof(client.get(), absl::Seconds(30)) == data);
  w.join();
}

TEST(ByteProxyTest, CreateValidatesOptions) {
  TempDir dir;
  const Endpoint listen = dir.Unix("proxy.sock");
  const Endpoint to = dir.Unix("dest.sock");
  ByteProxyOptions o;
  o.max_connections = 0;
  EXPECT_THAT(ByteProxy::Create(listen, to, o), StatusIs(absl::StatusCode::kInvalidArgument));
  o = {};
  o.buffer_size = 0;
  EXPECT_THAT(ByteProxy::Create(listen, to, o), StatusIs(absl::StatusCode::kInvalidArgument));
  o = {};
  o.idle_timeout = absl::ZeroDuration();
  EXPECT_THAT(ByteProxy::Create(listen, to, o), StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint port0, wire::ParseEndpoint("tcp:127.0.0.1:0"));
  EXPECT_THAT(ByteProxy::Create(listen, port0), StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint remote, wire::ParseEndpoint("tcp:192.0.2.1:443"));
  EXPECT_THAT(ByteProxy::Create(listen, remote), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ByteProxy::Create(remote, to), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(ByteProxyTest, LeavesNoDescriptorOpen) {
  TempDir dir;
  const int before = CountOpenFds();
  {
    Server echo(dir.Unix("dest.sock"), Echo);
    ByteProxyOptions options;
    options.max_connections = 2;
    auto proxy = NewProxy(dir.Unix("proxy.sock"), dir.Unix("dest.sock"), options);
    auto dead = NewProxy(dir.Unix("dead.sock"), dir.Unix("nobody.sock"));
    ASSERT_NE(proxy, nullptr);
    ASSERT_NE(dead, nullptr);
    for (int round = 0; round < 5; ++round) {
      ScopedFd a = ConnectTo(proxy->listen_endpoint());
      ScopedFd b = ConnectTo(proxy->listen_endpoint());
      WriteAll(a.get(), "a");
      WriteAll(b.get(), "b");
      EXPECT_EQ(ReadExactly(a.get(), 1), "a");
      EXPECT_EQ(ReadExactly(b.get(), 1), "b");
      ScopedFd refused = ConnectTo(proxy->listen_endpoint());
      EXPECT_TRUE(ClosedWithin(refused.get(), absl::Seconds(5)));
      ::shutdown(a.get(), SHUT_WR);
      ReadUntilEof(a.get());
      ScopedFd failed = ConnectTo(dead->listen_endpoint());
      EXPECT_TRUE(ClosedWithin(failed.get(), absl::Seconds(5)));
      // `b` is left open: Stop closes it.
      const absl::Time deadline = absl::Now() + absl::Seconds(5);
      while (proxy->Stats().connections_active > 1 && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(2));
      }
      if (round == 4) proxy->Stop();
      b = ScopedFd();
      const absl::Time d2 = absl::Now() + absl::Seconds(5);
      while (proxy->Stats().connections_active > 0 && absl::Now() < d2) {
        absl::SleepFor(absl::Milliseconds(2));
      }
    }
    EXPECT_EQ(proxy->Stats().connections_refused, 5u);
    EXPECT_EQ(dead->Stats().connect_failures, 5u);
  }
  EXPECT_EQ(CountOpenFds(), before);
}

}  // namespace
}  // namespace veil::proxy
