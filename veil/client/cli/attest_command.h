// `veil attest ...`: attestation commands, a group with its own small table
// of subcommands (simulate-ca, simulate; verify beside them).
#ifndef VEIL_CLIENT_CLI_ATTEST_COMMAND_H_
#define VEIL_CLIENT_CLI_ATTEST_COMMAND_H_

#include "absl/types/span.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// AttestSubcommands returns the `veil attest` subcommands, in help order.
// Adding one is one row in attest_command.cc.
absl::Span<const Subcommand> AttestSubcommands();

// AddAttestFlags declares the `attest` group on `cmd` (one subcommand
// required) and returns a runner that runs the chosen subcommand.
CommandRunner AddAttestFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_ATTEST_COMMAND_H_
