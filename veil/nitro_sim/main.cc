// veil-nsm-sim: the simulated Nitro hypervisor side. It boots a SimulatedNsm
// for the measured enclave image and serves the NSM protocol on a Unix
// socket; the enclave (integration tier) connects with DevNsm in place of
// /dev/nsm. It says loudly, at start, that it is a simulation.
//
//   veil-nsm-sim --ca DIR --socket PATH --measure FILE... [--instance-id ID]
//                [--role-arn ARN] [--debug]
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"
#include "veil/nitro_sim/nsm_server.h"

namespace veil::nitro_sim {
namespace {

namespace nsm = attestation::nsm;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string ca_dir;
  std::string socket_path;
  std::vector<std::string> measure;
  std::string instance_id;
  std::string role_arn;
  bool debug = false;
};

void Banner(const nsm::SimulatorCa& ca, const Options& o, const nsm::NsmDescription& d,
            const nsm::ImageMeasurement& image) {
  const std::string root_sha256 =
      HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, ca.RootDer()));
  std::fprintf(stderr,
               "************************************************************************\n"
               "*  SIMULATED NITRO SECURE MODULE -- THIS IS NOT AN AWS NITRO ENCLAVE    *\n"
               "*  Attestation documents are signed by a LOCAL SIMULATOR CA. They       *\n"
               "*  verify only against that CA's root (tier 'simulated'), never against *\n"
               "*  the AWS Nitro Enclaves root, and prove nothing about real hardware.  *\n"
               "************************************************************************\n");
  std::fprintf(stderr, "veil-nsm-sim: nsm=simulated ca=%s root_sha256=%s\n", o.ca_dir.c_str(),
               root_sha256.c_str());
  std::fprintf(stderr, "veil-nsm-sim: module_id=%s debug=%s\n", d.module_id.c_str(),
               o.debug ? "true (PCR0,1,2,8 read as zero)" : "false");
  for (size_t i = 0; i < o.measure.size(); ++i) {
    std::fprintf(stderr, "veil-nsm-sim: image part %zu: %s\n", i, o.measure[i].c_str());
  }
  std::fprintf(stderr, "veil-nsm-sim: PCR0=%s\nveil-nsm-sim: PCR1=%s\nveil-nsm-sim: PCR2=%s\n",
               HexEncode(image.pcr0).c_str(), HexEncode(image.pcr1).c_str(),
               HexEncode(image.pcr2).c_str());
  std::fprintf(stderr, "veil-nsm-sim: listening on %s\n", o.socket_path.c_str());
}

absl::Status Run(const Options& o) {
  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<nsm::SimulatorCa> ca, nsm::SimulatorCa::Load(o.ca_dir));
  std::shared_ptr<const nsm::SimulatorCa> shared_ca(std::move(ca));
  VEIL_ASSIGN_OR_RETURN(nsm::ImageMeasurement image, nsm::MeasureImageFiles(o.measure));
  nsm::SimulatedNsmOptions options;
  options.image = image;
  options.instance_id = o.instance_id;
  if (!o.role_arn.empty()) options.role_arn = o.role_arn;
  options.debug = o.debug;
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<nsm::NsmDevice> device,
                        nsm::SimulatedNsm::Create(shared_ca, std::move(options)));
  VEIL_ASSIGN_OR_RETURN(nsm::NsmDescription description, device->DescribeNsm());
  std::shared_ptr<nsm::NsmDevice> shared_device(std::move(device));
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<NsmServer> server,
                        NsmServer::Start(o.socket_path, shared_device));
  Banner(*shared_ca, o, description, image);

  int signal = 0;
  sigwait(&stop, &signal);
  std::fprintf(stderr, "veil-nsm-sim: signal %d, shutting down after %llu requests\n", signal,
               static_cast<unsigned long long>(server->RequestsServed()));
  server->Shutdown();
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app(
      "veil-nsm-sim: a SIMULATED Nitro Secure Module for the integration tier. Serves the NSM "
      "protocol on a Unix socket; documents are signed by a local simulator CA made with "
      "'veil attest simulate-ca'.",
      "veil-nsm-sim");
  app.add_option("--ca", o.ca_dir, "Simulator CA directory (veil attest simulate-ca --out DIR)")
      ->required()
      ->type_name("DIR");
  app.add_option("--socket", o.socket_path, "Unix socket to serve the NSM protocol on")
      ->required()
      ->type_name("PATH");
  app.add_option("--measure", o.measure,
                 "Enclave image parts, in order: the enclave binary, then the model file, the "
                 "configuration, ...")
      ->required()
      ->expected(1, -1)
      ->type_name("FILE");
  app.add_option("--instance-id", o.instance_id,
                 "Simulated parent instance id (i- and 17 hex digits); default: the CA's")
      ->type_name("ID");
  app.add_option("--role-arn", o.role_arn, "IAM role ARN measured into PCR3")->type_name("ARN");
  app.add_flag("--debug", o.debug, "Simulate a debug-mode enclave (PCR0, 1, 2 and 8 read as zero)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  const absl::Status status = Run(o);
  if (!status.ok()) {
    std::fprintf(stderr, "veil-nsm-sim: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace
}  // namespace veil::nitro_sim

int main(int argc, char** argv) { return veil::nitro_sim::Main(argc, argv); }
