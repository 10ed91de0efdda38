#include "veil/wire/transport.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"
#include "veil/wire/frame.h"

namespace veil::wire {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

// TempDir is a fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "wire-XXXXXX";
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(EndpointTest, ParsesEveryKind) {
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint u, ParseEndpoint("unix:/run/veil/enclave.sock"));
  EXPECT_EQ(u.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(u.path, "/run/veil/enclave.sock");

  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint t, ParseEndpoint("tcp:127.0.0.1:8443"));
  EXPECT_EQ(t.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(t.address, "127.0.0.1");
  EXPECT_EQ(t.port, 8443u);

  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint t6, ParseEndpoint("tcp:[::1]:0"));
  EXPECT_EQ(t6.address, "::1");
  EXPECT_EQ(t6.port, 0u);

  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint v, ParseEndpoint("vsock:16:5005"));
  EXPECT_EQ(v.kind, Endpoint::Kind::kVsock);
  EXPECT_EQ(v.cid, 16u);
  EXPECT_EQ(v.port, 5005u);

  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint any, ParseEndpoint("vsock:4294967295:4294967295"));
  EXPECT_EQ(any.cid, 0xffffffffu);
  EXPECT_EQ(any.port, 0xffffffffu);
}

TEST(EndpointTest, ToStringRoundTrips) {
  for (const char* text : {"unix:/tmp/a.sock", "unix:relative.sock", "tcp:127.0.0.1:1",
                           "tcp:[::1]:65535", "vsock:3:5000", "vsock:0:0"}) {
    VEIL_ASSERT_OK_AND_ASSIGN(Endpoint e, ParseEndpoint(text));
    EXPECT_EQ(e.ToString(), text);
    EXPECT_EQ(ParseEndpoint(e.ToString()).value(), e);
  }
}

TEST(EndpointTest, ParseErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "expected unix:PATH"},
      {"enclave.sock", "expected unix:PATH"},
      {"http://127.0.0.1:80", "unknown scheme"},
      {"unix:", "empty socket path"},
      {"unix:/" + std::string(120, 'a'), "socket path longer than 107"},
      {std::string("unix:/a\0b", 9), "NUL in socket path"},
      {"tcp:localhost:80", "not a numeric IPv4 address"},
      {"tcp:127.0.0.1", "expected tcp:ADDRESS:PORT"},
      {"tcp:127.0.0.1:", "port is not a number"},
      {"tcp:127.0.0.1:65536", "port is not a number in 0..65535"},
      {"tcp:127.0.0.1:-1", "port is not a number"},
      {"tcp:127.0.0.1:+80", "port is not a number"},
      {"tcp:127.0.0.1: 80", "port is not a number"},
      {"tcp:127.0.0.1:99999999999", "port is not a number"},
      {"tcp:::1:80", "needs brackets"},
      {"tcp:[::1]80", "expected tcp:[IPV6]:PORT"},
      {"tcp:[::1", "expected tcp:[IPV6]:PORT"},
      {"tcp:[127.0.0.1]:80", "not a numeric IPv6 address"},
      {"tcp:1.2.3:80", "not a numeric IPv4 address"},
      {"vsock:3", "expected vsock:CID:PORT"},
      {"vsock:x:1", "CID is not a number"},
      {"vsock:3:", "port is not a number"},
      {"vsock:4294967296:1", "CID is not a number"},
      {"vsock:3:4294967296", "port is not a number"},
  };
  for (const auto& [text, what] : cases) {
    SCOPED_TRACE(text);
    auto e = ParseEndpoint(text);
    EXPECT_THAT(e, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(e.status().message()), HasSubstr(what));
  }
}

// Echo accepts one connection on `listen_fd` and sends back every frame.
std::thread Echo(int listen_fd) {
  return std::thread([listen_fd] {
    auto conn = Accept(listen_fd, absl::Seconds(10));
    if (!conn.ok()) return;
    while (true) {
      auto frame = ReadFrame(conn->get(), 1 << 20, absl::Seconds(10));
      if (!frame.ok() || !WriteFrame(conn->get(), *frame, absl::Seconds(10)).ok()) return;
    }
  });
}

void ExpectEchoes(int fd) {
  const std::vector<uint8_t> ping = {0xa1, 0x61, 0x76, 0x01};
  VEIL_ASSERT_OK(WriteFrame(fd, ping, absl::Seconds(5)));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> back, ReadFrame(fd, 1 << 20, absl::Seconds(5)));
  EXPECT_EQ(back, ping);
}

TEST(TransportTest, UnixListenConnectAccept) {
  TempDir dir;
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint e, ParseEndpoint("unix:" + dir.File("enclave.sock")));
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd listener, Listen(e));
  struct stat st;
  ASSERT_EQ(::lstat(e.path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(BoundEndpoint(listener.get()).value(), e);

  std::thread server = Echo(listener.get());
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd client, Connect(e, absl::Seconds(5)));
  ExpectEchoes(client.get());
  client.reset();
  server.join();
}

TEST(TransportTest, UnixListenReplacesAStaleSocketOnly) {
  TempDir dir;
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint e, ParseEndpoint("unix:" + dir.File("s.sock")));
  { VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd first, Listen(e)); }
  // The first listener is gone and left its socket file behind.
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd second, Listen(e));

  const std::string regular = dir.File("not-a-socket");
  std::ofstream(regular) << "keep me";
  auto refused = Listen(ParseEndpoint("unix:" + regular).value());
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition));
  std::ifstream in(regular);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "keep me");
}

TEST(TransportTest, TcpLoopbackRoundTrip) {
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd listener, Listen(ParseEndpoint("tcp:127.0.0.1:0").value()));
  VEIL_ASSERT_OK_AND_ASSIGN(Endpoint bound, BoundEndpoint(listener.get()));
  EXPECT_EQ(bound.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(bound.address, "127.0.0.1");
  EXPECT_NE(bound.port, 0u);
  std::thread server = Echo(listener.get());
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd client, Connect(bound, absl::Seconds(5)));
  ExpectEchoes(client.get());
  client.reset();
  server.join();
}

TEST(TransportTest, NonLoopbackIsRefusedUnlessAllowed) {
  for (const char* text : {"tcp:0.0.0.0:0", "tcp:10.0.0.1:8000", "tcp:[::]:0", "tcp:[2001:db8::1]:1",
                           "tcp:[::ffff:127.0.0.1]:1"}) {
    SCOPED_TRACE(text);
    const Endpoint e = ParseEndpoint(text).value();
    EXPECT_THAT(Listen(e), StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(CheckEndpoint(e), StatusIs(absl::StatusCode::kPermissionDenied));
    if (e.port != 0) {
      EXPECT_THAT(Connect(e, absl::Seconds(1)), StatusIs(absl::StatusCode::kPermissionDenied));
    }
  }
  for (const char* text : {"tcp:127.0.0.1:1", "tcp:127.1.2.3:1", "tcp:[::1]:1"}) {
    VEIL_EXPECT_OK(CheckEndpoint(ParseEndpoint(text).value()));
  }
  TransportOptions allow;
  allow.allow_non_loopback = true;
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd any, Listen(ParseEndpoint("tcp:0.0.0.0:0").value(), allow));
  EXPECT_NE(BoundEndpoint(any.get()).value().port, 0u);
}

TEST(TransportTest, ConnectFailures) {
  TempDir dir;
  EXPECT_THAT(Connect(ParseEndpoint("unix:" + dir.File("nobody.sock")).value(), absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(Connect(ParseEndpoint("tcp:127.0.0.1:0").value(), absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A port that was just free: nothing listens there.
  uint32_t port;
  {
    VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd l, Listen(ParseEndpoint("tcp:127.0.0.1:0").value()));
    port = BoundEndpoint(l.get()).value().port;
  }
  Endpoint closed = ParseEndpoint("tcp:127.0.0.1:1").value();
  closed.port = port;
  EXPECT_THAT(Connect(closed, absl::Seconds(2)), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(TransportTest, AcceptTimesOut) {
  TempDir dir;
  VEIL_ASSERT_OK_AND_ASSIGN(ScopedFd listener,
                            Listen(ParseEndpoint("unix:" + dir.File("idle.sock")).value()));
  const absl::Time start = absl::Now();
  EXPECT_THAT(Accept(listener.get(), absl::Milliseconds(100)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(90));
}

TEST(TransportTest, VsockSocketCreationFailsCleanlyWithoutVsock) {
  // This machine may or may not have AF_VSOCK; either way Listen returns a
  // socket or a clean Unavailable, and nothing can loop back to test more.
  auto l = Listen(ParseEndpoint("vsock:4294967295:5005").value());
  if (!l.ok()) {
    EXPECT_THAT(l, StatusIs(absl::StatusCode::kUnavailable));
  }
}

TEST(ScopedFdTest, OwnsAndMoves) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ScopedFd a(fds[0]);
  ScopedFd b(std::move(a));
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), fds[0]);
  b.reset();
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);  // closed
  ScopedFd c(fds[1]);
  const int raw = c.release();
  EXPECT_FALSE(c.valid());
  EXPECT_EQ(::close(raw), 0);
}

}  // namespace
}  // namespace veil::wire
