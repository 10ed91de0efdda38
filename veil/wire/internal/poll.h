// Deadline-bounded waits on one descriptor, shared by frame.cc and
// transport.cc.
#ifndef VEIL_WIRE_INTERNAL_POLL_H_
#define VEIL_WIRE_INTERNAL_POLL_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace veil::wire::internal {

// DeadlineAfter returns Now() + `timeout`, or InfiniteFuture() for an
// infinite timeout.
absl::Time DeadlineAfter(absl::Duration timeout);

// WaitFor polls `fd` for `events` (POLLIN, POLLOUT) until `deadline`,
// retrying on EINTR. OK when the descriptor is ready or reports an error or
// hang-up (the next call on it surfaces which); DeadlineExceeded ("wire:
// <what> timed out") when the deadline passes first; InvalidArgument for a
// descriptor that is not open; Unavailable if poll itself fails.
absl::Status WaitFor(int fd, short events, absl::Time deadline, const char* what);

}  // namespace veil::wire::internal

#endif  // VEIL_WIRE_INTERNAL_POLL_H_
