// The `veil-kms` subcommands as testable functions (STYLE.md C15): main()
// only parses flags (command_table.cc) and maps the Status to an exit code.
#ifndef VEIL_KMS_SERVER_CLI_COMMANDS_H_
#define VEIL_KMS_SERVER_CLI_COMMANDS_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace veil::kms_server {

struct ServeOptions {
  std::string listen;  // HOST:PORT (PORT 0: any free port)
  std::string data_dir;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> attestation_roots;  // PEM files
  std::string region = "us-east-1";
  int threads = 64;
  int attestation_max_age_seconds = 300;
  std::string audit_log;  // default <data-dir>/audit.jsonl
  std::string port_file;  // written with the bound port once listening
};

// RunServe serves until SIGINT or SIGTERM. It creates the data directory
// (0700), the root key (0600) and the database on first start.
absl::Status RunServe(const ServeOptions& options);

struct PrincipalAddOptions {
  std::string data_dir;
  std::string arn;
};

// RunPrincipalAdd registers a principal and writes its credentials to `out`
// as two shell lines, AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=...
absl::Status RunPrincipalAdd(const PrincipalAddOptions& options, std::ostream& out);

// ParseListen splits HOST:PORT ("[::1]:443" allowed); InvalidArgument
// otherwise.
absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen);

// Exit codes: 0 OK, 2 usage error, 1 anything else.
int ExitCode(const absl::Status& status);
absl::Status UsageError(const std::string& message);

// ParseCommandLine parses argv and returns the command to run. The only
// place CLI11's exceptions are caught.
absl::StatusOr<std::function<absl::Status()>> ParseCommandLine(int argc, const char* const* argv);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_CLI_COMMANDS_H_
