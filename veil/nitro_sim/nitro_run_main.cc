// veil-nitro-run: the simulated Nitro launcher, the integration tier's
// `nitro-cli describe-eif` and `nitro-cli run-enclave`.
//
//   veil-nitro-run describe --image IMAGE.json [--role-arn ARN] [--instance-id ID]
//   veil-nitro-run run --image IMAGE.json --ca CA_DIR --run-dir DIR [--debug]
//                  [--instance-id ID] [--role-arn ARN] [--enclave-cid N] [--memory-mib N]
//
// Exit status of `run`: 0 when the enclave exited with status 0, 1 when it
// ended otherwise or could not be started, 2 for a bad flag.
#include <cstdio>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "veil/common/status_macros.h"
#include "veil/nitro_sim/image_description.h"
#include "veil/nitro_sim/launcher.h"

namespace veil::nitro_sim {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct DescribeOptions {
  std::string image_path;
  std::string role_arn;
  std::string instance_id;
};

absl::Status RunDescribe(const DescribeOptions& o, std::ostream& out) {
  VEIL_ASSIGN_OR_RETURN(EnclaveImageDescription image, LoadImageDescription(o.image_path));
  VEIL_ASSIGN_OR_RETURN(MeasuredImage measured, MeasureImage(image));
  out << DescribeImageJson(image, measured, o.role_arn, o.instance_id).dump(2) << "\n";
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  // Before anything else, so that no thread and no child misses the mask
  // (children get an empty mask from Spawn).
  BlockStopSignals();

  CLI::App app(
      "veil-nitro-run: the SIMULATED Nitro launcher (integration tier). Measures an enclave "
      "image, serves its NSM with veil-nsm-sim and runs it in a bubblewrap sandbox with no "
      "network. Not an AWS Nitro Enclave. See docs/enclave-launcher.md.",
      "veil-nitro-run");
  app.require_subcommand(1);

  DescribeOptions d;
  CLI::App* describe =
      app.add_subcommand("describe", "Print an image's measurements, like nitro-cli describe-eif");
  describe->add_option("--image", d.image_path, "Enclave image description (JSON)")
      ->required()
      ->type_name("IMAGE.json");
  describe->add_option("--role-arn", d.role_arn, "Also print PCR3 for this IAM role ARN")
      ->type_name("ARN");
  describe->add_option("--instance-id", d.instance_id,
                       "Also print PCR4 for this parent instance id")
      ->type_name("ID");

  LaunchOptions r;
  uint64_t memory_mib = 0;
  double stop_grace_seconds = 5;
  CLI::App* run = app.add_subcommand(
      "run", "Run an enclave image in the simulated Nitro sandbox, like nitro-cli run-enclave");
  run->add_option("--image", r.image_path, "Enclave image description (JSON)")
      ->required()
      ->type_name("IMAGE.json");
  run->add_option("--ca", r.ca_dir, "Simulator CA directory (veil attest simulate-ca --out DIR)")
      ->required()
      ->type_name("CA_DIR");
  run->add_option("--run-dir", r.run_dir,
                  "Working directory: DIR/image holds the measured copy of the image, DIR/sock "
                  "the sockets (nsm.sock, channel.sock, kms.sock), bound at /run/veil")
      ->required()
      ->type_name("DIR");
  run->add_flag("--debug", r.debug,
                "Debug mode: show the enclave's console; attestation documents carry PCR0 = 0");
  run->add_option("--instance-id", r.instance_id,
                  "Simulated parent instance id (PCR4); default: the CA's")
      ->type_name("ID");
  run->add_option("--role-arn", r.role_arn, "IAM role ARN measured into PCR3")->type_name("ARN");
  run->add_option("--enclave-cid", r.enclave_cid, "Enclave CID, recorded and printed")
      ->check(CLI::Range(4u, 0xFFFFFFFEu))
      ->type_name("N");
  CLI::Option* memory =
      run->add_option("--memory-mib", memory_mib,
                      "Enforced as the sandbox's address-space limit (RLIMIT_AS)")
          ->check(CLI::Range(uint64_t{64}, uint64_t{1} << 30))
          ->type_name("N");
  run->add_option("--stop-timeout", stop_grace_seconds,
                  "Seconds between SIGTERM and SIGKILL when stopping the enclave")
      ->check(CLI::Range(0.0, 600.0))
      ->type_name("SECONDS");
  run->add_option("--nsm-sim", r.nsm_sim, "veil-nsm-sim to run; default: beside this program")
      ->type_name("PATH");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (describe->parsed()) {
    const absl::Status s = RunDescribe(d, std::cout);
    if (!s.ok()) {
      std::fprintf(stderr, "veil-nitro-run: %s\n", std::string(s.message()).c_str());
      return kExitFailure;
    }
    return kExitOk;
  }
  if (memory->count() > 0) r.memory_mib = memory_mib;
  r.stop_grace = absl::Milliseconds(static_cast<int64_t>(stop_grace_seconds * 1000));
  const absl::StatusOr<EnclaveEnd> end = RunEnclave(r, std::cout);
  if (!end.ok()) {
    std::fprintf(stderr, "veil-nitro-run: %s\n", std::string(end.status().message()).c_str());
    return kExitFailure;
  }
  return end->signal == 0 && end->exit_code == 0 ? kExitOk : kExitFailure;
}

}  // namespace
}  // namespace veil::nitro_sim

int main(int argc, char** argv) { return veil::nitro_sim::Main(argc, argv); }
