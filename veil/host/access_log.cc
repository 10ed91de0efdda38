#include "veil/host/access_log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace veil::host {
namespace {

std::string Now() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
}

// Dump never throws: invalid UTF-8 (a request id is visible ASCII, but a
// future caller might pass anything) is replaced, not an exception.
std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

HostLog::HostLog(Sink sink) : sink_(std::move(sink)) {}

void HostLog::Write(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sink_) {
    sink_(line);
  } else {
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }
}

void HostLog::Exchange(const ExchangeRecord& r) {
  nlohmann::json j = {{"time", Now()},
                      {"event", "request"},
                      {"route", r.route},
                      {"method", r.method},
                      {"status", r.status},
                      {"outcome", r.outcome},
                      {"bytes_in", r.bytes_in},
                      {"bytes_out", r.bytes_out},
                      {"duration_ms", absl::ToDoubleMilliseconds(r.duration)}};
  if (!r.request_id.empty()) j["request_id"] = r.request_id;
  Write(Dump(j));
}

void HostLog::Event(std::string_view event,
                    std::initializer_list<std::pair<std::string_view, Value>> fields) {
  nlohmann::json j = {{"time", Now()}, {"event", std::string(event)}};
  for (const auto& [key, value] : fields) {
    std::visit([&j, key = std::string(key)](const auto& v) { j[key] = v; }, value);
  }
  Write(Dump(j));
}

}  // namespace veil::host
