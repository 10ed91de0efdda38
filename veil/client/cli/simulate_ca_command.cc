#include "veil/client/cli/simulate_ca_command.h"

#include <iostream>
#include <memory>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/client/cli/cli_status.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"

namespace veil::client {

absl::Status RunSimulateCa(const SimulateCaCommandOptions& options, std::ostream& out) {
  if (options.out.empty()) return UsageError("--out is empty");
  attestation::nsm::SimulatorCaOptions ca_options;
  ca_options.instance_id = options.instance_id;
  absl::StatusOr<std::unique_ptr<attestation::nsm::SimulatorCa>> ca =
      attestation::nsm::SimulatorCa::Generate(ca_options);
  if (absl::IsInvalidArgument(ca.status())) return UsageError(ca.status().message());
  if (!ca.ok()) return ca.status();
  VEIL_RETURN_IF_ERROR((*ca)->Save(options.out));
  out << "SIMULATED Nitro CA written to " << options.out << "/ (private keys mode 0600)\n"
      << "trust anchor: " << options.out << "/root.pem sha256="
      << HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, (*ca)->RootDer())) << "\n"
      << "instance: " << (*ca)->InstanceId() << "\n";
  return absl::OkStatus();
}

CommandRunner AddSimulateCaFlags(CLI::App& cmd) {
  auto o = std::make_shared<SimulateCaCommandOptions>();
  cmd.add_option("--out", o->out,
                 "Directory for the CA: root.pem (the trust anchor) and the intermediates, keys "
                 "beside them (never overwritten)")
      ->required()
      ->type_name("DIR");
  cmd.add_option("--instance-id", o->instance_id,
                 "Simulated parent instance id, i- and 17 hex digits (default: random)")
      ->type_name("ID");
  cmd.footer(
      "\nThe CA is for the integration tier only: its documents verify against DIR/root.pem "
      "(tier 'simulated'), never against the AWS Nitro Enclaves root.\n"
      "\nExample:\n"
      "  veil attest simulate-ca --out sim-ca\n"
      "  veil-nsm-sim --ca sim-ca --socket /tmp/nsm.sock --measure veil-enclave model.onnx\n");
  return [o] { return RunSimulateCa(*o, std::cout); };
}

}  // namespace veil::client
