#include "veil/nitro_sim/launcher_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace veil::nitro_sim {
namespace {

// In the child between fork and exec: report errno on `report_fd` and exit.
[[noreturn]] void ChildFail(int report_fd, int err) {
  const ssize_t n = write(report_fd, &err, sizeof(err));
  (void)n;
  _exit(127);
}

// Moves `fd` to `target` in the child, clearing close-on-exec.
void ChildDup(int fd, int target, int report_fd) {
  if (fd == target) {
    if (fcntl(fd, F_SETFD, 0) != 0) ChildFail(report_fd, errno);
  } else if (dup2(fd, target) < 0) {
    ChildFail(report_fd, errno);
  }
}

}  // namespace

void UniqueFd::Reset() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::StatusOr<Child> Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // The child's fds 0-3 are filled from these; anything at 0-3 in the
  // parent is first moved out of the way so that one dup2 cannot clobber
  // another's source.
  UniqueFd dev_null(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!dev_null.valid()) return absl::InternalError("cannot open /dev/null");
  auto high = [](int fd) { return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10); };
  UniqueFd in(high(spec.stdin_fd < 0 ? dev_null.get() : spec.stdin_fd));
  UniqueFd out(high(spec.stdout_fd < 0 ? dev_null.get() : spec.stdout_fd));
  UniqueFd err(high(spec.stderr_fd < 0 ? dev_null.get() : spec.stderr_fd));
  UniqueFd extra(high(spec.extra_fd));
  if (!in.valid() || !out.valid() || !err.valid() || (spec.extra_fd >= 0 && !extra.valid())) {
    return absl::InternalError(absl::StrCat("Spawn: cannot duplicate descriptors: ",
                                            std::strerror(errno)));
  }
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("Spawn: pipe: ", std::strerror(errno)));
  }
  UniqueFd report_read(report[0]);
  UniqueFd report_write(report[1]);
  std::optional<rlimit> limit;
  if (spec.address_space_bytes.has_value()) {
    limit = rlimit{static_cast<rlim_t>(*spec.address_space_bytes),
                   static_cast<rlim_t>(*spec.address_space_bytes)};
  }
  const pid_t parent = getpid();

  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  if (pid == 0) {
    const int rfd = report_write.get();
    // Tie the child to the launcher first; if the launcher is already gone,
    // the death signal would never come.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) ChildFail(rfd, errno);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
    ChildDup(in.get(), 0, rfd);
    ChildDup(out.get(), 1, rfd);
    ChildDup(err.get(), 2, rfd);
    if (extra.valid()) ChildDup(extra.get(), 3, rfd);
    if (limit.has_value() && setrlimit(RLIMIT_AS, &*limit) != 0) ChildFail(rfd, errno);
    execv(argv[0], argv.data());
    ChildFail(rfd, errno);
  }

  report_write.Reset();
  Child child;
  child.pid = pid;
  int exec_errno = 0;
  ssize_t n;
  do {
    n = read(report_read.get(), &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", spec.argv[0], ": ", std::strerror(exec_errno)));
  }
  child.pidfd = UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd.valid()) {
    const int e = errno;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    return absl::InternalError(absl::StrCat("pidfd_open: ", std::strerror(e)));
  }
  return child;
}

std::optional<int> WaitExit(Child& child, absl::Duration timeout) {
  if (child.pid < 0) return std::nullopt;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    int wait_ms = -1;
    if (timeout != absl::InfiniteDuration()) {
      const absl::Duration left = deadline - absl::Now();
      wait_ms = left <= absl::ZeroDuration()
                    ? 0
                    : static_cast<int>(absl::ToInt64Milliseconds(left + absl::Milliseconds(1)));
    }
    pollfd p{child.pidfd.get(), POLLIN, 0};
    const int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    int status = 0;
    if (waitpid(child.pid, &status, 0) < 0) return std::nullopt;
    child.pid = -1;
    return status;
  }
}

int StopChild(Child& child, absl::Duration grace) {
  if (child.pid < 0) return 0;
  kill(child.pid, SIGTERM);
  if (std::optional<int> status = WaitExit(child, grace)) return *status;
  kill(child.pid, SIGKILL);
  return WaitExit(child, absl::InfiniteDuration()).value_or(0);
}

std::string SignalName(int signal) {
  switch (signal) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    case SIGSYS: return "SIGSYS";
    default: return absl::StrCat("signal ", signal);
  }
}

std::string WaitStatusText(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exited with status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (", SignalName(WTERMSIG(status)),
                        ")");
  }
  return absl::StrCat("ended with wait status ", status);
}

std::vector<pid_t> ChildPidsOf(pid_t parent) {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* e = readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::stringstream buf;
    buf << stat.rdbuf();
    const std::string s = buf.str();
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const size_t close = s.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(s.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid && ppid == parent) children.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return children;
}

}  // namespace veil::nitro_sim
