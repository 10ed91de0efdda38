// HostApp: veil-host's object graph, built from a HostConfig: the tenant
// registry, two channel clients to the enclave (infer; attest/health/
// credentials), the gateway and its HTTP server, the KMS byte proxy and the
// credentials pusher, each only when configured. main() and the tests use
// it alike.
#ifndef VEIL_HOST_HOST_APP_H_
#define VEIL_HOST_HOST_APP_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/host/access_log.h"
#include "veil/host/config.h"
#include "veil/host/credentials_pusher.h"
#include "veil/host/gateway.h"
#include "veil/host/http_server.h"
#include "veil/host/metrics.h"
#include "veil/host/tenants.h"
#include "veil/proxy/byte_proxy.h"
#include "veil/wire/channel_client.h"

namespace veil::host {

struct HostAppOverrides {
  // Tests shorten these; zero means "from the config".
  absl::Duration read_timeout;
  absl::Duration control_timeout;      // attest and health calls (default 5 s)
  absl::Duration keep_alive_timeout;   // default 5 s
  // credentials_source replaces the environment (tests).
  CredentialsSource credentials_source;
};

class HostApp {
 public:
  // Start loads the tenants file, starts the KMS byte proxy (if configured),
  // the credentials pusher (if configured) and the HTTP server, and logs a
  // banner of what it listens on and connects to. The enclave need not be
  // up: requests answer 503 until it is. `log` must outlive the app.
  static absl::StatusOr<std::unique_ptr<HostApp>> Start(const HostConfig& config, HostLog* log,
                                                        HostAppOverrides overrides = {});
  ~HostApp();  // Stop(ZeroDuration())

  int http_port() const { return server_->port(); }
  const HostMetrics& metrics() const { return metrics_; }
  // kms_proxy_endpoint is where the KMS byte proxy listens, if it runs.
  std::optional<std::string> kms_proxy_endpoint() const;

  // Stop stops accepting HTTP connections, lets requests in progress finish
  // within `grace`, then stops the pusher and the proxy. Idempotent.
  void Stop(absl::Duration grace);

 private:
  HostApp() = default;

  HostLog* log_ = nullptr;
  HostMetrics metrics_;
  std::unique_ptr<TenantRegistry> tenants_;
  std::unique_ptr<wire::ChannelClient> infer_channel_;
  std::unique_ptr<wire::ChannelClient> control_channel_;
  std::unique_ptr<proxy::ByteProxy> kms_proxy_;
  std::unique_ptr<CredentialsPusher> pusher_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<HttpServer> server_;
  bool stopped_ = false;
};

}  // namespace veil::host

#endif  // VEIL_HOST_HOST_APP_H_
