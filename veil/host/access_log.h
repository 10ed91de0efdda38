// HostLog: veil-host's log, JSON lines on stderr with metadata only (time,
// route, status, outcome code, bytes, duration, the client's request id).
// Its API takes no bodies and no headers: an exchange is logged from an
// ExchangeRecord, and an event's fields are numbers, booleans and short
// texts chosen by the code (SecretBytes does not convert to any of them).
#ifndef VEIL_HOST_ACCESS_LOG_H_
#define VEIL_HOST_ACCESS_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "veil/host/http_server.h"

namespace veil::host {

class HostLog {
 public:
  using Sink = std::function<void(std::string_view line)>;
  using Value = std::variant<std::string, int64_t, bool>;

  // HostLog writes to `sink` (one call per line, newline included), or to
  // stderr when `sink` is empty. Thread-safe.
  explicit HostLog(Sink sink = nullptr);

  // Exchange logs one answered HTTP request.
  void Exchange(const ExchangeRecord& record);
  // Event logs a named event with metadata fields.
  void Event(std::string_view event,
             std::initializer_list<std::pair<std::string_view, Value>> fields = {});

 private:
  void Write(const std::string& line);
  Sink sink_;
  std::mutex mu_;
};

}  // namespace veil::host

#endif  // VEIL_HOST_ACCESS_LOG_H_
