#include "veil/testing/node_peer.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace veil::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kBootstrapHint[] = "run scripts/bootstrap from the repository root";

absl::Status ErrnoStatus(const char* what, int err) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

// FindNode returns $VEIL_NODE, else the first executable `node` on $PATH.
absl::StatusOr<std::string> FindNode() {
  if (const char* env = std::getenv("VEIL_NODE"); env != nullptr && *env != '\0') {
    if (::access(env, X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("VEIL_NODE=", env, " is not executable; ", kBootstrapHint));
    }
    return std::string(env);
  }
  const char* path = std::getenv("PATH");
  if (path == nullptr) path = "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (dir.empty()) dir = ".";
    std::string candidate = absl::StrCat(dir, "/node");
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return absl::FailedPreconditionError(
      absl::StrCat("`node` not found on PATH; ", kBootstrapHint, " (it installs Node.js)"));
}

int RemainingMillis(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  if (left.count() > 1'000'000'000) return 1'000'000'000;
  return static_cast<int>(left.count());
}

// WaitFd polls `fd` for `events` until the deadline. Returns true when ready
// (including hang-up/error, which the following read or write reports).
absl::StatusOr<bool> WaitFd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, RemainingMillis(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return ErrnoStatus("poll", errno);
  }
}

void CloseFd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// SigpipeBlocker blocks SIGPIPE on the calling thread for its lifetime, so a
// write to a dead peer fails with EPIPE instead of killing the test, and
// discards a SIGPIPE that the write raised. Nothing process-wide changes.
class SigpipeBlocker {
 public:
  SigpipeBlocker() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask_);
  }
  ~SigpipeBlocker() {
    if (!was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeBlocker(const SigpipeBlocker&) = delete;
  SigpipeBlocker& operator=(const SigpipeBlocker&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NodePeer>> NodePeer::Start(const std::string& script,
                                                          std::vector<std::string> node_flags) {
  auto node = FindNode();
  if (!node.ok()) return node.status();

  std::error_code ec;
  const std::filesystem::path script_path(script);
  if (!std::filesystem::is_regular_file(script_path, ec)) {
    return absl::NotFoundError(absl::StrCat("node peer script not found: ", script));
  }
  const std::filesystem::path modules = script_path.parent_path() / "node_modules";
  if (!std::filesystem::is_directory(modules, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat(modules.string(), " is missing; ", kBootstrapHint, " (it runs npm ci)"));
  }

  // [0] = child's stdin, [1] = child's stdout; each is {read end, write end}.
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return ErrnoStatus("pipe2", err);
  }

  std::vector<std::string> args;
  args.push_back(*node);
  for (std::string& flag : node_flags) args.push_back(std::move(flag));
  args.push_back(script);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the targets; every other pipe end closes on
  // exec.
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, node->c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return absl::FailedPreconditionError(absl::StrCat("cannot start ", *node, ": ",
                                                      std::strerror(rc), "; ", kBootstrapHint));
  }
  // Our ends are non-blocking so every wait goes through poll with a deadline.
  ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
  ::fcntl(out_pipe[0], F_SETFL, ::fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<NodePeer>(new NodePeer(pid, in_pipe[1], out_pipe[0]));
}

NodePeer::~NodePeer() {
  // Closing both pipes ends the peer's input and unblocks any pending write.
  CloseFd(to_child_);
  CloseFd(from_child_);
  if (reaped_) return;
  const auto grace_end = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < grace_end) {
    int status;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

absl::Status NodePeer::Break(absl::Status status) {
  broken_ = status;
  return status;
}

std::string NodePeer::ExitDescription() {
  if (reaped_) return "node peer has exited";
  int status = 0;
  pid_t r = -1;
  // The pipe closes just before the process is gone; wait for it briefly.
  const auto end = Clock::now() + std::chrono::milliseconds(500);
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
    if (r != 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  } while (Clock::now() < end);
  if (r != pid_) return "node peer closed its stdout";
  reaped_ = true;
  if (WIFEXITED(status)) return absl::StrCat("node peer exited with code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("node peer was killed by signal ", WTERMSIG(status));
  return "node peer has exited";
}

absl::Status NodePeer::WriteAll(const std::string& data, Clock::time_point deadline) {
  SigpipeBlocker no_sigpipe;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(to_child_, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) {
      return absl::InternalError(absl::StrCat("writing request: ", ExitDescription()));
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoStatus("writing request to node peer", errno);
    }
    auto ready = WaitFd(to_child_, POLLOUT, deadline);
    if (!ready.ok()) return ready.status();
    if (!*ready) {
      return absl::DeadlineExceededError(
          absl::StrCat("node peer did not accept the request within ", timeout_.count(), " ms"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> NodePeer::ReadLine(Clock::time_point deadline) {
  char chunk[64 * 1024];
  for (;;) {
    size_t newline = read_buffer_.find('\n', scanned_);
    if (newline != std::string::npos) {
      std::string line = read_buffer_.substr(0, newline);
      read_buffer_.erase(0, newline + 1);
      scanned_ = 0;
      return line;
    }
    scanned_ = read_buffer_.size();
    ssize_t n = ::read(from_child_, chunk, sizeof(chunk));
    if (n > 0) {
      read_buffer_.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return absl::InternalError(ExitDescription());
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoStatus("reading from node peer", errno);
    }
    auto ready = WaitFd(from_child_, POLLIN, deadline);
    if (!ready.ok()) return ready.status();
    if (!*ready) {
      return absl::DeadlineExceededError(
          absl::StrCat("node peer did not answer within ", timeout_.count(), " ms"));
    }
  }
}

absl::StatusOr<nlohmann::json> NodePeer::Call(const nlohmann::json& request) {
  if (!broken_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node peer is unusable after an earlier error: ", broken_.message()));
  }
  if (!request.is_object()) {
    return absl::InvalidArgumentError("node peer request must be a JSON object");
  }
  nlohmann::json sent = request;
  if (!sent.contains("id")) sent["id"] = next_id_++;

  // nlohmann::json throws only when a string is not valid UTF-8; this is the
  // adapter that turns that into a Status.
  std::string line;
  try {
    line = sent.dump();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("node peer request: ", e.what()));
  }
  line.push_back('\n');

  const auto deadline = Clock::now() + timeout_;
  if (absl::Status s = WriteAll(line, deadline); !s.ok()) return Break(std::move(s));
  for (;;) {
    auto response_line = ReadLine(deadline);
    if (!response_line.ok()) return Break(response_line.status());
    if (response_line->empty() || (*response_line)[0] != '{') {
      std::cerr << "node peer stdout: " << *response_line << "\n";
      continue;
    }
    nlohmann::json response = nlohmann::json::parse(*response_line, nullptr, false);
    if (response.is_discarded() || !response.is_object()) {
      return Break(absl::InternalError(absl::StrCat(
          "node peer answered with invalid JSON: ", response_line->substr(0, 200))));
    }
    auto id = response.find("id");
    if (id == response.end() || *id != sent["id"]) {
      return Break(absl::InternalError(absl::StrCat("node peer answered out of step: sent id ",
                                                    sent["id"].dump(), ", got ",
                                                    response_line->substr(0, 200))));
    }
    return response;
  }
}

}  // namespace veil::testing
