#include "veil/wire/internal/poll.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace veil::wire::internal {

absl::Time DeadlineAfter(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return absl::InfiniteFuture();
  return absl::Now() + timeout;
}

absl::Status WaitFor(int fd, short events, absl::Time deadline, const char* what) {
  while (true) {
    int timeout_ms = -1;
    if (deadline != absl::InfiniteFuture()) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat("wire: ", what, " timed out"));
      }
      // Rounded up, so that a sub-millisecond remainder still waits.
      timeout_ms = static_cast<int>(std::min<int64_t>(
          absl::ToInt64Milliseconds(left + absl::Microseconds(999)), INT_MAX));
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(absl::StrCat("wire: poll failed: ", std::strerror(errno)));
    }
    if (n == 0) continue;  // the deadline check above reports the timeout
    if (p.revents & POLLNVAL) return absl::InvalidArgumentError("wire: descriptor is not open");
    return absl::OkStatus();
  }
}

}  // namespace veil::wire::internal
