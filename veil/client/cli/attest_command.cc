#include "veil/client/cli/attest_command.h"

#include <memory>

#include "CLI/CLI.hpp"
#include "veil/client/cli/attest_verify_command.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/simulate_ca_command.h"
#include "veil/client/cli/simulate_command.h"

namespace veil::client {
namespace {

constexpr Subcommand kAttestSubcommands[] = {
    {"simulate-ca",
     "Make a SIMULATED Nitro CA (root + 3 intermediates) for the integration tier",
     &AddSimulateCaFlags},
    {"simulate",
     "Make a SIMULATED attestation document for a measured enclave image, signed by a "
     "simulator CA",
     &AddSimulateFlags},
    {"verify",
     "Verify an attestation document against a pinned root (AWS Nitro, or a simulator CA)",
     &AddAttestVerifyFlags},
};

}  // namespace

absl::Span<const Subcommand> AttestSubcommands() { return kAttestSubcommands; }

CommandRunner AddAttestFlags(CLI::App& cmd) {
  cmd.require_subcommand(1);
  cmd.footer(
      "\nSimulated attestation (integration tier; never evidence of real hardware):\n"
      "  veil attest simulate-ca --out sim-ca\n"
      "  veil attest simulate --ca sim-ca --measure veil-enclave --measure model.onnx \\\n"
      "      --nonce 00112233 --out doc.cbor\n"
      "  veil measure veil-enclave model.onnx\n"
      "  veil attest verify doc.cbor --root sim-ca/root.pem --nonce 00112233\n"
      "\nRun 'veil attest <command> --help' for the flags of a command.\n");
  auto chosen = std::make_shared<CommandRunner>();
  for (const Subcommand& command : kAttestSubcommands) {
    CLI::App* sub = cmd.add_subcommand(command.name, command.summary);
    CommandRunner runner = command.add_flags(*sub);
    sub->final_callback([chosen, runner] { *chosen = runner; });
  }
  return [chosen]() -> absl::Status {
    if (!*chosen) return UsageError("no attest command given (see 'veil attest --help')");
    return (*chosen)();
  };
}

}  // namespace veil::client
