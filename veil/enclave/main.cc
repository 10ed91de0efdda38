// veil-enclave: the only process that ever sees a plaintext image.
//
//   veil-enclave --config /enclave/app/enclave.json [--check-config]
//
// It has no network and no disk of its own (veil-nitro-run isolates it; on
// Nitro the hypervisor does), talks to the parent only over the channel
// (docs/wire-protocol.md) and reaches KMS only through the parent's byte
// proxy with TLS end to end. SIGTERM or SIGINT stops it: running requests
// finish, queued ones are answered `unavailable`.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "veil/enclave/config.h"
#include "veil/enclave/enclave_app.h"

int main(int argc, char** argv) {
  std::string config_path;
  bool check_config = false;
  CLI::App cli("veil-enclave: decrypts, detects and re-encrypts inside the enclave",
               "veil-enclave");
  cli.add_option("--config", config_path, "Enclave configuration (JSON)")->required();
  cli.add_flag("--check-config", check_config,
               "Parse and validate the configuration, print its tier, and exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  // Stop signals go to sigwait below, not to a random thread.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto config = veil::enclave::LoadEnclaveConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "veil-enclave: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  if (check_config) {
    std::printf("veil-enclave: config ok: %s\n", veil::enclave::TierDescription(*config).c_str());
    return 0;
  }
  auto app = veil::enclave::EnclaveApp::Create(*std::move(config));
  if (!app.ok()) {
    std::fprintf(stderr, "veil-enclave: cannot start: %s\n",
                 std::string(app.status().ToString()).c_str());
    return 1;
  }
  std::fprintf(stderr, "veil-enclave: ready\n");
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  std::fprintf(stderr, "veil-enclave: stopping (signal %d)\n", signal_number);
  (*app)->Stop();
  return 0;
}
