// Length-prefixed frames on a stream socket: the NSM simulator's wire format.
// Each direction carries frames of a u32 big-endian length followed by that
// many bytes; one request frame is answered by one response frame.
#ifndef VEIL_ATTESTATION_NSM_FRAME_IO_H_
#define VEIL_ATTESTATION_NSM_FRAME_IO_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::attestation::nsm {

// WriteFrame writes one frame to the connected socket `fd`. Fails with
// InvalidArgument (nothing written) if `payload` is longer than `max_len`,
// and Unavailable if the peer is gone or the write fails or times out.
// Never raises SIGPIPE.
absl::Status WriteFrame(int fd, absl::Span<const uint8_t> payload, size_t max_len);

// ReadFrame reads one frame from the connected socket `fd`. Fails with
// OutOfRange when the peer closed the connection cleanly before a frame
// began, ResourceExhausted (after reading only the 4-byte header) when the
// announced length exceeds `max_len`, DeadlineExceeded when a receive
// timeout set on `fd` expires, and Unavailable on truncation or I/O errors.
absl::StatusOr<std::vector<uint8_t>> ReadFrame(int fd, size_t max_len);

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_FRAME_IO_H_
