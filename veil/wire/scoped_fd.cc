#include "veil/wire/scoped_fd.h"

#include <unistd.h>

namespace veil::wire {

void ScopedFd::reset(int fd) {
  if (fd_ >= 0 && fd_ != fd) {
    // Linux releases the descriptor even when close reports EINTR, so it is
    // never retried (a retry could close a descriptor another thread just
    // opened).
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace veil::wire
