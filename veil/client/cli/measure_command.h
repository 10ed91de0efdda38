// `veil measure`: the PCRs an NSM would report for an enclave image.
#ifndef VEIL_CLIENT_CLI_MEASURE_COMMAND_H_
#define VEIL_CLIENT_CLI_MEASURE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// MeasureCommandOptions are the arguments of `veil measure`.
struct MeasureCommandOptions {
  std::vector<std::string> files;  // image parts: enclave binary first
  std::string role_arn;            // adds PCR3 when set
  std::string instance_id;         // adds PCR4 when set
};

// RunMeasure measures the image (veil/attestation/nsm/measurement.h) and
// prints, like `nitro-cli describe-eif`,
//   {"Measurements": {"HashAlgorithm": "Sha384 { ... }", "PCR0": "<hex>",
//    "PCR1": ..., "PCR2": ..., ["PCR3": ...,] ["PCR4": ...,] "PCR8": ...}}
// with PCR8 all zero (the image is unsigned). Missing files are NotFound.
absl::Status RunMeasure(const MeasureCommandOptions& options, std::ostream& out);

// AddMeasureFlags declares the arguments on `cmd` and returns the runner.
CommandRunner AddMeasureFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_MEASURE_COMMAND_H_
