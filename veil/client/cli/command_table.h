// The `veil` command table and the command-line parser over it.
#ifndef VEIL_CLIENT_CLI_COMMAND_TABLE_H_
#define VEIL_CLIENT_CLI_COMMAND_TABLE_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// Subcommands returns every `veil` subcommand, in the order `veil --help`
// lists them. Adding a subcommand is one row here.
absl::Span<const Subcommand> Subcommands();

// ParseCommandLine parses `argv` against the command table and returns the
// chosen subcommand's runner. For --help and --version it prints to stdout
// and returns a runner that does nothing. Parse failures are UsageError
// statuses whose message names the subcommand's --help. This is the only
// place CLI11's exceptions are caught (STYLE.md C4).
absl::StatusOr<CommandRunner> ParseCommandLine(int argc, const char* const* argv);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_COMMAND_TABLE_H_
