// `veil-host --config FILE`: the gateway on the untrusted parent instance
// (docs/host.md). It handles ciphertext only and links nothing that can
// decrypt. main only parses flags, blocks the stop signals and maps the
// Status to an exit code (0 after SIGINT/SIGTERM, 1 on failure, 2 on a
// usage or config error).
#include <signal.h>

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "veil/common/status_macros.h"
#include "veil/host/access_log.h"
#include "veil/host/config.h"
#include "veil/host/host_app.h"

namespace veil::host {
namespace {

absl::Status RunHost(const std::string& config_path) {
  VEIL_ASSIGN_OR_RETURN(const HostConfig config, LoadHostConfig(config_path));

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  HostLog log;
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<HostApp> app, HostApp::Start(config, &log));
  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  log.Event("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"},
                         {"grace_seconds", static_cast<int64_t>(config.shutdown_grace_seconds)}});
  app->Stop(absl::Seconds(config.shutdown_grace_seconds));
  log.Event("stopped");
  return absl::OkStatus();
}

}  // namespace
}  // namespace veil::host

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  std::string config_path;
  CLI::App app(
      "veil-host: the gateway on the untrusted parent instance. It authenticates tenants, "
      "relays ESDK ciphertexts to the enclave and back, serves attestation documents, "
      "health and metrics, and runs the enclave's byte proxy to KMS. It cannot decrypt.");
  app.add_option("--config", config_path, "Host config file (JSON, see docs/host.md)")
      ->required();
  // CLI11 reports with exceptions; this is its one adapter.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const absl::Status status = veil::host::RunHost(config_path);
  if (!status.ok()) {
    std::fprintf(stderr, "veil-host: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) || absl::IsNotFound(status) ? 2 : 1;
  }
  return 0;
}
