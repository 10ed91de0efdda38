#include "veil/client/cli/measure_command.h"

#include <iostream>
#include <memory>

#include "CLI/CLI.hpp"
#include "nlohmann/json.hpp"
#include "veil/attestation/nsm/measurement.h"
#include "veil/client/cli/cli_status.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"

namespace veil::client {

absl::Status RunMeasure(const MeasureCommandOptions& options, std::ostream& out) {
  namespace nsm = attestation::nsm;
  if (options.files.empty()) return UsageError("give the image files to measure");
  VEIL_ASSIGN_OR_RETURN(nsm::ImageMeasurement image, nsm::MeasureImageFiles(options.files));
  // nlohmann::json orders keys alphabetically, which is nitro-cli's order
  // here: HashAlgorithm, PCR0, PCR1, ...
  nlohmann::json m;
  m["HashAlgorithm"] = "Sha384 { ... }";
  m["PCR0"] = HexEncode(image.pcr0);
  m["PCR1"] = HexEncode(image.pcr1);
  m["PCR2"] = HexEncode(image.pcr2);
  if (!options.role_arn.empty()) m["PCR3"] = HexEncode(nsm::MeasureRoleArn(options.role_arn));
  if (!options.instance_id.empty()) {
    m["PCR4"] = HexEncode(nsm::MeasureInstanceId(options.instance_id));
  }
  m["PCR8"] = HexEncode(nsm::ZeroPcr());
  nlohmann::json doc;
  doc["Measurements"] = std::move(m);
  out << doc.dump(2) << "\n";
  return absl::OkStatus();
}

CommandRunner AddMeasureFlags(CLI::App& cmd) {
  auto o = std::make_shared<MeasureCommandOptions>();
  cmd.add_option("files", o->files,
                 "Image parts, in order: the enclave binary, then the model file, the "
                 "configuration, ...")
      ->required()
      ->type_name("FILE");
  cmd.add_option("--role-arn", o->role_arn, "Also print PCR3 for this IAM role ARN")
      ->type_name("ARN");
  cmd.add_option("--instance-id", o->instance_id, "Also print PCR4 for this parent instance id")
      ->type_name("ID");
  cmd.footer(
      "\nPCR0 covers every part, PCR1 the enclave binary, PCR2 the other parts (see "
      "docs/nsm-and-simulation.md). The same files given to veil-nsm-sim --measure or veil "
      "attest simulate --measure give the same PCRs.\n"
      "\nExample:\n"
      "  veil measure veil-enclave model.onnx enclave.json\n");
  return [o] { return RunMeasure(*o, std::cout); };
}

}  // namespace veil::client
