// `veil-kms`: main only parses the command line and maps the Status to an
// exit code; the commands are functions in veil::kms_server.
#include <csignal>
#include <cstdio>
#include <string>

#include "veil/kms_server/cli/commands.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  auto runner = veil::kms_server::ParseCommandLine(argc, argv);
  const absl::Status status = runner.ok() ? (*runner)() : runner.status();
  if (!status.ok()) std::fprintf(stderr, "veil-kms: %s\n", std::string(status.message()).c_str());
  return veil::kms_server::ExitCode(status);
}
