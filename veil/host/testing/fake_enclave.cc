#include "veil/host/testing/fake_enclave.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>

#include "veil/common/status_macros.h"
#include "veil/wire/frame.h"
#include "veil/wire/transport.h"

namespace veil::host::testing {

absl::StatusOr<std::unique_ptr<FakeEnclave>> FakeEnclave::Start(const std::string& endpoint) {
  VEIL_ASSIGN_OR_RETURN(const wire::Endpoint parsed, wire::ParseEndpoint(endpoint));
  std::unique_ptr<FakeEnclave> fake(new FakeEnclave());
  VEIL_ASSIGN_OR_RETURN(fake->listener_, wire::Listen(parsed));
  FakeEnclave* raw = fake.get();
  fake->acceptor_ = std::thread([raw] { raw->AcceptLoop(); });
  return fake;
}

FakeEnclave::~FakeEnclave() { Stop(); }

void FakeEnclave::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  listener_.reset();
  std::vector<std::thread> servers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
    servers.swap(servers_);
  }
  for (std::thread& t : servers) t.join();
}

void FakeEnclave::AcceptLoop() {
  while (!stopping_.load()) {
    auto fd = wire::Accept(listener_.get(), absl::Milliseconds(50));
    if (!fd.ok()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    const int raw_fd = fd->release();
    connections_.push_back(raw_fd);
    servers_.emplace_back([this, raw_fd] { Serve(raw_fd); });
  }
}

void FakeEnclave::Serve(int fd) {
  wire::ScopedFd owned(fd);
  while (!stopping_.load()) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    auto frame = wire::ReadFrame(fd, wire::Limits().max_frame_bytes, absl::Seconds(5));
    if (!frame.ok()) break;
    wire::Response response;
    auto request = wire::DecodeRequest(*frame);
    if (!request.ok()) {
      response.message = wire::ErrorResponse{wire::ErrorCode::kBadRequest};
    } else {
      response = Answer(*request);
    }
    auto encoded = wire::EncodeResponse(response);
    if (!encoded.ok() || !wire::WriteFrame(fd, *encoded, absl::Seconds(5)).ok()) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  connections_.erase(std::remove(connections_.begin(), connections_.end(), fd),
                     connections_.end());
}

wire::Response FakeEnclave::Answer(wire::Request& request) {
  wire::Response response;
  response.id = request.id;
  if (auto* infer = std::get_if<wire::InferRequest>(&request.message)) {
    infer_calls_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_tenant_ = infer->tenant;
      last_request_id_ = infer->request_id;
    }
    if (busy_.load()) {
      response.message = wire::ErrorResponse{wire::ErrorCode::kBusy};
      return response;
    }
    const std::string_view prefix(kGarbagePrefix);
    if (infer->body.size() >= prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), infer->body.begin())) {
      response.message = wire::ErrorResponse{wire::ErrorCode::kBadRequest};
      return response;
    }
    infer_running_.fetch_add(1);
    const absl::Time until = absl::Now() + absl::Nanoseconds(infer_delay_ns_.load());
    while (absl::Now() < until && !stopping_.load()) absl::SleepFor(absl::Milliseconds(5));
    infer_running_.fetch_sub(1);
    response.message = wire::InferResponse{Transform(infer->body)};
  } else if (auto* attest = std::get_if<wire::AttestRequest>(&request.message)) {
    std::vector<uint8_t> document = Document();
    if (attest->nonce.has_value()) {
      document.insert(document.end(), attest->nonce->begin(), attest->nonce->end());
    }
    response.message = wire::AttestResponse{std::move(document)};
  } else if (std::holds_alternative<wire::HealthRequest>(request.message)) {
    response.message = wire::HealthResponse{
        "ok", kFakeTier, "yolov5s", std::string(64, 'a'), 0, 1};
  } else if (auto* credentials = std::get_if<wire::CredentialsRequest>(&request.message)) {
    const auto secret = credentials->secret_access_key.Expose();
    std::lock_guard<std::mutex> lock(mu_);
    credentials_ = CredentialsSeen{credentials->access_key_id,
                                   std::string(secret.begin(), secret.end()),
                                   credentials->session_token, credentials->expiration};
    response.message = wire::CredentialsResponse{};
  }
  return response;
}

std::string FakeEnclave::last_tenant() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_tenant_;
}

std::string FakeEnclave::last_request_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_request_id_;
}

std::optional<CredentialsSeen> FakeEnclave::last_credentials() const {
  std::lock_guard<std::mutex> lock(mu_);
  return credentials_;
}

std::vector<uint8_t> FakeEnclave::Transform(absl::Span<const uint8_t> body) {
  std::vector<uint8_t> out = {'R', 'E', 'S', 'U', 'L', 'T', ':'};
  for (uint8_t b : body) out.push_back(b ^ 0x5a);
  return out;
}

std::vector<uint8_t> FakeEnclave::Document() {
  // The head of a COSE_Sign1 (tag 18, array of 4) followed by "fake".
  return {0xd2, 0x84, 'f', 'a', 'k', 'e'};
}

}  // namespace veil::host::testing
