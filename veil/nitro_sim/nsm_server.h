// NsmServer: the simulated Nitro hypervisor's side of the NSM. It serves the
// NSM protocol (veil/attestation/nsm/protocol.h) on a Unix socket, one
// request frame answered by one response frame (frame_io.h: u32 big-endian
// length, then the CBOR bytes), so that the enclave's DevNsm differs from
// real Nitro only in its transport. The simulator's signing keys live in
// this process, never in the enclave's.
#ifndef VEIL_NITRO_SIM_NSM_SERVER_H_
#define VEIL_NITRO_SIM_NSM_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "veil/attestation/nsm/nsm_device.h"

namespace veil::nitro_sim {

// NsmServerOptions bound what clients can make the server do.
struct NsmServerOptions {
  // MaxConnections is how many clients may be connected at once; further
  // connections are closed as soon as they are accepted.
  size_t max_connections = 32;
};

// HandleNsmRequest answers one encoded NSM request from `device` and returns
// the encoded response. It never fails: a request that does not decode, and
// every error the device reports, becomes an Error response carrying the
// NSM error code (InvalidArgument for malformed requests, InputTooLarge for
// oversize ones).
std::vector<uint8_t> HandleNsmRequest(attestation::nsm::NsmDevice& device,
                                      absl::Span<const uint8_t> request);

// NsmServer listens on a Unix stream socket and serves each client on its
// own thread. A frame announcing more than 4096 bytes is answered with an
// InputTooLarge Error and the connection is closed (its body is never read,
// so the stream cannot be re-synchronized); a truncated frame closes the
// connection; garbage inside a well-formed frame is an Error response and
// the connection stays open. Thread-safe.
class NsmServer {
 public:
  // Start binds `socket_path` (a stale socket file there is replaced; any
  // other file is FailedPrecondition), restricts it to the owner (0600),
  // and starts serving `device`.
  static absl::StatusOr<std::unique_ptr<NsmServer>> Start(
      const std::string& socket_path, std::shared_ptr<attestation::nsm::NsmDevice> device,
      NsmServerOptions options = NsmServerOptions());

  // The destructor calls Shutdown.
  ~NsmServer();
  NsmServer(const NsmServer&) = delete;
  NsmServer& operator=(const NsmServer&) = delete;

  // Shutdown stops accepting, disconnects every client, waits for their
  // threads and removes the socket file. Idempotent.
  void Shutdown();

  // RequestsServed counts the request frames answered so far.
  uint64_t RequestsServed() const;

 private:
  NsmServer(std::string socket_path, int listen_fd, int wake_fd,
            std::shared_ptr<attestation::nsm::NsmDevice> device, NsmServerOptions options);
  // Connection is one client and the thread serving it. `done` is set, and
  // the fd closed, under mu_ when the thread is about to return.
  struct Connection {
    std::thread thread;
    int fd = -1;
    bool done = false;
  };

  void AcceptLoop();
  void Serve(Connection* connection);
  // ReapFinished joins the threads of connections that have ended.
  void ReapFinished();

  const std::string socket_path_;
  const int listen_fd_;
  const int wake_fd_;  // eventfd that wakes the accept loop for shutdown
  const std::shared_ptr<attestation::nsm::NsmDevice> device_;
  const NsmServerOptions options_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::list<std::unique_ptr<Connection>> connections_ ABSL_GUARDED_BY(mu_);
  uint64_t requests_served_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread accept_thread_;
  absl::Mutex shutdown_mu_;  // serializes Shutdown calls
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace veil::nitro_sim

#endif  // VEIL_NITRO_SIM_NSM_SERVER_H_
