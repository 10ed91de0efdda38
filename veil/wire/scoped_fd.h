// ScopedFd: sole ownership of a file descriptor.
#ifndef VEIL_WIRE_SCOPED_FD_H_
#define VEIL_WIRE_SCOPED_FD_H_

namespace veil::wire {

// ScopedFd closes the descriptor it owns when destroyed or reset. Move-only;
// -1 means "none". Not thread-safe (like any value type).
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() { reset(); }
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // release gives up ownership and returns the descriptor (or -1).
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // reset closes the owned descriptor, if any, and takes ownership of `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace veil::wire

#endif  // VEIL_WIRE_SCOPED_FD_H_
