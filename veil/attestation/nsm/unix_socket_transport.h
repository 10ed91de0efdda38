// UnixSocketNsmTransport: the NSM protocol to veil-nsm-sim over a Unix
// socket (frame_io.h framing), standing in for the /dev/nsm ioctl in the
// integration tier.
#ifndef VEIL_ATTESTATION_NSM_UNIX_SOCKET_TRANSPORT_H_
#define VEIL_ATTESTATION_NSM_UNIX_SOCKET_TRANSPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/attestation/nsm/nsm_transport.h"

namespace veil::attestation::nsm {

// UnixSocketNsmTransport owns one connection to the simulator. Not
// thread-safe (DevNsm serializes calls). After any transport failure the
// connection is closed and every later Call fails with Unavailable: a frame
// stream that lost sync cannot be trusted to re-align.
class UnixSocketNsmTransport : public NsmTransport {
 public:
  // Connect connects to the stream socket at `path`. Each Call waits at most
  // `timeout` for the answer (the kernel driver waits 2 minutes). Fails with
  // InvalidArgument for a path too long for sockaddr_un and Unavailable when
  // nothing listens there.
  static absl::StatusOr<std::unique_ptr<NsmTransport>> Connect(
      const std::string& path, absl::Duration timeout = absl::Minutes(2));
  ~UnixSocketNsmTransport() override;

  UnixSocketNsmTransport(const UnixSocketNsmTransport&) = delete;
  UnixSocketNsmTransport& operator=(const UnixSocketNsmTransport&) = delete;

  // Call writes `request` as one frame (at most kMaxRequestSize bytes, else
  // InvalidArgument) and reads one response frame (at most kMaxResponseSize
  // bytes, else ResourceExhausted and the connection is dropped).
  absl::StatusOr<std::vector<uint8_t>> Call(absl::Span<const uint8_t> request) override;

 private:
  explicit UnixSocketNsmTransport(int fd) : fd_(fd) {}
  void Close();
  int fd_;
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_UNIX_SOCKET_TRANSPORT_H_
