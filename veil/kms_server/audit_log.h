// AuditLog: one JSON line per KMS call (who, what, which key, outcome, the
// attested PCR0 when a Recipient was verified). Records carry metadata only:
// there is no field for key material, plaintext or ciphertext, so none can
// be logged by mistake. The audit issue will hash-chain these records.
#ifndef VEIL_KMS_SERVER_AUDIT_LOG_H_
#define VEIL_KMS_SERVER_AUDIT_LOG_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace veil::kms_server {

// AuditRecord is one call. Empty strings are left out of the line.
struct AuditRecord {
  absl::Time time;
  std::string request_id;
  std::string principal;  // caller ARN; empty when authentication failed
  std::string access_key_id;
  std::string source_ip;
  std::string operation;  // "Decrypt"
  std::string key_arn;    // the key used, when one was resolved
  std::string outcome;    // "ok" or the AWS error type
  std::string recipient_pcr0;  // lower-case hex, when a Recipient verified
  std::string recipient_module_id;
  bool simulated_attestation = false;  // the document chained to a non-AWS root
};

// AuditLog appends records to a file (or discards them when built with an
// empty path). Each record is written with one write(2) call to a file
// opened O_APPEND, so concurrent records never interleave. Thread-safe.
class AuditLog {
 public:
  // Open opens `path` for appending (mode 0600), or makes a discarding log
  // when `path` is empty.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  // Write appends `record`; failures are counted, never thrown back at the
  // call being audited.
  void Write(const AuditRecord& record);
  // FormatRecord returns the JSON line (with its trailing newline).
  static std::string FormatRecord(const AuditRecord& record);
  // write_failures counts records that could not be written.
  uint64_t write_failures() const;

 private:
  explicit AuditLog(int fd) : fd_(fd) {}
  const int fd_;
  mutable absl::Mutex mu_;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_AUDIT_LOG_H_
