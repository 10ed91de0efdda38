// `veil-vsock-proxy`: forwards every connection accepted on --listen to the
// one --to endpoint, like AWS's vsock-proxy on a Nitro parent instance. It
// interprets no bytes; TLS runs between the enclave and the key service.
// Logs are JSON lines on stderr with metadata only: connection counts, byte
// totals, durations and close reasons.
//
// main only parses flags and maps the Status to an exit code (0 after a
// SIGINT/SIGTERM stop, 1 on failure, 2 on a usage error).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "veil/common/status_macros.h"
#include "veil/proxy/byte_proxy.h"
#include "veil/wire/transport.h"

namespace veil::proxy {
namespace {

struct ProxyCommand {
  std::string listen;
  std::string to;
  int max_connections = 64;
  double idle_timeout_seconds = 300;
  double connect_timeout_seconds = 5;
  double stop_grace_seconds = 5;
  bool allow_non_loopback = false;
};

std::mutex log_mu;

void Log(nlohmann::json line) {
  line["time"] = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  const std::string text = line.dump() + "\n";
  std::lock_guard<std::mutex> lock(log_mu);
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
}

nlohmann::json Totals(const ByteProxyStats& s) {
  return {{"connections_accepted", s.connections_accepted},
          {"connections_refused", s.connections_refused},
          {"connections_active", s.connections_active},
          {"connect_failures", s.connect_failures},
          {"idle_timeouts", s.idle_timeouts},
          {"bytes_to_destination", s.bytes_to_destination},
          {"bytes_to_client", s.bytes_to_client}};
}

absl::Status RunProxy(const ProxyCommand& cmd) {
  VEIL_ASSIGN_OR_RETURN(wire::Endpoint listen, wire::ParseEndpoint(cmd.listen));
  VEIL_ASSIGN_OR_RETURN(wire::Endpoint to, wire::ParseEndpoint(cmd.to));
  if (cmd.idle_timeout_seconds <= 0 || cmd.connect_timeout_seconds <= 0 ||
      cmd.stop_grace_seconds < 0) {
    return absl::InvalidArgumentError("timeouts must be positive");
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ByteProxyOptions options;
  options.max_connections = cmd.max_connections;
  options.idle_timeout = absl::Seconds(cmd.idle_timeout_seconds);
  options.connect_timeout = absl::Seconds(cmd.connect_timeout_seconds);
  options.transport.allow_non_loopback = cmd.allow_non_loopback;
  // Set once Create returns; a connection may close before that.
  std::atomic<ByteProxy*> proxy_ptr{nullptr};
  options.on_close = [&proxy_ptr](const ConnectionRecord& r) {
    nlohmann::json line = {{"event", "connection_closed"},
                           {"connection", r.id},
                           {"reason", CloseReasonName(r.reason)},
                           {"duration_ms", absl::ToInt64Milliseconds(r.duration)},
                           {"bytes_to_destination", r.bytes_to_destination},
                           {"bytes_to_client", r.bytes_to_client}};
    if (ByteProxy* p = proxy_ptr.load(); p != nullptr) line["totals"] = Totals(p->Stats());
    Log(std::move(line));
  };
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<ByteProxy> proxy,
                        ByteProxy::Create(listen, to, std::move(options)));
  proxy_ptr.store(proxy.get());
  Log({{"event", "listening"},
       {"listen", proxy->listen_endpoint().ToString()},
       {"to", proxy->destination().ToString()},
       {"max_connections", cmd.max_connections},
       {"idle_timeout_s", cmd.idle_timeout_seconds}});

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  Log({{"event", "stopping"}, {"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  proxy->Stop(absl::Seconds(cmd.stop_grace_seconds));
  Log({{"event", "stopped"}, {"totals", Totals(proxy->Stats())}});
  return absl::OkStatus();
}

}  // namespace
}  // namespace veil::proxy

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  veil::proxy::ProxyCommand cmd;
  CLI::App app(
      "veil-vsock-proxy: forwards every connection accepted on --listen to the one --to "
      "endpoint, byte for byte (the enclave's path to KMS; TLS runs end to end).\n"
      "Endpoints: unix:PATH, tcp:ADDRESS:PORT (numeric), vsock:CID:PORT.");
  app.add_option("--listen", cmd.listen, "Endpoint to accept connections on")->required();
  app.add_option("--to", cmd.to, "The only destination (the allowlist)")->required();
  app.add_option("--max-connections", cmd.max_connections,
                 "Connections proxied at once; more are closed at once")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--idle-timeout", cmd.idle_timeout_seconds,
                 "Close a connection idle this many seconds")
      ->capture_default_str();
  app.add_option("--connect-timeout", cmd.connect_timeout_seconds,
                 "Seconds to reach the destination")
      ->capture_default_str();
  app.add_option("--stop-grace", cmd.stop_grace_seconds,
                 "On SIGTERM, seconds open connections get to finish")
      ->capture_default_str();
  app.add_flag("--allow-non-loopback", cmd.allow_non_loopback,
               "Allow tcp endpoints outside 127.0.0.0/8 and ::1");
  // CLI11 reports with exceptions; this is its one adapter.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const absl::Status status = veil::proxy::RunProxy(cmd);
  if (!status.ok()) {
    std::fprintf(stderr, "veil-vsock-proxy: %s\n", std::string(status.message()).c_str());
    return absl::IsInvalidArgument(status) ? 2 : 1;
  }
  return 0;
}
