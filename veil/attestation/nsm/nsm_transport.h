// NsmTransport: how encoded NSM requests reach an NSM and its answers come
// back. DevNsm speaks the protocol (protocol.h) over one of these, so the
// enclave's code differs between real Nitro and the simulator only here.
#ifndef VEIL_ATTESTATION_NSM_NSM_TRANSPORT_H_
#define VEIL_ATTESTATION_NSM_NSM_TRANSPORT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::attestation::nsm {

// NsmTransport carries one CBOR request (at most kMaxRequestSize bytes) to the
// NSM and returns its CBOR response (at most kMaxResponseSize bytes).
// Implementations need not be thread-safe: DevNsm serializes calls, as the
// kernel driver does.
class NsmTransport {
 public:
  virtual ~NsmTransport() = default;

  // Call sends `request` and returns the response bytes. Transport failures
  // are Unavailable (peer gone), DeadlineExceeded, or NsmError statuses
  // (InputTooLarge when the request is over the limit, InternalError
  // otherwise) for the ioctl.
  virtual absl::StatusOr<std::vector<uint8_t>> Call(absl::Span<const uint8_t> request) = 0;
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_NSM_TRANSPORT_H_
