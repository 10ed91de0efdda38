// The channel server over a real Unix socket, driven by the host's
// ChannelClient: dispatch, the bounded queue's `busy`, malformed frames,
// and Stop.
#include "veil/enclave/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"
#include "veil/wire/channel_client.h"
#include "veil/wire/frame.h"
#include "veil/wire/transport.h"

namespace veil::enclave {
namespace {

using wire::ErrorCode;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("veil-enclave-server-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock");
    endpoint_ = "unix:" + path_.string();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove(path_);
  }

  void Start(Handlers handlers, int workers, int queue) {
    auto listener = wire::Listen(*wire::ParseEndpoint(endpoint_));
    ASSERT_TRUE(listener.ok()) << listener.status();
    ServerOptions options;
    options.workers = workers;
    options.queue = queue;
    auto server = EnclaveServer::Create(*std::move(listener), std::move(handlers), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = *wire::ChannelClient::Create(endpoint_);
  }

  static Handlers Echo() {
    Handlers h;
    h.infer = [](const wire::InferRequest& r) -> std::variant<std::vector<uint8_t>, ErrorCode> {
      if (r.tenant == "denied") return ErrorCode::kPermissionDenied;
      std::vector<uint8_t> out(r.body.rbegin(), r.body.rend());
      return out;
    };
    h.attest = [](const wire::AttestRequest& r) -> absl::StatusOr<std::vector<uint8_t>> {
      if (!r.nonce) return absl::FailedPreconditionError("no nonce");
      std::vector<uint8_t> doc = {0xD2};
      doc.insert(doc.end(), r.nonce->begin(), r.nonce->end());
      return doc;
    };
    h.health = [] {
      return wire::HealthResponse{"ok", "keys=local nsm=mock profile=development", "m",
                                  std::string(64, 'a'), 0, 1};
    };
    h.credentials = [](wire::CredentialsRequest&) { return absl::OkStatus(); };
    return h;
  }

  wire::Request Infer(std::string tenant, std::vector<uint8_t> body) {
    return wire::Request{0, wire::InferRequest{std::move(tenant), "req-1", std::move(body)}};
  }

  std::filesystem::path path_;
  std::string endpoint_;
  std::unique_ptr<EnclaveServer> server_;
  std::unique_ptr<wire::ChannelClient> client_;
};

TEST_F(ServerTest, DispatchesEveryType) {
  Start(Echo(), 2, 4);
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r, client_->Call(Infer("acme", {1, 2, 3})));
  EXPECT_EQ(std::get<wire::InferResponse>(r.message).body, (std::vector<uint8_t>{3, 2, 1}));
  VEIL_ASSERT_OK_AND_ASSIGN(r, client_->Call(Infer("denied", {1})));
  EXPECT_EQ(std::get<wire::ErrorResponse>(r.message).code, ErrorCode::kPermissionDenied);
  VEIL_ASSERT_OK_AND_ASSIGN(
      r, client_->Call(wire::Request{0, wire::AttestRequest{std::vector<uint8_t>{7, 8}, {}}}));
  EXPECT_EQ(std::get<wire::AttestResponse>(r.message).document,
            (std::vector<uint8_t>{0xD2, 7, 8}));
  VEIL_ASSERT_OK_AND_ASSIGN(r, client_->Call(wire::Request{0, wire::AttestRequest{}}));
  EXPECT_EQ(std::get<wire::ErrorResponse>(r.message).code, ErrorCode::kExpired);
  VEIL_ASSERT_OK_AND_ASSIGN(r, client_->Call(wire::Request{0, wire::HealthRequest{}}));
  EXPECT_EQ(std::get<wire::HealthResponse>(r.message).status, "ok");
}

TEST_F(ServerTest, FullQueueAnswersBusy) {
  absl::Notification release;
  std::atomic<int> started{0};
  Handlers h = Echo();
  h.infer = [&](const wire::InferRequest&) -> std::variant<std::vector<uint8_t>, ErrorCode> {
    started++;
    release.WaitForNotification();
    return std::vector<uint8_t>{1};
  };
  Start(std::move(h), /*workers=*/1, /*queue=*/1);
  // One running, one queued; the third is refused at once.
  auto first = std::async(std::launch::async, [&] { return client_->Call(Infer("a", {1})); });
  while (started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto second = std::async(std::launch::async, [&] { return client_->Call(Infer("a", {2})); });
  while (server_->queue_depth() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response third, client_->Call(Infer("a", {3})));
  EXPECT_EQ(std::get<wire::ErrorResponse>(third.message).code, ErrorCode::kBusy);
  release.Notify();
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r1, first.get());
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r2, second.get());
  EXPECT_TRUE(std::holds_alternative<wire::InferResponse>(r1.message));
  EXPECT_TRUE(std::holds_alternative<wire::InferResponse>(r2.message));
}

TEST_F(ServerTest, MalformedFrameIsAnsweredAndClosedOthersContinue) {
  Start(Echo(), 1, 1);
  VEIL_ASSERT_OK_AND_ASSIGN(wire::ScopedFd raw,
                            wire::Connect(*wire::ParseEndpoint(endpoint_), absl::Seconds(2)));
  const std::vector<uint8_t> junk = {0xA1, 0x61, 0x76, 0x02};  // {"v": 2}
  VEIL_ASSERT_OK(wire::WriteFrame(raw.get(), junk, absl::Seconds(2)));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> frame,
                            wire::ReadFrame(raw.get(), 1 << 20, absl::Seconds(2)));
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r, wire::DecodeResponse(frame));
  EXPECT_EQ(std::get<wire::ErrorResponse>(r.message).code, ErrorCode::kBadRequest);
  EXPECT_TRUE(absl::IsOutOfRange(wire::ReadFrame(raw.get(), 1 << 20, absl::Seconds(2)).status()));
  // An announced length over the limit: too_large, then closed.
  VEIL_ASSERT_OK_AND_ASSIGN(raw, wire::Connect(*wire::ParseEndpoint(endpoint_), absl::Seconds(2)));
  const uint8_t huge[4] = {0x7F, 0xFF, 0xFF, 0xFF};
  ASSERT_EQ(::send(raw.get(), huge, 4, MSG_NOSIGNAL), 4);
  VEIL_ASSERT_OK_AND_ASSIGN(frame, wire::ReadFrame(raw.get(), 1 << 20, absl::Seconds(2)));
  VEIL_ASSERT_OK_AND_ASSIGN(r, wire::DecodeResponse(frame));
  EXPECT_EQ(std::get<wire::ErrorResponse>(r.message).code, ErrorCode::kTooLarge);
  // The server still serves a well-behaved client.
  VEIL_ASSERT_OK_AND_ASSIGN(r, client_->Call(Infer("acme", {9})));
  EXPECT_TRUE(std::holds_alternative<wire::InferResponse>(r.message));
}

TEST_F(ServerTest, FinishedReadersDoNotAccumulate) {
  Start(Echo(), 1, 1);
  for (int i = 0; i < 30; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(wire::ScopedFd c,
                              wire::Connect(*wire::ParseEndpoint(endpoint_), absl::Seconds(2)));
    c.reset();  // the server's reader sees EOF and finishes
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r, client_->Call(Infer("acme", {1})));
  EXPECT_TRUE(std::holds_alternative<wire::InferResponse>(r.message));
  // Every accept joins the readers that finished before it.
  EXPECT_LE(server_->readers(), 3u);
}

TEST_F(ServerTest, StopAnswersQueuedRequestsUnavailable) {
  absl::Notification release;
  std::atomic<int> started{0};
  Handlers h = Echo();
  h.infer = [&](const wire::InferRequest&) -> std::variant<std::vector<uint8_t>, ErrorCode> {
    started++;
    release.WaitForNotification();
    return std::vector<uint8_t>{1};
  };
  Start(std::move(h), 1, 2);
  auto running = std::async(std::launch::async, [&] { return client_->Call(Infer("a", {1})); });
  while (started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto queued = std::async(std::launch::async, [&] { return client_->Call(Infer("a", {2})); });
  while (server_->queue_depth() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread stopper([&] { server_->Stop(); });
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response q, queued.get());
  EXPECT_EQ(std::get<wire::ErrorResponse>(q.message).code, ErrorCode::kUnavailable);
  release.Notify();  // the running request finishes and is answered
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r, running.get());
  EXPECT_TRUE(std::holds_alternative<wire::InferResponse>(r.message));
  stopper.join();
}

}  // namespace
}  // namespace veil::enclave
