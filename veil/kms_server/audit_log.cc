#include "veil/kms_server/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace veil::kms_server {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<AuditLog>(new AuditLog(-1));
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open audit log ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<AuditLog>(new AuditLog(fd));
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) close(fd_);
}

std::string AuditLog::FormatRecord(const AuditRecord& r) {
  nlohmann::json j = nlohmann::json::object();
  j["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", r.time, absl::UTCTimeZone());
  auto put = [&j](const char* name, const std::string& value) {
    if (!value.empty()) j[name] = value;
  };
  put("requestId", r.request_id);
  put("principal", r.principal);
  put("accessKeyId", r.access_key_id);
  put("sourceIp", r.source_ip);
  put("operation", r.operation);
  put("keyArn", r.key_arn);
  put("outcome", r.outcome);
  if (!r.recipient_pcr0.empty()) {
    j["recipient"] = {{"pcr0", r.recipient_pcr0},
                      {"moduleId", r.recipient_module_id},
                      {"simulated", r.simulated_attestation}};
  }
  // Replace rather than throw on invalid UTF-8 (an operation name comes from
  // the request).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void AuditLog::Write(const AuditRecord& record) {
  if (fd_ < 0) return;
  const std::string line = FormatRecord(record);
  const ssize_t n = write(fd_, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) {
    absl::MutexLock lock(&mu_);
    ++failures_;
  }
}

uint64_t AuditLog::write_failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

}  // namespace veil::kms_server
