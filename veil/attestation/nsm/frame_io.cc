#include "veil/attestation/nsm/frame_io.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace veil::attestation::nsm {
namespace {

absl::Status SendAll(int fd, const uint8_t* data, size_t len) {
  while (len > 0) {
    const ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return absl::UnavailableError("NSM socket: send timed out");
      }
      return absl::UnavailableError(absl::StrCat("NSM socket: send failed: ", std::strerror(errno)));
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// RecvAll reads exactly `len` bytes. A close before the first byte is
// OutOfRange, a close after it Unavailable; `*got` counts the bytes read.
absl::Status RecvAll(int fd, uint8_t* data, size_t len, size_t* got) {
  *got = 0;
  while (*got < len) {
    const ssize_t n = ::recv(fd, data + *got, len - *got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return absl::DeadlineExceededError("NSM socket: receive timed out");
      }
      return absl::UnavailableError(absl::StrCat("NSM socket: receive failed: ", std::strerror(errno)));
    }
    if (n == 0) {
      return *got == 0 ? absl::OutOfRangeError("NSM socket: connection closed")
                       : absl::UnavailableError("NSM socket: connection closed mid-frame");
    }
    *got += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFrame(int fd, absl::Span<const uint8_t> payload, size_t max_len) {
  if (payload.size() > max_len || payload.size() > 0xFFFFFFFFu) {
    return absl::InvalidArgumentError(
        absl::StrCat("frame of ", payload.size(), " bytes is over the limit of ", max_len));
  }
  const uint32_t len = static_cast<uint32_t>(payload.size());
  // Header and body go out in one send, so that a reader never sees a header
  // without its body just because the writer was descheduled.
  std::vector<uint8_t> frame(4 + payload.size());
  frame[0] = static_cast<uint8_t>(len >> 24);
  frame[1] = static_cast<uint8_t>(len >> 16);
  frame[2] = static_cast<uint8_t>(len >> 8);
  frame[3] = static_cast<uint8_t>(len);
  if (!payload.empty()) std::memcpy(frame.data() + 4, payload.data(), payload.size());
  return SendAll(fd, frame.data(), frame.size());
}

absl::StatusOr<std::vector<uint8_t>> ReadFrame(int fd, size_t max_len) {
  uint8_t header[4];
  size_t got = 0;
  absl::Status s = RecvAll(fd, header, sizeof(header), &got);
  if (!s.ok()) return s;
  const uint32_t len = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                       (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (len > max_len) {
    return absl::ResourceExhaustedError(
        absl::StrCat("NSM socket: frame announces ", len, " bytes; the limit is ", max_len));
  }
  std::vector<uint8_t> body(len);
  if (len > 0) {
    s = RecvAll(fd, body.data(), len, &got);
    // The header arrived, so any close now truncates the frame.
    if (absl::IsOutOfRange(s)) return absl::UnavailableError("NSM socket: connection closed mid-frame");
    if (!s.ok()) return s;
  }
  return body;
}

}  // namespace veil::attestation::nsm
