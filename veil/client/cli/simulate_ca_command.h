// `veil attest simulate-ca`: make the simulator CA of the integration tier.
#ifndef VEIL_CLIENT_CLI_SIMULATE_CA_COMMAND_H_
#define VEIL_CLIENT_CLI_SIMULATE_CA_COMMAND_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// SimulateCaCommandOptions are the flags of `veil attest simulate-ca`.
struct SimulateCaCommandOptions {
  std::string out;          // directory to create / fill
  std::string instance_id;  // simulated parent instance; random if empty
};

// RunSimulateCa makes a new SimulatorCa and saves it in `options.out`:
// root.pem (the trust anchor verifiers pin) and the intermediates, each
// private key beside its certificate with mode 0600. Never overwrites a CA
// (AlreadyExists). Prints where the trust anchor is and its SHA-256 to `out`.
absl::Status RunSimulateCa(const SimulateCaCommandOptions& options, std::ostream& out);

// AddSimulateCaFlags declares the flags on `cmd` and returns the runner.
CommandRunner AddSimulateCaFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_SIMULATE_CA_COMMAND_H_
