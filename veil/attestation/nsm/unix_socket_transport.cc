#include "veil/attestation/nsm/unix_socket_transport.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/frame_io.h"
#include "veil/attestation/nsm/nsm_device.h"

namespace veil::attestation::nsm {

absl::StatusOr<std::unique_ptr<NsmTransport>> UnixSocketNsmTransport::Connect(
    const std::string& path, absl::Duration timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("NSM socket path must be 1 to ",
                                                   sizeof(addr.sun_path) - 1, " bytes: ", path));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("socket(AF_UNIX): ", std::strerror(errno)));
  }
  std::unique_ptr<UnixSocketNsmTransport> transport(new UnixSocketNsmTransport(fd));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to the NSM simulator at ", path,
                                               ": ", std::strerror(errno),
                                               " (is veil-nsm-sim running?)"));
  }
  timeval tv{};
  const int64_t usec = absl::ToInt64Microseconds(timeout);
  tv.tv_sec = static_cast<time_t>(usec / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(usec % 1000000);
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0) {
    return absl::InternalError(absl::StrCat("setsockopt(timeout): ", std::strerror(errno)));
  }
  return transport;
}

UnixSocketNsmTransport::~UnixSocketNsmTransport() { Close(); }

void UnixSocketNsmTransport::Close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

absl::StatusOr<std::vector<uint8_t>> UnixSocketNsmTransport::Call(
    absl::Span<const uint8_t> request) {
  if (fd_ < 0) {
    return absl::UnavailableError("NSM simulator connection was closed after an earlier error");
  }
  if (request.size() > kMaxRequestSize) {
    return NsmError(ErrorCode::kInputTooLarge,
                    absl::StrCat("request is ", request.size(), " bytes; at most ", kMaxRequestSize));
  }
  absl::Status s = WriteFrame(fd_, request, kMaxRequestSize);
  if (!s.ok()) {
    Close();
    return s;
  }
  absl::StatusOr<std::vector<uint8_t>> response = ReadFrame(fd_, kMaxResponseSize);
  if (!response.ok()) {
    Close();
    if (absl::IsOutOfRange(response.status())) {
      return absl::UnavailableError("the NSM simulator closed the connection");
    }
    return response.status();
  }
  return response;
}

}  // namespace veil::attestation::nsm
