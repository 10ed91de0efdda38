#include "veil/host/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace veil::host {

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                               1,     2.5,  5,     10,   30,  60};
  return kBuckets;
}

HostMetrics::HostMetrics() : start_(absl::Now()) {}

void HostMetrics::RecordExchange(const ExchangeRecord& record) {
  const double seconds = absl::ToDoubleSeconds(record.duration);
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{record.route, record.outcome}];
  Histogram& h = latency_[record.route];
  if (h.buckets.empty()) h.buckets.assign(LatencyBuckets().size(), 0);
  for (size_t i = 0; i < LatencyBuckets().size(); ++i) {
    if (seconds <= LatencyBuckets()[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
  bytes_in_ += record.bytes_in;
  bytes_out_ += record.bytes_out;
}

void HostMetrics::SetEnclaveHealth(const std::optional<wire::HealthResponse>& health) {
  std::lock_guard<std::mutex> lock(mu_);
  enclave_up_ = health.has_value();
  if (health.has_value()) {
    enclave_queue_depth_ = health->queue_depth;
    enclave_workers_ = health->workers;
  }
}

void HostMetrics::RecordCredentialsPush(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(ok ? credentials_ok_ : credentials_failed_);
}

namespace {

void Header(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

std::string Number(double v) {
  // Prometheus reads Go float syntax; %g-style output is accepted.
  return absl::StrCat(v);
}

}  // namespace

std::string HostMetrics::Render(const std::optional<proxy::ByteProxyStats>& proxy) const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);

  Header(&out, "veil_host_requests_total", "counter",
         "HTTP requests answered, by route and outcome code.");
  for (const auto& [key, n] : requests_) {
    absl::StrAppend(&out, "veil_host_requests_total{route=\"", key.first, "\",code=\"",
                    key.second, "\"} ", n, "\n");
  }

  Header(&out, "veil_host_request_duration_seconds", "histogram",
         "Time from the first byte of a request to the end of its response, by route.");
  for (const auto& [route, h] : latency_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < LatencyBuckets().size(); ++i) {
      cumulative += h.buckets[i];
      absl::StrAppend(&out, "veil_host_request_duration_seconds_bucket{route=\"", route,
                      "\",le=\"", Number(LatencyBuckets()[i]), "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, "veil_host_request_duration_seconds_bucket{route=\"", route,
                    "\",le=\"+Inf\"} ", h.count, "\n");
    absl::StrAppend(&out, "veil_host_request_duration_seconds_sum{route=\"", route, "\"} ",
                    Number(h.sum), "\n");
    absl::StrAppend(&out, "veil_host_request_duration_seconds_count{route=\"", route, "\"} ",
                    h.count, "\n");
  }

  Header(&out, "veil_host_http_bytes_total", "counter",
         "Bytes read from and written to HTTP clients.");
  absl::StrAppend(&out, "veil_host_http_bytes_total{direction=\"in\"} ", bytes_in_, "\n");
  absl::StrAppend(&out, "veil_host_http_bytes_total{direction=\"out\"} ", bytes_out_, "\n");

  Header(&out, "veil_host_in_flight_requests", "gauge", "Requests being handled now.");
  absl::StrAppend(&out, "veil_host_in_flight_requests ", in_flight_.load(), "\n");

  Header(&out, "veil_host_enclave_up", "gauge",
         "1 when the enclave answered its last health check, else 0.");
  absl::StrAppend(&out, "veil_host_enclave_up ", enclave_up_ ? 1 : 0, "\n");
  Header(&out, "veil_host_enclave_queue_depth", "gauge",
         "Infer requests waiting in the enclave's queue at its last health answer.");
  absl::StrAppend(&out, "veil_host_enclave_queue_depth ", enclave_queue_depth_, "\n");
  Header(&out, "veil_host_enclave_workers", "gauge",
         "The enclave's inference workers at its last health answer.");
  absl::StrAppend(&out, "veil_host_enclave_workers ", enclave_workers_, "\n");

  Header(&out, "veil_host_credentials_pushes_total", "counter",
         "Pushes of AWS credentials to the enclave, by result.");
  absl::StrAppend(&out, "veil_host_credentials_pushes_total{result=\"ok\"} ", credentials_ok_,
                  "\n");
  absl::StrAppend(&out, "veil_host_credentials_pushes_total{result=\"failed\"} ",
                  credentials_failed_, "\n");

  if (proxy.has_value()) {
    Header(&out, "veil_host_kms_proxy_connections_total", "counter",
           "Connections the KMS byte proxy accepted, by result.");
    absl::StrAppend(&out, "veil_host_kms_proxy_connections_total{result=\"accepted\"} ",
                    proxy->connections_accepted, "\n");
    absl::StrAppend(&out, "veil_host_kms_proxy_connections_total{result=\"refused\"} ",
                    proxy->connections_refused, "\n");
    Header(&out, "veil_host_kms_proxy_connect_failures_total", "counter",
           "Proxied connections whose destination could not be reached.");
    absl::StrAppend(&out, "veil_host_kms_proxy_connect_failures_total ",
                    proxy->connect_failures, "\n");
    Header(&out, "veil_host_kms_proxy_idle_timeouts_total", "counter",
           "Proxied connections closed for idleness.");
    absl::StrAppend(&out, "veil_host_kms_proxy_idle_timeouts_total ", proxy->idle_timeouts,
                    "\n");
    Header(&out, "veil_host_kms_proxy_active_connections", "gauge",
           "Connections the KMS byte proxy is forwarding now.");
    absl::StrAppend(&out, "veil_host_kms_proxy_active_connections ",
                    proxy->connections_active, "\n");
    Header(&out, "veil_host_kms_proxy_bytes_total", "counter",
           "Bytes forwarded by the KMS byte proxy, by direction.");
    absl::StrAppend(&out, "veil_host_kms_proxy_bytes_total{direction=\"to_kms\"} ",
                    proxy->bytes_to_destination, "\n");
    absl::StrAppend(&out, "veil_host_kms_proxy_bytes_total{direction=\"to_enclave\"} ",
                    proxy->bytes_to_client, "\n");
  }

  Header(&out, "veil_host_start_time_seconds", "gauge", "When veil-host started (Unix time).");
  absl::StrAppend(&out, "veil_host_start_time_seconds ", absl::ToUnixSeconds(start_), "\n");
  return out;
}

}  // namespace veil::host
