#include "veil/kms_server/request_handler.h"

#include <atomic>
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "veil/common/encoding.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/random.h"
#include "veil/kms/types.h"
#include "veil/kms_server/kms_errors.h"

namespace veil::kms_server {

using kms::ErrorType;
using kms::KmsError;

namespace {

constexpr char kTargetPrefix[] = "TrentService.";
constexpr char kJsonContentType[] = "application/x-amz-json-1.1";
constexpr char kAllowedHeaders[] =
    "authorization,content-type,x-amz-date,x-amz-target,x-amz-security-token,"
    "x-amz-user-agent,x-amz-content-sha256,amz-sdk-invocation-id,amz-sdk-request";

const std::string* FindHeader(const HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (absl::EqualsIgnoreCase(k, absl::string_view(name.data(), name.size()))) return &v;
  }
  return nullptr;
}

std::string RequestId() {
  auto bytes = crypto::RandomBytes(16);
  if (!bytes.ok()) return "00000000-0000-4000-8000-000000000000";
  const std::string h = HexEncode(*bytes);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

HttpResponse ErrorResponse(const absl::Status& status, AuditRecord* audit) {
  const KmsErrorResponse e = MakeKmsErrorResponse(status);
  if (e.type == "KMSInternalException") {
    // The caller sees a generic message; the details stay here.
    std::fprintf(stderr, "veil-kms: internal error: %s\n", status.ToString().c_str());
  }
  audit->outcome = e.type;
  HttpResponse r;
  r.status = e.http_status;
  r.body = e.body;
  r.headers.emplace_back("Content-Type", kJsonContentType);
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RequestHandler>> RequestHandler::Create(
    KeyService* service, const PrincipalDirectory* principals, AuditLog* audit,
    RequestHandlerOptions options) {
  if (service == nullptr || principals == nullptr || audit == nullptr) {
    return absl::InvalidArgumentError("RequestHandler needs a service, principals and audit log");
  }
  if (!options.now) options.now = [] { return absl::Now(); };
  kms::VerifierOptions v;
  v.service = "kms";
  v.region = options.region;
  v.max_skew = options.max_clock_skew;
  v.now = options.now;
  auto verifier = kms::SigV4Verifier::Create(
      v, [principals](const std::string& id) { return principals->Secret(id); });
  if (!verifier.ok()) return verifier.status();
  return std::unique_ptr<RequestHandler>(
      new RequestHandler(service, principals, audit, std::move(options), std::move(*verifier)));
}

HttpResponse RequestHandler::Handle(const HttpRequest& request) const {
  const std::string request_id = RequestId();
  const std::string* origin = FindHeader(request, "Origin");
  auto finish = [&](HttpResponse r) {
    r.headers.emplace_back("x-amzn-RequestId", request_id);
    if (origin != nullptr) {
      // Browser clients (the web client, @aws-sdk/client-kms in a page):
      // requests are authenticated by SigV4, not by cookies, so any origin
      // may call and credentials are never implied.
      r.headers.emplace_back("Access-Control-Allow-Origin", "*");
      r.headers.emplace_back("Access-Control-Expose-Headers", "x-amzn-RequestId");
    }
    return r;
  };

  if (request.method == "OPTIONS") {
    HttpResponse r;
    r.headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
    const std::string* asked = FindHeader(request, "Access-Control-Request-Headers");
    r.headers.emplace_back("Access-Control-Allow-Headers",
                           asked != nullptr && asked->size() < 4096 ? *asked : kAllowedHeaders);
    r.headers.emplace_back("Access-Control-Max-Age", "86400");
    return finish(std::move(r));
  }
  if (request.method == "GET" && (request.path == "/healthz" || request.path == "/healthz/")) {
    HttpResponse r;
    r.body = options_.health;
    r.headers.emplace_back("Content-Type", "application/json");
    return finish(std::move(r));
  }

  AuditRecord audit;
  audit.time = options_.now();
  audit.request_id = request_id;
  audit.source_ip = request.remote_addr;
  auto done = [&](HttpResponse r) {
    audit_->Write(audit);
    return finish(std::move(r));
  };

  if (request.method != "POST" || (request.path != "/" && !request.path.empty())) {
    HttpResponse r = ErrorResponse(KmsError(ErrorType::kUnknownOperation, ""), &audit);
    r.status = 404;
    return done(std::move(r));
  }
  if (request.body.size() > kMaxRequestBody) {
    return done(ErrorResponse(
        KmsError(ErrorType::kRequestEntityTooLarge,
                 absl::StrCat("The request body is larger than ", kMaxRequestBody, " bytes")),
        &audit));
  }

  kms::HttpRequestParts parts;
  parts.method = request.method;
  parts.path = request.path.empty() ? "/" : request.path;
  parts.query = request.query;
  parts.headers = request.headers;
  parts.body = request.body;
  auto verified = verifier_->Verify(parts);
  if (!verified.ok()) {
    std::optional<kms::SigV4Failure> failure = kms::GetSigV4Failure(verified.status());
    std::optional<ErrorType> type;
    if (failure.has_value()) type = kms::ParseErrorType(kms::SigV4FailureAwsType(*failure));
    if (!type.has_value()) return done(ErrorResponse(verified.status(), &audit));
    return done(ErrorResponse(KmsError(*type, std::string(verified.status().message())), &audit));
  }
  audit.access_key_id = verified->access_key_id;
  std::optional<PrincipalRecord> principal = principals_->Find(verified->access_key_id);
  if (!principal.has_value()) {
    return done(ErrorResponse(KmsError(ErrorType::kUnrecognizedClient,
                                       "The security token included in the request is invalid."),
                              &audit));
  }
  audit.principal = principal->arn;

  const std::string* target = FindHeader(request, "X-Amz-Target");
  std::string operation;
  if (target != nullptr && target->starts_with(kTargetPrefix)) {
    operation = target->substr(sizeof(kTargetPrefix) - 1);
  }
  audit.operation = operation.size() <= 64 ? operation : operation.substr(0, 64);
  if (!KeyService::IsOperation(operation)) {
    return done(ErrorResponse(KmsError(ErrorType::kUnknownOperation, ""), &audit));
  }

  Caller caller{principal->arn, principal->account, principal->access_key_id,
                request.secure_transport};
  CallInfo info;
  auto result = service_->Call(caller, operation, request.body, &info);
  audit.key_arn = info.key_arn;
  audit.recipient_pcr0 = info.recipient_pcr0_hex;
  audit.recipient_module_id = info.recipient_module_id;
  audit.simulated_attestation = info.recipient_simulated;
  if (!result.ok()) return done(ErrorResponse(result.status(), &audit));

  audit.outcome = "ok";
  HttpResponse r;
  r.body = *std::move(result);
  r.headers.emplace_back("Content-Type", kJsonContentType);
  return done(std::move(r));
}

}  // namespace veil::kms_server
