#include "veil/host/host_app.h"

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"

namespace veil::host {

absl::StatusOr<std::unique_ptr<HostApp>> HostApp::Start(const HostConfig& config, HostLog* log,
                                                        HostAppOverrides overrides) {
  std::unique_ptr<HostApp> app(new HostApp());
  app->log_ = log;
  VEIL_ASSIGN_OR_RETURN(const std::vector<TenantConfig> tenants,
                        LoadTenants(config.tenants_file));
  VEIL_ASSIGN_OR_RETURN(app->tenants_,
                        TenantRegistry::Create(tenants, config.tenant_concurrency));

  const absl::Duration request_timeout = absl::Seconds(config.request_timeout_seconds);
  wire::ChannelClientOptions infer_options;
  infer_options.connect_timeout = absl::Seconds(2);
  infer_options.call_timeout = request_timeout;
  infer_options.transport.allow_non_loopback = config.enclave_allow_non_loopback;
  VEIL_ASSIGN_OR_RETURN(app->infer_channel_,
                        wire::ChannelClient::Create(config.enclave, infer_options));
  wire::ChannelClientOptions control_options = infer_options;
  control_options.call_timeout = overrides.control_timeout > absl::ZeroDuration()
                                     ? overrides.control_timeout
                                     : absl::Seconds(5);
  control_options.max_idle_connections = 2;
  VEIL_ASSIGN_OR_RETURN(app->control_channel_,
                        wire::ChannelClient::Create(config.enclave, control_options));

  if (config.kms_proxy.has_value()) {
    VEIL_ASSIGN_OR_RETURN(const wire::Endpoint listen,
                          wire::ParseEndpoint(config.kms_proxy->listen));
    VEIL_ASSIGN_OR_RETURN(const wire::Endpoint to, wire::ParseEndpoint(config.kms_proxy->to));
    proxy::ByteProxyOptions proxy_options;
    // The destination may be off this machine (AWS KMS); the listener is
    // checked by the config parser to be local.
    proxy_options.transport.allow_non_loopback = true;
    VEIL_ASSIGN_OR_RETURN(app->kms_proxy_, proxy::ByteProxy::Create(listen, to, proxy_options));
  }

  GatewayOptions gateway_options;
  gateway_options.max_body_bytes = config.max_body_bytes;
  gateway_options.static_dir = config.static_dir;
  if (app->kms_proxy_ != nullptr) {
    proxy::ByteProxy* proxy = app->kms_proxy_.get();
    gateway_options.proxy_stats = [proxy] {
      return std::optional<proxy::ByteProxyStats>(proxy->Stats());
    };
  }
  if (config.credentials.has_value()) {
    CredentialsPusherOptions pusher_options;
    pusher_options.refresh = absl::Seconds(config.credentials->refresh_seconds);
    CredentialsSource source = overrides.credentials_source ? overrides.credentials_source
                                                            : CredentialsSource(
                                                                  EnvironmentCredentials);
    app->pusher_ = CredentialsPusher::Start(app->control_channel_.get(), std::move(source), log,
                                            &app->metrics_, pusher_options);
    CredentialsPusher* pusher = app->pusher_.get();
    gateway_options.on_enclave_unavailable = [pusher] { pusher->Nudge(); };
  }
  app->gateway_ = std::make_unique<Gateway>(app->tenants_.get(), app->infer_channel_.get(),
                                            app->control_channel_.get(), &app->metrics_,
                                            std::move(gateway_options));

  HttpServerOptions http;
  http.address = config.listen_address;
  http.port = config.listen_port;
  http.threads = config.http_threads;
  http.queue = config.http_queue;
  http.read_timeout =
      overrides.read_timeout > absl::ZeroDuration() ? overrides.read_timeout : request_timeout;
  http.write_timeout = http.read_timeout;
  if (overrides.keep_alive_timeout > absl::ZeroDuration()) {
    http.keep_alive_timeout = overrides.keep_alive_timeout;
  }
  HostMetrics* metrics = &app->metrics_;
  http.on_exchange = [log, metrics](const ExchangeRecord& record) {
    metrics->RecordExchange(record);
    log->Exchange(record);
  };
  VEIL_ASSIGN_OR_RETURN(app->server_, HttpServer::Start(app->gateway_.get(), http));

  // The banner: what this host listens on and talks to, loudly, so that a
  // misdirected deployment is obvious in the first lines of its log.
  log->Event("veil-host starting",
             {{"role", "untrusted parent: ciphertext only, links no crypto"},
              {"http", absl::StrCat(config.listen_address.find(':') == std::string::npos
                                        ? config.listen_address
                                        : absl::StrCat("[", config.listen_address, "]"),
                                    ":", app->server_->port())},
              {"tls", "none here (terminate TLS in front of the host)"},
              {"enclave", config.enclave},
              {"tenants", static_cast<int64_t>(app->tenants_->size())},
              {"static_dir", config.static_dir.empty() ? "(none)" : config.static_dir},
              {"kms_proxy", app->kms_proxy_ == nullptr
                                ? std::string("(none)")
                                : absl::StrCat(app->kms_proxy_->listen_endpoint().ToString(),
                                               " -> ",
                                               app->kms_proxy_->destination().ToString())},
              {"credentials", config.credentials.has_value() ? "from environment" : "(none)"},
              {"max_body_bytes", static_cast<int64_t>(config.max_body_bytes)},
              {"tenant_concurrency", static_cast<int64_t>(config.tenant_concurrency)},
              {"request_timeout_seconds", static_cast<int64_t>(config.request_timeout_seconds)}});
  const std::optional<wire::HealthResponse> health = app->gateway_->ProbeHealth();
  if (health.has_value()) {
    log->Event("enclave", {{"reachable", true},
                           {"status", health->status},
                           {"tier", health->tier},
                           {"model", health->model},
                           {"model_sha256", health->model_sha256}});
  } else {
    log->Event("enclave", {{"reachable", false},
                           {"note", "requests get 503 until the enclave answers"}});
  }
  return app;
}

HostApp::~HostApp() { Stop(absl::ZeroDuration()); }

std::optional<std::string> HostApp::kms_proxy_endpoint() const {
  if (kms_proxy_ == nullptr) return std::nullopt;
  return kms_proxy_->listen_endpoint().ToString();
}

void HostApp::Stop(absl::Duration grace) {
  if (stopped_) return;
  stopped_ = true;
  if (server_ != nullptr) server_->Stop(grace);
  if (pusher_ != nullptr) pusher_->Stop();
  if (kms_proxy_ != nullptr) kms_proxy_->Stop(absl::Seconds(1));
}

}  // namespace veil::host
