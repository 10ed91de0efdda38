// Frames on the enclave<->host channel (docs/wire-protocol.md): a 4-byte
// big-endian length followed by that many bytes, one CBOR data item
// (messages.h). Blocking or non-blocking connected stream sockets both work:
// every wait is a poll() bounded by the caller's timeout.
#ifndef VEIL_WIRE_FRAME_H_
#define VEIL_WIRE_FRAME_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace veil::wire {

inline constexpr size_t kFrameHeaderSize = 4;
// kMaxFrameLength is what the 4-byte length can express.
inline constexpr size_t kMaxFrameLength = 0xffffffffu;

// ParseFrameHeader returns the body length announced by `header` (exactly
// kFrameHeaderSize bytes). Fails with InvalidArgument for a zero length or a
// header of the wrong size, and ResourceExhausted for a length over
// `max_frame_bytes`.
absl::StatusOr<size_t> ParseFrameHeader(absl::Span<const uint8_t> header, size_t max_frame_bytes);

// ReadFrame reads one frame from the connected stream socket `fd` and returns
// its body. `timeout` bounds the whole frame, not each read, so a peer that
// trickles bytes cannot hold the reader longer (absl::InfiniteDuration()
// waits for ever). The header is checked (ParseFrameHeader) before any byte
// of the body is read, and the body buffer grows with the bytes that
// actually arrive, never up front from the announced length. Errors:
//   OutOfRange        the peer closed cleanly before the first byte of a
//                     frame (the normal end of a connection);
//   DataLoss          the peer closed after the first byte and before the
//                     last one (a truncated frame);
//   InvalidArgument   a zero length;
//   ResourceExhausted a length over `max_frame_bytes` (nothing more read);
//   DeadlineExceeded  `timeout` expired;
//   Unavailable       any other socket error (e.g. ECONNRESET).
// After any error the stream is out of sync: close the connection.
absl::StatusOr<std::vector<uint8_t>> ReadFrame(int fd, size_t max_frame_bytes,
                                               absl::Duration timeout);

// WriteFrame writes `body` as one frame to the connected stream socket `fd`,
// handling short writes and EINTR, within `timeout` for the whole frame.
// Never raises SIGPIPE (MSG_NOSIGNAL). Fails with InvalidArgument (nothing
// written) for an empty body or one over kMaxFrameLength, DeadlineExceeded
// when `timeout` expires, and Unavailable when the peer is gone or the write
// fails. After a failure part of the frame may have been sent: close the
// connection.
absl::Status WriteFrame(int fd, absl::Span<const uint8_t> body, absl::Duration timeout);

}  // namespace veil::wire

#endif  // VEIL_WIRE_FRAME_H_
