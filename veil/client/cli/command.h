// The shape of a `veil` subcommand, so that the table in command_table.cc
// can list them (BoringSSL tool/tool.cc style).
#ifndef VEIL_CLIENT_CLI_COMMAND_H_
#define VEIL_CLIENT_CLI_COMMAND_H_

#include <functional>

#include "absl/status/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace veil::client {

// CommandRunner runs a subcommand whose flags have been parsed.
using CommandRunner = std::function<absl::Status()>;

// Subcommand is one row of the command table: `add_flags` declares the
// subcommand's flags on `app` (binding them to an options struct it owns) and
// returns the runner to call once parsing succeeded.
struct Subcommand {
  const char* name;
  const char* summary;
  CommandRunner (*add_flags)(CLI::App& app);
};

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_COMMAND_H_
