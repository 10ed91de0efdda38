#include "veil/wire/frame.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/wire/internal/poll.h"

namespace veil::wire {
namespace {

// The body buffer starts this small and doubles as bytes arrive, so a header
// alone cannot make the reader allocate max_frame_bytes.
constexpr size_t kInitialBodyBuffer = 64 * 1024;

std::string Errno(int err) { return std::strerror(err); }

// RecvExactly fills `out` from `fd` before `deadline`. `*got` counts the
// bytes received, also on failure. A close is OutOfRange here; the caller
// decides whether it fell on a frame boundary.
absl::Status RecvExactly(int fd, absl::Span<uint8_t> out, absl::Time deadline, size_t* got) {
  while (*got < out.size()) {
    VEIL_RETURN_IF_ERROR(internal::WaitFor(fd, POLLIN, deadline, "read"));
    const ssize_t n = ::recv(fd, out.data() + *got, out.size() - *got, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return absl::UnavailableError(absl::StrCat("wire: read failed: ", Errno(errno)));
    }
    if (n == 0) return absl::OutOfRangeError("wire: connection closed");
    *got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<size_t> ParseFrameHeader(absl::Span<const uint8_t> header, size_t max_frame_bytes) {
  if (header.size() != kFrameHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("wire: frame header of ", header.size(), " bytes, expected 4"));
  }
  const size_t len = (size_t{header[0]} << 24) | (size_t{header[1]} << 16) |
                     (size_t{header[2]} << 8) | size_t{header[3]};
  if (len == 0) return absl::InvalidArgumentError("wire: frame of length zero");
  if (len > max_frame_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("wire: frame announces ", len,
                                                     " bytes, over the limit of ", max_frame_bytes));
  }
  return len;
}

absl::StatusOr<std::vector<uint8_t>> ReadFrame(int fd, size_t max_frame_bytes,
                                               absl::Duration timeout) {
  const absl::Time deadline = internal::DeadlineAfter(timeout);
  uint8_t header[kFrameHeaderSize];
  size_t got = 0;
  absl::Status s = RecvExactly(fd, absl::MakeSpan(header), deadline, &got);
  if (absl::IsOutOfRange(s) && got > 0) {
    return absl::DataLossError("wire: connection closed inside a frame header");
  }
  VEIL_RETURN_IF_ERROR(s);
  VEIL_ASSIGN_OR_RETURN(const size_t len, ParseFrameHeader(header, max_frame_bytes));

  std::vector<uint8_t> body(std::min(len, kInitialBodyBuffer));
  size_t filled = 0;
  while (filled < len) {
    if (filled == body.size()) body.resize(std::min(len, body.size() * 2));
    size_t chunk = 0;
    s = RecvExactly(fd, absl::MakeSpan(body).subspan(filled), deadline, &chunk);
    filled += chunk;
    if (absl::IsOutOfRange(s)) {
      return absl::DataLossError(absl::StrCat("wire: connection closed after ", filled, " of ",
                                              len, " frame bytes"));
    }
    VEIL_RETURN_IF_ERROR(s);
  }
  return body;
}

absl::Status WriteFrame(int fd, absl::Span<const uint8_t> body, absl::Duration timeout) {
  if (body.empty()) return absl::InvalidArgumentError("wire: refusing to write an empty frame");
  if (body.size() > kMaxFrameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("wire: frame of ", body.size(), " bytes does not fit a 4-byte length"));
  }
  const absl::Time deadline = internal::DeadlineAfter(timeout);
  const uint32_t len = static_cast<uint32_t>(body.size());
  uint8_t header[kFrameHeaderSize] = {static_cast<uint8_t>(len >> 24),
                                      static_cast<uint8_t>(len >> 16),
                                      static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)};
  // Header and body leave in one sendmsg where the socket takes them, without
  // copying the body (up to max_frame_bytes) into a joint buffer.
  size_t sent = 0;
  const size_t total = kFrameHeaderSize + body.size();
  while (sent < total) {
    VEIL_RETURN_IF_ERROR(internal::WaitFor(fd, POLLOUT, deadline, "write"));
    iovec iov[2];
    int count = 0;
    if (sent < kFrameHeaderSize) {
      iov[count++] = {header + sent, kFrameHeaderSize - sent};
      iov[count++] = {const_cast<uint8_t*>(body.data()), body.size()};
    } else {
      const size_t off = sent - kFrameHeaderSize;
      iov[count++] = {const_cast<uint8_t*>(body.data()) + off, body.size() - off};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return absl::UnavailableError(absl::StrCat("wire: write failed: ", Errno(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace veil::wire
