// RequestHandler: one HTTP request in, one HTTP response out, with no
// sockets involved (the HTTP server, the fuzzer and the tests all drive
// it). It applies, in order: CORS preflight, method/path routing, the body
// size limit, SigV4 verification of every request (canonical request rebuilt
// from what arrived, clock-skew window, unknown or wrong keys refused), the
// AWS JSON 1.1 target (X-Amz-Target: TrentService.<Operation>), JSON
// parsing, the KeyService call, AWS's error shapes, and one audit record.
#ifndef VEIL_KMS_SERVER_REQUEST_HANDLER_H_
#define VEIL_KMS_SERVER_REQUEST_HANDLER_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/kms/sigv4.h"
#include "veil/kms_server/audit_log.h"
#include "veil/kms_server/key_service.h"
#include "veil/kms_server/principals.h"

namespace veil::kms_server {

// kMaxRequestBody bounds a request body: the largest legitimate one is a
// Recipient with a 256 KiB attestation document in Base64 (~350 KB).
inline constexpr size_t kMaxRequestBody = 512 * 1024;

struct HttpRequest {
  std::string method;
  std::string path = "/";  // as on the request line, not decoded
  std::string query;       // raw, without '?'
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_addr;
  bool secure_transport = false;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct RequestHandlerOptions {
  std::string region = "us-east-1";
  absl::Duration max_clock_skew = absl::Minutes(5);
  std::function<absl::Time()> now;  // absl::Now when empty
  // health is the JSON body of GET /healthz (it says whether attestation is
  // simulated, STYLE.md C12).
  std::string health = R"({"status":"ok"})";
};

// RequestHandler is thread-safe. The service, directory and audit log are
// not owned and must outlive it.
class RequestHandler {
 public:
  static absl::StatusOr<std::unique_ptr<RequestHandler>> Create(KeyService* service,
                                                                const PrincipalDirectory* principals,
                                                                AuditLog* audit,
                                                                RequestHandlerOptions options);

  // Handle never fails: every problem becomes an AWS error response.
  HttpResponse Handle(const HttpRequest& request) const;

 private:
  RequestHandler(KeyService* service, const PrincipalDirectory* principals, AuditLog* audit,
                 RequestHandlerOptions options, std::unique_ptr<kms::SigV4Verifier> verifier)
      : service_(service),
        principals_(principals),
        audit_(audit),
        options_(std::move(options)),
        verifier_(std::move(verifier)) {}

  KeyService* service_;
  const PrincipalDirectory* principals_;
  AuditLog* audit_;
  RequestHandlerOptions options_;
  std::unique_ptr<kms::SigV4Verifier> verifier_;
};

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_REQUEST_HANDLER_H_
