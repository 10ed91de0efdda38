// Gateway: veil-host's routes (docs/host.md, docs/api/openapi.yaml).
//
//   POST /v1/infer        ESDK ciphertext in, ESDK ciphertext out (Bearer API key,
//                         Veil-Request-Id), relayed to the enclave as `infer`
//   GET  /v1/attestation  a fresh attestation document (COSE_Sign1, CBOR)
//   GET  /healthz         the host's status and the enclave's health answer
//   GET  /readyz          200 only when the enclave answers
//   GET  /metrics         Prometheus text
//   GET  /...             static files from the configured directory
//
// The gateway never interprets a body: it checks who is calling and how
// much, and moves ciphertext between the client and the enclave. Errors are
// JSON {"error": "<code>", "request_id": "<id>" | null}; enclave error
// codes map to HTTP with wire::HttpStatusForErrorCode.
#ifndef VEIL_HOST_GATEWAY_H_
#define VEIL_HOST_GATEWAY_H_

#include <functional>
#include <optional>
#include <string>

#include "veil/host/http_server.h"
#include "veil/host/metrics.h"
#include "veil/host/tenants.h"
#include "veil/proxy/byte_proxy.h"
#include "veil/wire/channel_client.h"
#include "veil/wire/messages.h"

namespace veil::host {

inline constexpr char kRequestIdHeader[] = "veil-request-id";

struct GatewayOptions {
  size_t max_body_bytes = 16 * 1024 * 1024;
  std::string static_dir;  // empty: no static files
  int retry_after_seconds = 1;
  // proxy_stats, if set, returns the KMS byte proxy's counters for /metrics.
  std::function<std::optional<proxy::ByteProxyStats>()> proxy_stats;
  // on_enclave_unavailable, if set, is called when the enclave answers
  // `unavailable` (e.g. it restarted and lost the credentials pushed to it).
  std::function<void()> on_enclave_unavailable;
};

// Gateway is thread-safe. `infer_channel` carries infer requests (its call
// timeout is the request timeout); `control_channel` carries attest and
// health (a short timeout, so probes answer quickly when the enclave hangs).
class Gateway : public HttpHandler {
 public:
  Gateway(TenantRegistry* tenants, wire::ChannelClient* infer_channel,
          wire::ChannelClient* control_channel, HostMetrics* metrics, GatewayOptions options);

  HttpResponse Handle(const HttpRequest& request, BodyReader& body) override;

  // ProbeHealth asks the enclave for its health (and records the answer in
  // the metrics); nullopt when it does not answer.
  std::optional<wire::HealthResponse> ProbeHealth();

 private:
  HttpResponse Infer(const HttpRequest& request, BodyReader& body);
  HttpResponse Attestation(const HttpRequest& request);
  HttpResponse Healthz();
  HttpResponse Readyz();
  HttpResponse Metrics();
  HttpResponse Static(const HttpRequest& request);
  // FromEnclaveError answers an enclave `error` response or a failed call.
  HttpResponse FromCallFailure(const absl::Status& status, const std::string& route,
                               const std::string& request_id);
  HttpResponse FromErrorCode(wire::ErrorCode code, const std::string& route,
                             const std::string& request_id);

  TenantRegistry* const tenants_;
  wire::ChannelClient* const infer_channel_;
  wire::ChannelClient* const control_channel_;
  HostMetrics* const metrics_;
  const GatewayOptions options_;
  const std::string static_root_;  // realpath of options_.static_dir, or empty
};

// ErrorResponse returns the JSON error answer the host gives: status,
// {"error": code, "request_id": id or null}, and `route`/`outcome` set.
HttpResponse JsonError(int status, std::string_view code, std::string_view route,
                       const std::string& request_id);

// ValidRequestId says whether `id` is 1..128 visible ASCII characters
// (0x21..0x7e), the wire protocol's rule.
bool ValidRequestId(std::string_view id);

}  // namespace veil::host

#endif  // VEIL_HOST_GATEWAY_H_
