// `veil attest simulate`: make a SIMULATED attestation document for a
// measured enclave image, as veil-nsm-sim would, without starting it.
#ifndef VEIL_CLIENT_CLI_SIMULATE_COMMAND_H_
#define VEIL_CLIENT_CLI_SIMULATE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// SimulateCommandOptions are the flags of `veil attest simulate`.
struct SimulateCommandOptions {
  std::string ca;                    // simulator CA directory
  std::vector<std::string> measure;  // image parts: enclave binary first
  std::string public_key;            // PEM (or DER) file; empty: none
  std::string user_data;             // file; empty: none
  std::string nonce_hex;             // hex; empty: none
  std::string instance_id;           // empty: the CA's
  std::string role_arn;              // empty: no role (PCR3 zero)
  bool debug = false;
  std::string out;                   // where to write the document
};

// RunSimulate loads the CA, measures the image, boots a SimulatedNsm and
// writes one attestation document (untagged COSE_Sign1) to `options.out`
// (replaced atomically; "-" is stdout). A PEM public key is embedded as the
// DER inside it (for KMS Recipient, an RSA SubjectPublicKeyInfo). Field
// limits: user_data and nonce 512 bytes, public_key 1024 (UsageError).
// Prints the module id and PCRs to `info`, marked SIMULATED.
absl::Status RunSimulate(const SimulateCommandOptions& options, std::ostream& info);

// AddSimulateFlags declares the flags on `cmd` and returns the runner.
CommandRunner AddSimulateFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_SIMULATE_COMMAND_H_
