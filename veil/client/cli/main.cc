// `veil`: the data owner's command-line tool. main only parses the command
// line and maps the resulting Status to an exit code; the commands are
// functions in veil::client (see command_table.cc).
#include <csignal>
#include <cstdio>

#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/command_table.h"

int main(int argc, char** argv) {
  // A closed stdout pipe must surface as a write error, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
  const absl::StatusOr<veil::client::CommandRunner> runner =
      veil::client::ParseCommandLine(argc, argv);
  const absl::Status status = runner.ok() ? (*runner)() : runner.status();
  if (!status.ok()) std::fprintf(stderr, "%s\n", veil::client::ErrorLine(status).c_str());
  return veil::client::ExitCode(status);
}
