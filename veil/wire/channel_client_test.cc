#include "veil/wire/channel_client.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/testing/status_matchers.h"
#include "veil/wire/frame.h"
#include "veil/wire/transport.h"

namespace veil::wire {
namespace {

using ::veil::testing::StatusIs;

// FakeEnclave serves the channel on a unix socket in a fresh directory:
// every connection on its own thread, every request answered by `handler`.
// A handler returning nullopt makes the server close the connection
// without answering.
class FakeEnclave {
 public:
  using Handler = std::function<std::optional<Response>(const Request&)>;

  explicit FakeEnclave(Handler handler, bool close_after_each = false)
      : handler_(std::move(handler)), close_after_each_(close_after_each) {
    std::string tmpl = ::testing::TempDir() + "wire-client-XXXXXX";
    dir_ = ::mkdtemp(tmpl.data());
    endpoint_ = "unix:" + dir_ + "/enclave.sock";
    listener_ = Listen(ParseEndpoint(endpoint_).value()).value();
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeEnclave() {
    stop_ = true;
    acceptor_.join();
    for (std::thread& t : connections_) t.join();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  const std::string& endpoint() const { return endpoint_; }
  int accepted() const { return accepted_; }
  int served() const { return served_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      auto conn = Accept(listener_.get(), absl::Milliseconds(20));
      if (!conn.ok()) continue;
      ++accepted_;
      connections_.emplace_back([this, fd = std::make_shared<ScopedFd>(*std::move(conn))] {
        Serve(fd->get());
      });
    }
  }
  void Serve(int fd) {
    while (!stop_) {
      auto frame = ReadFrame(fd, Limits().max_frame_bytes, absl::Milliseconds(50));
      if (absl::IsDeadlineExceeded(frame.status())) continue;
      if (!frame.ok()) return;
      auto request = DecodeRequest(*frame);
      if (!request.ok()) return;
      std::optional<Response> response = handler_(*request);
      if (!response.has_value()) return;
      ++served_;
      if (!WriteFrame(fd, EncodeResponse(*response).value(), absl::Seconds(5)).ok()) return;
      if (close_after_each_) return;
    }
  }

  Handler handler_;
  bool close_after_each_;
  std::string dir_;
  std::string endpoint_;
  ScopedFd listener_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> served_{0};
  std::thread acceptor_;
  std::vector<std::thread> connections_;  // touched by the acceptor only, then joined
};

// Answer is the honest enclave: health for health, an error for the rest.
std::optional<Response> Answer(const Request& r) {
  Response out;
  out.id = r.id;
  if (r.type() == MessageType::kHealth) {
    out.message = HealthResponse{"ok", "local", "yolov5s", "", 0, 1};
  } else if (const auto* infer = std::get_if<InferRequest>(&r.message)) {
    out.message = InferResponse{infer->body};  // echo, standing in for the result
  } else if (r.type() == MessageType::kCredentials) {
    out.message = CredentialsResponse{};
  } else {
    out.message = ErrorResponse{ErrorCode::kUnavailable};
  }
  return out;
}

Request Health() {
  Request r;
  r.message = HealthRequest{};
  return r;
}

ChannelClientOptions Fast() {
  ChannelClientOptions o;
  o.connect_timeout = absl::Seconds(2);
  o.call_timeout = absl::Seconds(5);
  return o;
}

TEST(ChannelClientTest, CallsAndReusesOneConnection) {
  FakeEnclave enclave(Answer);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  uint64_t last_id = 0;
  for (int i = 0; i < 5; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(Response r, client->Call(Health()));
    EXPECT_EQ(r.type(), MessageType::kHealth);
    EXPECT_GT(r.id, last_id);  // fresh correlation ids
    last_id = r.id;
  }
  EXPECT_EQ(enclave.accepted(), 1);
}

TEST(ChannelClientTest, ErrorResponsesAreAnswersNotFailures) {
  FakeEnclave enclave(Answer);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  Request attest;
  attest.message = AttestRequest{};
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, client->Call(std::move(attest)));
  EXPECT_EQ(std::get<ErrorResponse>(r.message).code, ErrorCode::kUnavailable);
}

TEST(ChannelClientTest, LargeInferRoundTrip) {
  FakeEnclave enclave(Answer);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  Request r;
  r.message = InferRequest{"acme", "r-1", std::vector<uint8_t>(5 * 1024 * 1024, 0x42)};
  VEIL_ASSERT_OK_AND_ASSIGN(Response back, client->Call(std::move(r)));
  EXPECT_EQ(std::get<InferResponse>(back.message).body.size(), 5u * 1024 * 1024);
}

TEST(ChannelClientTest, ReconnectsOnceWhenAPooledConnectionWasClosed) {
  // The enclave closes every connection after one answer: each later call
  // finds its pooled connection dead and must go through on a new one.
  FakeEnclave enclave(Answer, /*close_after_each=*/true);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  for (int i = 0; i < 4; ++i) {
    VEIL_ASSERT_OK(client->Call(Health()));
    // Let the server's close arrive before the next call.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(enclave.served(), 4);
  EXPECT_GE(enclave.accepted(), 4);
}

TEST(ChannelClientTest, DoesNotRetryAFreshConnectionThatDies) {
  std::atomic<int> seen{0};
  FakeEnclave enclave([&](const Request&) -> std::optional<Response> {
    ++seen;
    return std::nullopt;  // hang up without answering
  });
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  EXPECT_THAT(client->Call(Health()), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(seen, 1);
}

TEST(ChannelClientTest, TimesOutOnASilentEnclave) {
  FakeEnclave enclave([](const Request& r) -> std::optional<Response> {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return Answer(r);
  });
  ChannelClientOptions o = Fast();
  o.call_timeout = absl::Milliseconds(150);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), o));
  EXPECT_THAT(client->Call(Health()), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(ChannelClientTest, RefusesMismatchedIdsAndTypes) {
  FakeEnclave wrong_id([](const Request& r) -> std::optional<Response> {
    std::optional<Response> a = Answer(r);
    a->id = r.id + 1;
    return a;
  });
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(wrong_id.endpoint(), Fast()));
  EXPECT_THAT(client->Call(Health()), StatusIs(absl::StatusCode::kDataLoss));

  FakeEnclave wrong_type([](const Request& r) -> std::optional<Response> {
    Response a;
    a.id = r.id;
    a.message = CredentialsResponse{};
    return a;
  });
  VEIL_ASSERT_OK_AND_ASSIGN(auto client2, ChannelClient::Create(wrong_type.endpoint(), Fast()));
  EXPECT_THAT(client2->Call(Health()), StatusIs(absl::StatusCode::kDataLoss));
}

TEST(ChannelClientTest, UnreachableEnclaveIsUnavailable) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      auto client, ChannelClient::Create("unix:" + ::testing::TempDir() + "no-such-enclave.sock", Fast()));
  EXPECT_THAT(client->Call(Health()), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(ChannelClientTest, CreateChecksTheEndpoint) {
  EXPECT_THAT(ChannelClient::Create("tcp:10.1.2.3:5000"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(ChannelClient::Create("tcp:127.0.0.1:0"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ChannelClient::Create("carrier-pigeon:1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_EXPECT_OK(ChannelClient::Create("vsock:16:5005"));
  ChannelClientOptions allow;
  allow.transport.allow_non_loopback = true;
  VEIL_EXPECT_OK(ChannelClient::Create("tcp:10.1.2.3:5000", allow));
}

TEST(ChannelClientTest, InvalidRequestsFailBeforeSending) {
  FakeEnclave enclave(Answer);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  Request bad;
  bad.message = InferRequest{"not a tenant", "r", {1}};
  EXPECT_THAT(client->Call(std::move(bad)), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(enclave.accepted(), 0);
}

TEST(ChannelClientTest, CredentialsReachTheEnclave) {
  std::string got_secret;
  absl::Mutex mu;
  FakeEnclave enclave([&](const Request& r) {
    if (const auto* c = std::get_if<CredentialsRequest>(&r.message)) {
      absl::MutexLock lock(&mu);
      got_secret = std::string(AsStringView(c->secret_access_key.Expose()));
    }
    return Answer(r);
  });
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  Request r;
  CredentialsRequest c;
  c.access_key_id = "ASIAEXAMPLE";
  c.secret_access_key = SecretBytes::Copy(AsBytes("s3cr3t"));
  c.session_token = "token";
  c.expiration = absl::FromUnixSeconds(1800000000);
  r.message = std::move(c);
  VEIL_ASSERT_OK_AND_ASSIGN(Response back, client->Call(std::move(r)));
  EXPECT_EQ(back.type(), MessageType::kCredentials);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(got_secret, "s3cr3t");
}

TEST(ChannelClientTest, ConcurrentCallsEachGetTheirOwnAnswer) {
  FakeEnclave enclave(Answer);
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, ChannelClient::Create(enclave.endpoint(), Fast()));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        Request r;
        const std::string tag = absl::StrCat("t", t, "-", i);
        r.message = InferRequest{"acme", tag, std::vector<uint8_t>(tag.begin(), tag.end())};
        auto back = client->Call(std::move(r));
        if (back.ok() && std::get<InferResponse>(back->message).body ==
                             std::vector<uint8_t>(tag.begin(), tag.end())) {
          ++ok;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 160);
  EXPECT_LE(enclave.accepted(), 8);
}

}  // namespace
}  // namespace veil::wire
