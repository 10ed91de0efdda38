// EnclaveServer: veil-enclave's side of the channel (docs/wire-protocol.md).
//
// One thread accepts connections; each connection has a reader thread that
// decodes frames and either answers at once (attest, health, credentials)
// or queues an infer request for the worker pool. The queue is bounded:
// when `workers` requests are running and `queue` are waiting, the next one
// is answered `busy` at once, so overload never grows memory. Responses are
// written under a per-connection lock, possibly out of order (the host
// matches them by id). A malformed frame gets an `error` response with code
// bad_request (id 0 when the id itself is unreadable) and the connection is
// closed; the server keeps serving others.
#ifndef VEIL_ENCLAVE_SERVER_H_
#define VEIL_ENCLAVE_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/wire/messages.h"
#include "veil/wire/scoped_fd.h"

namespace veil::enclave {

// Handlers are what the server dispatches to. Each returns the response
// message (or an ErrorResponse); they must be thread-safe.
struct Handlers {
  std::function<std::variant<std::vector<uint8_t>, wire::ErrorCode>(const wire::InferRequest&)>
      infer;
  std::function<absl::StatusOr<std::vector<uint8_t>>(const wire::AttestRequest&)> attest;
  std::function<wire::HealthResponse()> health;
  std::function<absl::Status(wire::CredentialsRequest&)> credentials;
};

struct ServerOptions {
  int workers = 1;
  int queue = 8;
  wire::Limits limits;
  absl::Duration write_timeout = absl::Seconds(30);
  int max_connections = 64;
};

class EnclaveServer {
 public:
  // Create takes a listening socket (wire::Listen) and starts the accept
  // thread and the workers.
  static absl::StatusOr<std::unique_ptr<EnclaveServer>> Create(wire::ScopedFd listener,
                                                               Handlers handlers,
                                                               ServerOptions options);
  ~EnclaveServer();  // Stop()s

  // Stop stops accepting, lets running requests finish, answers queued ones
  // `unavailable`, closes every connection and joins every thread.
  void Stop();

  size_t queue_depth() const;
  // readers returns the reader threads not yet joined (open connections,
  // plus finished ones until the next accept).
  size_t readers() const;
  int workers() const { return options_.workers; }

 private:
  struct Connection;
  struct Task {
    std::shared_ptr<Connection> connection;
    uint64_t id;
    wire::InferRequest request;
  };

  EnclaveServer(wire::ScopedFd listener, Handlers handlers, ServerOptions options);
  void AcceptLoop();
  void ReadLoop(std::shared_ptr<Connection> connection);
  void WorkerLoop();
  void Reply(Connection& connection, wire::Response response);

  wire::ScopedFd listener_;
  const Handlers handlers_;
  const ServerOptions options_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::condition_variable work_available_;
  std::deque<Task> queue_;  // guarded by mu_
  int busy_workers_ = 0;    // guarded by mu_
  // Each open connection with its reader thread; a finished reader is
  // joined and dropped when the next connection is accepted, so a long-lived
  // enclave does not accumulate threads. Guarded by mu_.
  struct Reader {
    std::shared_ptr<Connection> connection;
    std::thread thread;
  };
  std::vector<Reader> readers_;

  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_SERVER_H_
