#include "veil/enclave/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/common/secret_bytes.h"
#include "veil/wire/frame.h"
#include "veil/wire/transport.h"

namespace veil::enclave {

struct EnclaveServer::Connection {
  explicit Connection(wire::ScopedFd f) : fd(std::move(f)) {}
  wire::ScopedFd fd;
  std::mutex write_mu;
  std::atomic<bool> open{true};
};

absl::StatusOr<std::unique_ptr<EnclaveServer>> EnclaveServer::Create(wire::ScopedFd listener,
                                                                     Handlers handlers,
                                                                     ServerOptions options) {
  if (!listener.valid()) return absl::InvalidArgumentError("EnclaveServer needs a listener");
  if (options.workers < 1 || options.queue < 0) {
    return absl::InvalidArgumentError("workers must be >= 1 and queue >= 0");
  }
  if (!handlers.infer || !handlers.attest || !handlers.health || !handlers.credentials) {
    return absl::InvalidArgumentError("EnclaveServer needs every handler");
  }
  std::unique_ptr<EnclaveServer> server(
      new EnclaveServer(std::move(listener), std::move(handlers), std::move(options)));
  for (int i = 0; i < server->options_.workers; ++i) {
    server->workers_.emplace_back([s = server.get()] { s->WorkerLoop(); });
  }
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

EnclaveServer::EnclaveServer(wire::ScopedFd listener, Handlers handlers, ServerOptions options)
    : listener_(std::move(listener)), handlers_(std::move(handlers)), options_(std::move(options)) {}

EnclaveServer::~EnclaveServer() { Stop(); }

size_t EnclaveServer::queue_depth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t EnclaveServer::readers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return readers_.size();
}

void EnclaveServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  // Queued requests are answered `unavailable` while their connections are
  // still open; running ones finish and are answered by their workers.
  std::deque<Task> abandoned;
  {
    std::lock_guard<std::mutex> lock(mu_);
    abandoned.swap(queue_);
  }
  for (Task& t : abandoned) {
    Reply(*t.connection, wire::Response{t.id, wire::ErrorResponse{wire::ErrorCode::kUnavailable}});
  }
  work_available_.notify_all();
  for (auto& w : workers_) w.join();
  std::vector<Reader> readers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Reader& r : readers_) ::shutdown(r.connection->fd.get(), SHUT_RDWR);
    readers.swap(readers_);
  }
  for (Reader& r : readers) r.thread.join();
}

void EnclaveServer::AcceptLoop() {
  while (!stopping_) {
    absl::StatusOr<wire::ScopedFd> accepted =
        wire::Accept(listener_.get(), absl::Milliseconds(200));
    if (!accepted.ok()) continue;  // timeout (to notice Stop) or a transient error
    auto connection = std::make_shared<Connection>(*std::move(accepted));
    std::vector<Reader> finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto done = std::partition(readers_.begin(), readers_.end(),
                                 [](const Reader& r) { return r.connection->open.load(); });
      std::move(done, readers_.end(), std::back_inserter(finished));
      readers_.erase(done, readers_.end());
      if (static_cast<int>(readers_.size()) < options_.max_connections) {
        readers_.push_back(Reader{connection, std::thread([this, connection] {
                                    ReadLoop(connection);
                                  })});
      }  // else `connection` goes out of scope: closed
    }
    // A finished reader has cleared `open` as its last step: joining is brief.
    for (Reader& r : finished) r.thread.join();
  }
}

void EnclaveServer::Reply(Connection& connection, wire::Response response) {
  absl::StatusOr<std::vector<uint8_t>> encoded = wire::EncodeResponse(response, options_.limits);
  if (!encoded.ok()) {
    encoded = wire::EncodeResponse(
        wire::Response{response.id, wire::ErrorResponse{wire::ErrorCode::kInternal}},
        options_.limits);
  }
  std::lock_guard<std::mutex> lock(connection.write_mu);
  if (!connection.open) return;
  if (!wire::WriteFrame(connection.fd.get(), *encoded, options_.write_timeout).ok()) {
    connection.open = false;
    ::shutdown(connection.fd.get(), SHUT_RDWR);
  }
}

void EnclaveServer::ReadLoop(std::shared_ptr<Connection> connection) {
  while (!stopping_ && connection->open) {
    absl::StatusOr<std::vector<uint8_t>> frame = wire::ReadFrame(
        connection->fd.get(), options_.limits.max_frame_bytes, absl::InfiniteDuration());
    if (!frame.ok()) {
      if (absl::IsResourceExhausted(frame.status())) {
        Reply(*connection, wire::Response{0, wire::ErrorResponse{wire::ErrorCode::kTooLarge}});
      } else if (absl::IsInvalidArgument(frame.status())) {
        Reply(*connection, wire::Response{0, wire::ErrorResponse{wire::ErrorCode::kBadRequest}});
      }
      break;  // EOF, truncation or a socket error: the stream is out of sync
    }
    absl::StatusOr<wire::Request> request = wire::DecodeRequest(*frame, options_.limits);
    SecureWipe(frame->data(), frame->size());  // a credentials frame holds a secret
    if (!request.ok()) {
      Reply(*connection, wire::Response{0, wire::ErrorResponse{wire::ErrorCode::kBadRequest}});
      break;
    }
    const uint64_t id = request->id;
    if (auto* infer = std::get_if<wire::InferRequest>(&request->message)) {
      bool queued = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!stopping_ && busy_workers_ + static_cast<int>(queue_.size()) <
                                options_.workers + options_.queue) {
          queue_.push_back(Task{connection, id, std::move(*infer)});
          queued = true;
        }
      }
      if (queued) {
        work_available_.notify_one();
      } else {
        Reply(*connection, wire::Response{id, wire::ErrorResponse{wire::ErrorCode::kBusy}});
      }
    } else if (auto* attest = std::get_if<wire::AttestRequest>(&request->message)) {
      absl::StatusOr<std::vector<uint8_t>> document = handlers_.attest(*attest);
      if (document.ok()) {
        Reply(*connection, wire::Response{id, wire::AttestResponse{*std::move(document)}});
      } else {
        Reply(*connection,
              wire::Response{id, wire::ErrorResponse{wire::ErrorCodeFromStatus(document.status())}});
      }
    } else if (std::holds_alternative<wire::HealthRequest>(request->message)) {
      Reply(*connection, wire::Response{id, handlers_.health()});
    } else if (auto* credentials = std::get_if<wire::CredentialsRequest>(&request->message)) {
      const absl::Status status = handlers_.credentials(*credentials);
      if (status.ok()) {
        Reply(*connection, wire::Response{id, wire::CredentialsResponse{}});
      } else {
        Reply(*connection,
              wire::Response{id, wire::ErrorResponse{wire::ErrorCodeFromStatus(status)}});
      }
    }
  }
  // Close our side: the peer sees the end of the stream at once.
  std::lock_guard<std::mutex> lock(connection->write_mu);
  connection->open = false;
  ::shutdown(connection->fd.get(), SHUT_RDWR);
}

void EnclaveServer::WorkerLoop() {
  while (true) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_available_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_workers_;
    }
    auto outcome = handlers_.infer(task.request);
    // The request body is ciphertext; nothing to wipe here.
    if (auto* body = std::get_if<std::vector<uint8_t>>(&outcome)) {
      Reply(*task.connection, wire::Response{task.id, wire::InferResponse{std::move(*body)}});
    } else {
      Reply(*task.connection,
            wire::Response{task.id, wire::ErrorResponse{std::get<wire::ErrorCode>(outcome)}});
    }
    std::lock_guard<std::mutex> lock(mu_);
    --busy_workers_;
  }
}

}  // namespace veil::enclave
