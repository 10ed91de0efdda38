// A Node.js child process driven over JSON lines, for interop tests against
// the official JavaScript ESDK (interop/esdk_peer.mjs documents the protocol).
#ifndef VEIL_TESTING_NODE_PEER_H_
#define VEIL_TESTING_NODE_PEER_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace veil::testing {

// NodePeer runs `node [node_flags...] <script>` with pipes on its stdin and
// stdout (stderr is inherited) and exchanges one JSON object per line with it.
// Starting Node once and sending many requests keeps property tests fast.
//
// Not thread safe: calls must be serialized by the caller.
class NodePeer {
 public:
  // Start spawns the peer (no shell is involved). `node` is taken from
  // $VEIL_NODE when set, else looked up on $PATH.
  //
  // Returns FailedPrecondition, with a message naming scripts/bootstrap, when
  // `node` cannot be found or the script's directory has no node_modules/;
  // NotFound when `script` does not exist.
  //
  // Interop tests that decrypt RSA PKCS#1 v1.5 key wrapping must pass
  // "--security-revert=CVE-2023-46809" in `node_flags` (see
  // interop/esdk_peer.mjs).
  static absl::StatusOr<std::unique_ptr<NodePeer>> Start(const std::string& script,
                                                         std::vector<std::string> node_flags = {});

  // The destructor closes the pipes (the peer exits on end of input), gives
  // the child a moment to exit, then kills it with SIGKILL and reaps it.
  ~NodePeer();

  NodePeer(const NodePeer&) = delete;
  NodePeer& operator=(const NodePeer&) = delete;

  // Call sends `request` as one line and returns the next response line that
  // parses as a JSON object. Stdout lines that do not start with '{' (Node's
  // own warnings) are skipped and echoed to stderr.
  //
  // If `request` has no "id", a fresh integer id is added. The response's
  // "id" must equal the request's, otherwise the stream is out of step and
  // Internal is returned.
  //
  // A response with "ok": false is still returned as a value: it is the
  // peer's answer, not a transport failure. Errors:
  //   InvalidArgument    `request` is not an object or does not serialize
  //                      (e.g. a string that is not valid UTF-8);
  //   DeadlineExceeded   no response within timeout();
  //   Internal           the peer exited, or answered with something that is
  //                      not a JSON object or carries the wrong id.
  // After DeadlineExceeded or Internal the peer is unusable and every later
  // call returns FailedPrecondition.
  absl::StatusOr<nlohmann::json> Call(const nlohmann::json& request);

  // timeout bounds each Call (writing the request and reading the response).
  // The default is 300 seconds.
  std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

  pid_t pid() const { return pid_; }

 private:
  NodePeer(pid_t pid, int to_child, int from_child)
      : pid_(pid), to_child_(to_child), from_child_(from_child) {}

  absl::Status WriteAll(const std::string& data, std::chrono::steady_clock::time_point deadline);
  absl::StatusOr<std::string> ReadLine(std::chrono::steady_clock::time_point deadline);
  // ExitDescription reaps the child if it has exited and describes how.
  std::string ExitDescription();
  absl::Status Break(absl::Status status);

  pid_t pid_;
  bool reaped_ = false;
  int to_child_;
  int from_child_;
  std::string read_buffer_;
  size_t scanned_ = 0;  // bytes of read_buffer_ known to hold no '\n'
  int64_t next_id_ = 1;
  std::chrono::milliseconds timeout_{std::chrono::seconds(300)};
  absl::Status broken_;  // OK while the stream is usable
};

}  // namespace veil::testing

#endif  // VEIL_TESTING_NODE_PEER_H_
