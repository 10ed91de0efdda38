// Child processes for the simulated Nitro launcher: spawned tied to the
// launcher (PR_SET_PDEATHSIG), watched through a pidfd, stopped with
// SIGTERM then SIGKILL. Linux only.
#ifndef VEIL_NITRO_SIM_LAUNCHER_PROCESS_H_
#define VEIL_NITRO_SIM_LAUNCHER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace veil::nitro_sim {

// UniqueFd owns a file descriptor and closes it when destroyed.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();

 private:
  int fd_ = -1;
};

// SpawnSpec describes one child process.
struct SpawnSpec {
  // argv[0] is the executable's path (no PATH search).
  std::vector<std::string> argv;
  // The child's stdin, stdout and stderr; -1 means /dev/null.
  int stdin_fd = -1;
  int stdout_fd = 2;
  int stderr_fd = 2;
  // extra_fd, when >= 0, is passed to the child as file descriptor 3.
  int extra_fd = -1;
  // address_space_bytes, when set, becomes the child's RLIMIT_AS.
  std::optional<uint64_t> address_space_bytes;
};

// Child is a running (or exited, not yet reaped) child process.
struct Child {
  pid_t pid = -1;
  // pidfd becomes readable when the child exits.
  UniqueFd pidfd;
};

// Spawn starts `spec` with an empty signal mask, default signal actions and
// PR_SET_PDEATHSIG(SIGKILL): the child dies when the calling thread does.
// Every other descriptor of the caller must be close-on-exec. Fails with
// FailedPrecondition when the executable cannot be run (the exec error is
// reported back, not left to a silent exit status).
absl::StatusOr<Child> Spawn(const SpawnSpec& spec);

// WaitExit waits at most `timeout` (infinite when absl::InfiniteDuration())
// for `child` to exit and reaps it. Returns its wait status, or nullopt on
// timeout.
std::optional<int> WaitExit(Child& child, absl::Duration timeout);

// StopChild sends SIGTERM, waits `grace`, then sends SIGKILL and reaps the
// child. Returns its wait status.
int StopChild(Child& child, absl::Duration grace);

// WaitStatusText returns "exited with status N" or "killed by signal N (NAME)".
std::string WaitStatusText(int status);

// SignalName returns "SIGTERM" and the like, or "signal N".
std::string SignalName(int signal);

// ChildPidsOf returns the pids whose parent is `parent` (read from /proc).
std::vector<pid_t> ChildPidsOf(pid_t parent);

}  // namespace veil::nitro_sim

#endif  // VEIL_NITRO_SIM_LAUNCHER_PROCESS_H_
