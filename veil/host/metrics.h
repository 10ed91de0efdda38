// HostMetrics: veil-host's Prometheus metrics (text exposition format
// 0.0.4). Labels come from fixed sets chosen by the code (route names,
// outcome codes, directions): never a tenant id, a request id, a path or
// any other value a client chose.
#ifndef VEIL_HOST_METRICS_H_
#define VEIL_HOST_METRICS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "veil/host/http_server.h"
#include "veil/proxy/byte_proxy.h"
#include "veil/wire/messages.h"

namespace veil::host {

// HostMetrics is thread-safe.
class HostMetrics {
 public:
  HostMetrics();

  // RecordExchange counts one answered request: requests_total by route and
  // outcome code, the latency histogram by route, and the bytes.
  void RecordExchange(const ExchangeRecord& record);
  // SetEnclaveHealth records the enclave's last health answer, or that it
  // did not answer (nullopt).
  void SetEnclaveHealth(const std::optional<wire::HealthResponse>& health);
  // RecordCredentialsPush counts one push of credentials to the enclave.
  void RecordCredentialsPush(bool ok);

  // InFlight counts requests being handled (a scope guard).
  class InFlight {
   public:
    explicit InFlight(HostMetrics* m) : m_(m) { m_->in_flight_.fetch_add(1); }
    ~InFlight() { m_->in_flight_.fetch_sub(1); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    HostMetrics* m_;
  };
  int in_flight() const { return in_flight_.load(); }

  // Render returns the exposition text; `proxy` adds the KMS byte proxy's
  // counters when the host runs one.
  std::string Render(const std::optional<proxy::ByteProxyStats>& proxy) const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // cumulative counts are computed on render
    uint64_t count = 0;
    double sum = 0;
  };

  const absl::Time start_;
  std::atomic<int> in_flight_{0};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;  // (route, code)
  std::map<std::string, Histogram> latency_;                          // by route
  uint64_t bytes_in_ = 0;
  uint64_t bytes_out_ = 0;
  bool enclave_up_ = false;
  uint64_t enclave_queue_depth_ = 0;
  uint64_t enclave_workers_ = 0;
  uint64_t credentials_ok_ = 0;
  uint64_t credentials_failed_ = 0;
};

// LatencyBuckets returns the histogram's upper bounds in seconds.
const std::vector<double>& LatencyBuckets();

}  // namespace veil::host

#endif  // VEIL_HOST_METRICS_H_
