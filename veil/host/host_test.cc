// End-to-end tests of veil-host (HostApp: HTTP server, gateway, tenants,
// channel, proxy, credentials push, logs, metrics) against a FakeEnclave,
// over real sockets. Requests are written by hand on raw TCP connections so
// that framing, timeouts and half-sent requests can be exercised exactly.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/common/sha256.h"
#include "veil/host/host_app.h"
#include "veil/host/testing/fake_enclave.h"
#include "veil/testing/status_matchers.h"
#include "veil/wire/frame.h"
#include "veil/wire/scoped_fd.h"
#include "veil/wire/transport.h"

namespace veil::host {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::FakeEnclave;

constexpr char kAcmeKey[] = "acme-api-key-0123456789";
constexpr char kBetaKey[] = "beta-api-key-9876543210";
constexpr size_t kMaxBody = 64 * 1024;

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client.

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

wire::ScopedFd ConnectTo(int port) {
  wire::ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return {};
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// ReadReply reads one response (through its Content-Length) from `fd`.
absl::StatusOr<Reply> ReadReply(int fd, absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string buf;
  Reply reply;
  size_t head_end = std::string::npos;
  size_t want = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::string_view head(buf.data(), head_end);
        size_t line_end = head.find("\r\n");
        const std::string_view status_line = head.substr(0, line_end);
        if (status_line.size() < 12 ||
            !absl::SimpleAtoi(std::string(status_line.substr(9, 3)), &reply.status)) {
          return absl::DataLossError(absl::StrCat("bad status line: ", std::string(status_line)));
        }
        while (line_end != std::string_view::npos) {
          const size_t start = line_end + 2;
          line_end = head.find("\r\n", start);
          const std::string_view line = head.substr(start, line_end - start);
          const size_t colon = line.find(':');
          if (colon == std::string_view::npos) continue;
          std::string value(line.substr(colon + 1));
          reply.headers[absl::AsciiStrToLower(std::string(line.substr(0, colon)))] =
              std::string(absl::StripAsciiWhitespace(value));
        }
        if (reply.status == 100) {  // interim: read the final answer
          buf.erase(0, head_end + 4);
          head_end = std::string::npos;
          reply = Reply();
          continue;
        }
        if (!absl::SimpleAtoi(reply.Header("content-length"), &want)) {
          return absl::DataLossError("no Content-Length");
        }
      }
    }
    if (head_end != std::string::npos && buf.size() >= head_end + 4 + want) {
      reply.body = buf.substr(head_end + 4, want);
      return reply;
    }
    pollfd p = {fd, POLLIN, 0};
    const int64_t millis = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (millis <= 0) return absl::DeadlineExceededError("no reply in time");
    if (poll(&p, 1, static_cast<int>(millis)) <= 0) continue;
    char chunk[65536];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return absl::DataLossError(absl::StrCat("closed after ", buf.size(), " bytes"));
    buf.append(chunk, static_cast<size_t>(n));
  }
}

absl::StatusOr<Reply> Exchange(int port, std::string_view raw) {
  wire::ScopedFd fd = ConnectTo(port);
  if (!fd.valid() || !SendAll(fd.get(), raw)) return absl::UnavailableError("cannot send");
  return ReadReply(fd.get());
}

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return absl::StrCat("GET ", std::string(target), " HTTP/1.1\r\nHost: test\r\n",
                      std::string(extra_headers), "Connection: close\r\n\r\n");
}

std::string InferRequest(std::string_view key, std::string_view request_id,
                         std::string_view body, std::string_view extra_headers = "") {
  std::string head = "POST /v1/infer HTTP/1.1\r\nHost: test\r\n";
  if (!key.empty()) absl::StrAppend(&head, "Authorization: Bearer ", std::string(key), "\r\n");
  if (!request_id.empty()) {
    absl::StrAppend(&head, "Veil-Request-Id: ", std::string(request_id), "\r\n");
  }
  absl::StrAppend(&head, "Content-Type: application/octet-stream\r\n", std::string(extra_headers),
                  "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n",
                  std::string(body));
  return head;
}

// WaitUntil polls `done` for up to 10 s.
template <typename F>
bool WaitUntil(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

std::string Transformed(std::string_view body) {
  const std::vector<uint8_t> t = FakeEnclave::Transform(AsBytes(body));
  return std::string(t.begin(), t.end());
}

// ---------------------------------------------------------------------------

class HostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veil-host-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    endpoint_ = absl::StrCat("unix:", dir_, "/channel.sock");
    nlohmann::json tenants = {
        {"tenants",
         {{{"id", "acme"},
           {"api_key_sha256", HexEncode(Sha256Hash(AsBytes(kAcmeKey)))},
           {"kms_key", "arn:aws:kms:eu-west-1:111122223333:key/acme-kms-key-id"}},
          {{"id", "beta"}, {"api_key_sha256", HexEncode(Sha256Hash(AsBytes(kBetaKey)))}}}}};
    std::ofstream(dir_ + "/tenants.json") << tenants.dump();
    mkdir((dir_ + "/web").c_str(), 0700);
    std::ofstream(dir_ + "/web/index.html") << "<!doctype html><title>veil</title>";
    std::ofstream(dir_ + "/secret.txt") << "outside the static root";

    config_.listen_address = "127.0.0.1";
    config_.listen_port = 0;
    config_.enclave = endpoint_;
    config_.tenants_file = dir_ + "/tenants.json";
    config_.static_dir = dir_ + "/web";
    config_.max_body_bytes = kMaxBody;
    config_.tenant_concurrency = 2;
    config_.request_timeout_seconds = 3;
    config_.http_threads = 6;
    config_.http_queue = 16;
    overrides_.read_timeout = absl::Milliseconds(800);
    overrides_.control_timeout = absl::Seconds(1);
    overrides_.keep_alive_timeout = absl::Seconds(2);
  }

  void TearDown() override {
    app_.reset();
    enclave_.reset();
    std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  void StartEnclave() {
    VEIL_ASSERT_OK_AND_ASSIGN(enclave_, FakeEnclave::Start(endpoint_));
  }

  void StartHost() {
    log_ = std::make_unique<HostLog>([this](std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_text_.append(line);
    });
    VEIL_ASSERT_OK_AND_ASSIGN(app_, HostApp::Start(config_, log_.get(), overrides_));
    port_ = app_->http_port();
  }

  void StartBoth() {
    StartEnclave();
    StartHost();
  }

  std::string LogText() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_text_;
  }

  Reply Must(std::string_view raw) {
    auto reply = Exchange(port_, raw);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : Reply();
  }

  std::string dir_;
  std::string endpoint_;
  HostConfig config_;
  HostAppOverrides overrides_;
  std::unique_ptr<FakeEnclave> enclave_;
  std::unique_ptr<HostLog> log_;
  std::unique_ptr<HostApp> app_;
  int port_ = 0;
  std::mutex log_mu_;
  std::string log_text_;
};

TEST_F(HostTest, InferRelaysCiphertextBothWays) {
  StartBoth();
  const std::string body = "\x02\x05 an ESDK message, opaque to the host \x00\xff";
  const Reply r = Must(InferRequest(kAcmeKey, "req-0001", body));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/octet-stream");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.body, Transformed(body));
  EXPECT_EQ(enclave_->last_tenant(), "acme");
  EXPECT_EQ(enclave_->last_request_id(), "req-0001");

  // The other tenant is relayed under its own id; chunked bodies work.
  const std::string chunked =
      "POST /v1/infer HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer beta-api-key-9876543210\r\n"
      "Veil-Request-Id: r2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
  const Reply c = Must(chunked);
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.body, Transformed("hello world"));
  EXPECT_EQ(enclave_->last_tenant(), "beta");
}

TEST_F(HostTest, KeepAliveAndExpectContinue) {
  StartBoth();
  wire::ScopedFd fd = ConnectTo(port_);
  ASSERT_TRUE(fd.valid());
  for (int i = 0; i < 3; ++i) {
    const std::string body = absl::StrCat("body ", i);
    ASSERT_TRUE(SendAll(fd.get(), absl::StrCat("POST /v1/infer HTTP/1.1\r\nHost: t\r\n"
                                               "Authorization: Bearer ", kAcmeKey,
                                               "\r\nVeil-Request-Id: ka-", i,
                                               "\r\nExpect: 100-continue\r\nContent-Length: ",
                                               body.size(), "\r\n\r\n")));
    // The server says 100 Continue before the body is sent.
    char interim[64] = {};
    ASSERT_EQ(recv(fd.get(), interim, 25, MSG_WAITALL), 25);
    EXPECT_EQ(std::string(interim, 25), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_TRUE(SendAll(fd.get(), body));
    auto r = ReadReply(fd.get());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, Transformed(body));
    EXPECT_EQ(r->Header("connection"), "");
  }
}

TEST_F(HostTest, WrongAndUnknownCredentialsGetIdenticalAnswers) {
  StartBoth();
  const std::vector<std::string> requests = {
      InferRequest("acme-api-key-0123456788", "rid", "x"),  // acme's key, one char off
      InferRequest("nobody-has-this-key", "rid", "x"),
      InferRequest("", "rid", "x"),
      InferRequest(kAcmeKey, "rid", "x", "Authorization: Bearer again\r\n"),  // repeated
      absl::StrCat("POST /v1/infer HTTP/1.1\r\nAuthorization: Basic YWNtZTpwdw==\r\n"
                   "Veil-Request-Id: rid\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"),
  };
  std::vector<Reply> replies;
  for (const std::string& raw : requests) replies.push_back(Must(raw));
  for (const Reply& r : replies) {
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.body, replies[0].body);
    EXPECT_EQ(r.Header("www-authenticate"), replies[0].Header("www-authenticate"));
  }
  EXPECT_EQ(replies[0].body, R"({"error":"unauthenticated","request_id":"rid"})");
  EXPECT_EQ(enclave_->infer_calls(), 0);
}

TEST_F(HostTest, RequestIdIsRequiredAndChecked) {
  StartBoth();
  Reply r = Must(InferRequest(kAcmeKey, "", "x"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["error"], "invalid_request_id");
  r = Must(InferRequest(kAcmeKey, std::string(129, 'a'), "x"));
  EXPECT_EQ(r.status, 400);
  r = Must(InferRequest(kAcmeKey, "a", "x", "Veil-Request-Id: b\r\n"));
  EXPECT_EQ(r.status, 400);
  r = Must(InferRequest(kAcmeKey, std::string(128, '~'), "x"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(enclave_->infer_calls(), 1);
}

TEST_F(HostTest, OversizedBodiesAre413) {
  StartBoth();
  // Content-Length over the limit: refused from the head alone, with no
  // body sent at all.
  auto r = Exchange(port_, absl::StrCat("POST /v1/infer HTTP/1.1\r\nAuthorization: Bearer ",
                                        kAcmeKey, "\r\nVeil-Request-Id: big\r\n"
                                        "Content-Length: ", kMaxBody + 1, "\r\n\r\n"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Json()["error"], "too_large");
  EXPECT_EQ(r->Header("connection"), "close");
  // Exactly the limit is fine.
  EXPECT_EQ(Must(InferRequest(kAcmeKey, "edge", std::string(kMaxBody, 'z'))).status, 200);
  // Chunked: counted while reading.
  std::string chunked = absl::StrCat("POST /v1/infer HTTP/1.1\r\nAuthorization: Bearer ",
                                     kAcmeKey, "\r\nVeil-Request-Id: big2\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n");
  const std::string piece(16 * 1024, 'q');
  for (int i = 0; i < 5; ++i) absl::StrAppend(&chunked, "4000\r\n", piece, "\r\n");
  absl::StrAppend(&chunked, "0\r\n\r\n");
  r = Exchange(port_, chunked);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(enclave_->infer_calls(), 1);
}

TEST_F(HostTest, EnclaveErrorCodesMapToHttp) {
  StartBoth();
  const Reply r = Must(InferRequest(kAcmeKey, "g1", "garbage, not an ESDK message"));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, R"({"error":"bad_request","request_id":"g1"})");
  EXPECT_EQ(r.Header("retry-after"), "");

  enclave_->set_busy(true);
  const Reply busy = Must(InferRequest(kAcmeKey, "b1", "image"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.Json()["error"], "busy");
  EXPECT_EQ(busy.Header("retry-after"), "1");
}

TEST_F(HostTest, MalformedRequestsAreRefused) {
  StartBoth();
  // Both framings at once (request smuggling), obs-fold, a bad version, a
  // bad Content-Length, an unknown transfer coding.
  EXPECT_EQ(Must("POST /v1/infer HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                 "\r\n\r\n0\r\n\r\n").status, 400);
  EXPECT_EQ(Must("GET /healthz HTTP/1.1\r\nX-A: b\r\n  folded\r\n\r\n").status, 400);
  EXPECT_EQ(Must("GET /healthz HTTP/2.0\r\n\r\n").status, 505);
  EXPECT_EQ(Must("GET /healthz HTTP/1.1\r\nContent-Length: 1x\r\n\r\n").status, 400);
  EXPECT_EQ(Must("GET /healthz HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx")
                .status, 400);
  EXPECT_EQ(Must("POST /v1/infer HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n").status, 501);
  EXPECT_EQ(Must(absl::StrCat("GET /healthz HTTP/1.1\r\nX-Big: ", std::string(20000, 'a'),
                              "\r\n\r\n")).status, 431);
  EXPECT_EQ(Must("GET /v1/infer HTTP/1.1\r\n\r\n").status, 405);
  EXPECT_EQ(Must("GET /v1/nothing HTTP/1.1\r\n\r\n").status, 404);
  EXPECT_EQ(Must(InferRequest(kAcmeKey, "ct", "x", "Content-Type: text/plain\r\n")).status,
            415);  // a second, conflicting Content-Type
  EXPECT_EQ(Must("POST /v1/infer HTTP/1.1\r\nAuthorization: Bearer acme-api-key-0123456789\r\n"
                 "Veil-Request-Id: ct2\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n"
                 "\r\nx").status,
            415);
  // The host still serves.
  EXPECT_EQ(Must(Get("/healthz")).status, 200);
}

TEST_F(HostTest, SlowClientTimesOutWhileOthersAreServed) {
  StartBoth();
  wire::ScopedFd slow = ConnectTo(port_);
  ASSERT_TRUE(SendAll(slow.get(), absl::StrCat("POST /v1/infer HTTP/1.1\r\nAuthorization: Bearer ",
                                               kAcmeKey, "\r\nVeil-Request-Id: slow\r\n"
                                               "Content-Length: 100\r\n\r\n0123456789")));
  const absl::Time start = absl::Now();
  // Meanwhile other requests are served.
  EXPECT_EQ(Must(InferRequest(kBetaKey, "fast-1", "x")).status, 200);
  EXPECT_EQ(Must(Get("/healthz")).status, 200);
  // A client that sends nothing after connecting is closed too.
  wire::ScopedFd silent = ConnectTo(port_);
  auto r = ReadReply(slow.get(), absl::Seconds(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->Json()["error"], "timeout");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_EQ(enclave_->infer_calls(), 1);
  char byte;
  pollfd p = {silent.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  EXPECT_EQ(recv(silent.get(), &byte, 1, 0), 0);  // closed without an answer
}

TEST_F(HostTest, EnclaveDownIs503FastThenRecovers) {
  StartHost();  // no enclave yet
  absl::Time start = absl::Now();
  Reply r = Must(InferRequest(kAcmeKey, "down-1", "x"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["error"], "enclave_unavailable");
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(Must(Get("/readyz")).status, 503);
  const Reply health = Must(Get("/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.Json()["enclave"]["reachable"], false);
  EXPECT_EQ(Must(Get("/v1/attestation?nonce=00")).status, 503);

  StartEnclave();
  EXPECT_EQ(Must(Get("/readyz")).status, 200);
  EXPECT_EQ(Must(InferRequest(kAcmeKey, "up-1", "x")).status, 200);

  // Down again (pooled connections die), then back: each answer is quick.
  enclave_->Stop();
  start = absl::Now();
  EXPECT_EQ(Must(InferRequest(kAcmeKey, "down-2", "x")).status, 503);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  enclave_.reset();
  StartEnclave();
  EXPECT_EQ(Must(InferRequest(kAcmeKey, "up-2", "x")).status, 200);
}

TEST_F(HostTest, TenantConcurrencyLimitIs429) {
  StartBoth();
  enclave_->set_infer_delay(absl::Milliseconds(700));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      auto r = Exchange(port_, InferRequest(kAcmeKey, absl::StrCat("slow-", i), "x"));
      if (r.ok() && r->status == 200) ok.fetch_add(1);
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return enclave_->infer_running() == 2; }));
  const Reply limited = Must(InferRequest(kAcmeKey, "third", "x"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Json()["error"], "tenant_limit");
  EXPECT_EQ(limited.Header("retry-after"), "1");
  // Another tenant is not affected.
  enclave_->set_infer_delay(absl::ZeroDuration());
  EXPECT_EQ(Must(InferRequest(kBetaKey, "other", "x")).status, 200);
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2);
  // The slots are free again.
  EXPECT_EQ(Must(InferRequest(kAcmeKey, "after", "x")).status, 200);
}

TEST_F(HostTest, OverloadIs503WithRetryAfter) {
  config_.http_threads = 1;
  config_.http_queue = 0;
  StartBoth();
  // One client holds the only thread with a half-sent request.
  wire::ScopedFd holder = ConnectTo(port_);
  ASSERT_TRUE(SendAll(holder.get(), "GET /healthz HTTP/1.1\r\n"));
  absl::SleepFor(absl::Milliseconds(100));
  const Reply r = Must(Get("/healthz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Json()["error"], "overloaded");
  EXPECT_EQ(r.Header("retry-after"), "1");
}

TEST_F(HostTest, GracefulShutdownFinishesInFlightRequests) {
  StartBoth();
  enclave_->set_infer_delay(absl::Milliseconds(600));
  absl::StatusOr<Reply> in_flight;
  std::thread client([&] { in_flight = Exchange(port_, InferRequest(kAcmeKey, "last", "bye")); });
  ASSERT_TRUE(WaitUntil([&] { return enclave_->infer_running() == 1; }));
  const absl::Time start = absl::Now();
  app_->Stop(absl::Seconds(5));
  client.join();
  ASSERT_TRUE(in_flight.ok()) << in_flight.status();
  EXPECT_EQ(in_flight->status, 200);
  EXPECT_EQ(in_flight->body, Transformed("bye"));
  EXPECT_EQ(in_flight->Header("connection"), "close");
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // No longer accepting.
  EXPECT_FALSE(ConnectTo(port_).valid());
}

TEST_F(HostTest, AttestationRelaysTheNonce) {
  StartBoth();
  const std::string nonce(64, 'a');  // 32 bytes of 0xaa
  Reply r = Must(Get(absl::StrCat("/v1/attestation?nonce=", nonce)));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/cbor");
  std::vector<uint8_t> want = FakeEnclave::Document();
  want.insert(want.end(), 32, 0xaa);
  EXPECT_EQ(r.body, std::string(want.begin(), want.end()));
  EXPECT_EQ(Must(Get("/v1/attestation")).status, 200);
  EXPECT_EQ(Must(Get("/v1/attestation?nonce=")).status, 200);
  EXPECT_EQ(Must(Get(absl::StrCat("/v1/attestation?nonce=", std::string(130, '0')))).status, 400);
  EXPECT_EQ(Must(Get("/v1/attestation?nonce=abc")).status, 400);
  EXPECT_EQ(Must(Get("/v1/attestation?nonce=00&nonce=00")).status, 400);
  EXPECT_EQ(Must(Get("/v1/attestation?other=1")).status, 400);
}

TEST_F(HostTest, HealthShowsTheEnclaveTierAsIs) {
  StartBoth();
  const Reply r = Must(Get("/healthz"));
  ASSERT_EQ(r.status, 200);
  const nlohmann::json j = r.Json();
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["enclave"]["tier"], testing::kFakeTier);
  EXPECT_EQ(j["enclave"]["model"], "yolov5s");
  EXPECT_EQ(j["enclave"]["workers"], 1);
  EXPECT_EQ(j["enclave"]["queue_depth"], 0);
  EXPECT_EQ(Must(Get("/readyz")).status, 200);
  EXPECT_THAT(LogText(), HasSubstr(testing::kFakeTier));  // in the startup banner
}

TEST_F(HostTest, StaticFilesStayInsideTheirDirectory) {
  StartBoth();
  Reply r = Must(Get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>veil</title>");
  EXPECT_EQ(r.Header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("x-content-type-options"), "nosniff");
  for (const char* path : {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt",
                           "/.hidden", "/nope.html", "//etc/passwd", "/%00"}) {
    r = Must(Get(path));
    EXPECT_TRUE(r.status == 404 || r.status == 400) << path << " " << r.status;
    EXPECT_THAT(r.body, Not(HasSubstr("outside"))) << path;
  }
  EXPECT_EQ(Must("POST /index.html HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status, 405);
}

bool HavePromtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

TEST_F(HostTest, MetricsPassPromtoolAndNameNoTenant) {
  config_.kms_proxy = KmsProxyConfig{absl::StrCat("unix:", dir_, "/kms.sock"),
                                     "tcp:127.0.0.1:9"};
  StartBoth();
  Must(InferRequest(kAcmeKey, "metrics-req-1", "x"));
  Must(InferRequest(kBetaKey, "metrics-req-2", "garbage"));
  Must(InferRequest("wrong", "metrics-req-3", "x"));
  Must(Get("/healthz"));
  const Reply r = Must(Get("/metrics"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = r.body;
  EXPECT_THAT(text, HasSubstr("veil_host_requests_total{route=\"infer\",code=\"ok\"} 1"));
  EXPECT_THAT(text, HasSubstr("veil_host_requests_total{route=\"infer\",code=\"bad_request\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("veil_host_requests_total{route=\"infer\",code=\"unauthenticated\"} 1"));
  EXPECT_THAT(text, HasSubstr("veil_host_request_duration_seconds_bucket{route=\"infer\""));
  EXPECT_THAT(text, HasSubstr("veil_host_enclave_up 1"));
  EXPECT_THAT(text, HasSubstr("veil_host_enclave_queue_depth 0"));
  EXPECT_THAT(text, HasSubstr("veil_host_in_flight_requests 1"));  // this request
  EXPECT_THAT(text, HasSubstr("veil_host_kms_proxy_bytes_total{direction=\"to_kms\"} 0"));
  for (const char* secret : {"acme", "beta", "metrics-req", "wrong", "kms-key-id"}) {
    EXPECT_THAT(text, Not(HasSubstr(secret)));
  }
  if (!HavePromtool()) {
    GTEST_SKIP() << "promtool not installed (Debian package `prometheus`, see scripts/bootstrap)";
  }
  const std::string file = dir_ + "/metrics.txt";
  std::ofstream(file) << text;
  const std::string out = dir_ + "/promtool.out";
  const int rc = std::system(
      absl::StrCat("promtool check metrics < '", file, "' > '", out, "' 2>&1").c_str());
  std::ifstream in(out);
  const std::string report((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << report << "\n" << text;
}

TEST_F(HostTest, LogsCarryMetadataOnlyNoCanary) {
  config_.credentials = CredentialsConfig{true, 300};
  overrides_.credentials_source = [] () -> absl::StatusOr<wire::CredentialsRequest> {
    wire::CredentialsRequest c;
    c.access_key_id = "AKIACANARY";
    c.secret_access_key = SecretBytes::Copy(AsBytes("CANARY-secret-access-key"));
    c.session_token = "CANARY-session-token";
    c.expiration = absl::Now() + absl::Hours(1);
    return c;
  };
  StartBoth();
  const std::string canary = "CANARY";
  const std::string body = absl::StrCat("image bytes ", canary, " more bytes");
  const std::string headers = absl::StrCat("User-Agent: ", canary, "-agent\r\nX-Note: ", canary,
                                           "\r\nCookie: c=", canary, "\r\n");
  Must(InferRequest(kAcmeKey, "log-ok", body, headers));
  Must(InferRequest(absl::StrCat("key-", canary), "log-401", body, headers));
  Must(InferRequest(kAcmeKey, "log-garbage", absl::StrCat("garbage", canary), headers));
  Must(absl::StrCat("POST /v1/infer?x=", canary, " HTTP/1.1\r\nAuthorization: Bearer ", kBetaKey,
                    "\r\nVeil-Request-Id: log-chunked\r\n", headers,
                    "Transfer-Encoding: chunked\r\n\r\n6\r\n", canary, "\r\n0\r\n\r\n"));
  Must(Get(absl::StrCat("/v1/attestation?nonce=", HexEncode(AsBytes(canary))), headers));
  Must(Get(absl::StrCat("/", canary, ".html"), headers));
  Must(absl::StrCat("GET /", canary, " HTTP/1.1\r\nBad Header\r\n\r\n"));
  Must(InferRequest(kAcmeKey, "log-big", "", absl::StrCat(headers, "X-Pad: ", canary, "\r\n")));
  // Wait for the credentials push to be logged.
  for (int i = 0; i < 200 && !enclave_->last_credentials().has_value(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(enclave_->last_credentials().has_value());
  EXPECT_EQ(enclave_->last_credentials()->secret_access_key, "CANARY-secret-access-key");
  absl::SleepFor(absl::Milliseconds(50));
  const std::string log = LogText();
  EXPECT_THAT(log, Not(HasSubstr(canary)));
  EXPECT_THAT(log, Not(HasSubstr(kAcmeKey)));
  EXPECT_THAT(log, Not(HasSubstr("acme-kms-key-id")));
  EXPECT_THAT(log, Not(HasSubstr("\"acme\"")));
  // What is there: one JSON line per request with the metadata.
  EXPECT_THAT(log, HasSubstr("\"request_id\":\"log-ok\""));
  EXPECT_THAT(log, HasSubstr("\"event\":\"credentials_pushed\""));
  int lines = 0;
  size_t pos = 0;
  while ((pos = log.find('\n', pos)) != std::string::npos) {
    ++lines;
    ++pos;
  }
  EXPECT_GE(lines, 8);
  for (size_t start = 0, end; (end = log.find('\n', start)) != std::string::npos;
       start = end + 1) {
    EXPECT_FALSE(nlohmann::json::parse(log.substr(start, end - start), nullptr, false)
                     .is_discarded());
  }
}

TEST_F(HostTest, KmsProxyForwardsToTheOneDestination) {
  // A destination that echoes, standing in for the key service.
  VEIL_ASSERT_OK_AND_ASSIGN(const wire::Endpoint any, wire::ParseEndpoint("tcp:127.0.0.1:0"));
  VEIL_ASSERT_OK_AND_ASSIGN(wire::ScopedFd kms, wire::Listen(any));
  VEIL_ASSERT_OK_AND_ASSIGN(const wire::Endpoint bound, wire::BoundEndpoint(kms.get()));
  std::thread echo([&] {
    auto conn = wire::Accept(kms.get(), absl::Seconds(5));
    if (!conn.ok()) return;
    char buf[256];
    const ssize_t n = recv(conn->get(), buf, sizeof(buf), 0);
    if (n > 0) SendAll(conn->get(), std::string_view(buf, static_cast<size_t>(n)));
  });
  config_.kms_proxy = KmsProxyConfig{absl::StrCat("unix:", dir_, "/kms.sock"), bound.ToString()};
  StartBoth();
  ASSERT_TRUE(app_->kms_proxy_endpoint().has_value());
  VEIL_ASSERT_OK_AND_ASSIGN(const wire::Endpoint proxy_at,
                            wire::ParseEndpoint(*app_->kms_proxy_endpoint()));
  VEIL_ASSERT_OK_AND_ASSIGN(wire::ScopedFd c, wire::Connect(proxy_at, absl::Seconds(2)));
  ASSERT_TRUE(SendAll(c.get(), "tls-record"));
  char buf[32] = {};
  ASSERT_EQ(recv(c.get(), buf, 10, MSG_WAITALL), 10);
  EXPECT_EQ(std::string(buf, 10), "tls-record");
  echo.join();
  c.reset();
  // The proxy counts a chunk after forwarding it, so the echo can reach us
  // a moment before the counter moves: poll briefly.
  const std::string to_kms = "veil_host_kms_proxy_bytes_total{direction=\"to_kms\"} 10";
  const std::string to_enclave = "veil_host_kms_proxy_bytes_total{direction=\"to_enclave\"} 10";
  Reply m = Must(Get("/metrics"));
  for (int i = 0; i < 100 && (m.body.find(to_kms) == std::string::npos ||
                              m.body.find(to_enclave) == std::string::npos);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    m = Must(Get("/metrics"));
  }
  EXPECT_THAT(m.body, HasSubstr(to_kms));
  EXPECT_THAT(m.body, HasSubstr(to_enclave));
}

}  // namespace
}  // namespace veil::host
