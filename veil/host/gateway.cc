#include "veil/host/gateway.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/wire/scoped_fd.h"

namespace veil::host {
namespace {

constexpr size_t kMaxStaticFileBytes = 64 * 1024 * 1024;

// Text helpers over std::string_view (Debian's abseil has its own
// string_view type, which std::string_view does not convert to).
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (absl::ascii_tolower(static_cast<unsigned char>(a[i])) !=
        absl::ascii_tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

HttpResponse Json(int status, const nlohmann::json& j, std::string_view route,
                  std::string_view outcome) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = Dump(j);
  r.route = std::string(route);
  r.outcome = std::string(outcome);
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse MethodNotAllowed(std::string_view route, std::string_view allow) {
  HttpResponse r = JsonError(405, "method_not_allowed", route, "");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

bool IsGet(const HttpRequest& request) {
  return request.method == "GET" || request.method == "HEAD";
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (path.empty() || realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

std::string_view ContentTypeFor(std::string_view path) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (path.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

// PercentDecode decodes %XX escapes; false for a malformed escape or a NUL.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    auto hex = HexDecode(in.substr(i + 1, 2));
    if (!hex.ok()) return false;
    out->push_back(static_cast<char>((*hex)[0]));
    i += 2;
  }
  return out->find('\0') == std::string::npos;
}

}  // namespace

bool ValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > wire::kMaxRequestIdLength) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

HttpResponse JsonError(int status, std::string_view code, std::string_view route,
                       const std::string& request_id) {
  nlohmann::json j = {{"error", std::string(code)}, {"request_id", nullptr}};
  if (!request_id.empty()) j["request_id"] = request_id;
  HttpResponse r = Json(status, j, route, code);
  r.request_id = request_id;
  return r;
}

Gateway::Gateway(TenantRegistry* tenants, wire::ChannelClient* infer_channel,
                 wire::ChannelClient* control_channel, HostMetrics* metrics,
                 GatewayOptions options)
    : tenants_(tenants),
      infer_channel_(infer_channel),
      control_channel_(control_channel),
      metrics_(metrics),
      options_(std::move(options)),
      static_root_(RealPath(options_.static_dir)) {}

HttpResponse Gateway::Handle(const HttpRequest& request, BodyReader& body) {
  HostMetrics::InFlight in_flight(metrics_);
  const std::string& path = request.path;
  if (path == "/v1/infer") return Infer(request, body);
  if (path == "/v1/attestation") return Attestation(request);
  if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
    const std::string route = path.substr(1);
    if (!IsGet(request)) return MethodNotAllowed(route, "GET, HEAD");
    if (path == "/healthz") return Healthz();
    if (path == "/readyz") return Readyz();
    return Metrics();
  }
  if (path.starts_with("/v1/")) return JsonError(404, "not_found", "other", "");
  return Static(request);
}

HttpResponse Gateway::FromErrorCode(wire::ErrorCode code, const std::string& route,
                                    const std::string& request_id) {
  HttpResponse r = JsonError(wire::HttpStatusForErrorCode(code), wire::ErrorCodeName(code),
                             route, request_id);
  if (wire::ShouldRetryAfter(code)) {
    r.headers.emplace_back("Retry-After", absl::StrCat(options_.retry_after_seconds));
  }
  if (code == wire::ErrorCode::kUnavailable && options_.on_enclave_unavailable) {
    options_.on_enclave_unavailable();
  }
  return r;
}

HttpResponse Gateway::FromCallFailure(const absl::Status& status, const std::string& route,
                                      const std::string& request_id) {
  if (absl::IsDeadlineExceeded(status)) {
    // The enclave took longer than the request timeout. It may still act on
    // the request, so the client starts over with a new request id.
    return JsonError(504, "enclave_timeout", route, request_id);
  }
  // The enclave is not there (not started, restarting, crashed): answer at
  // once; the next call reconnects.
  HttpResponse r = JsonError(503, "enclave_unavailable", route, request_id);
  r.headers.emplace_back("Retry-After", absl::StrCat(options_.retry_after_seconds));
  return r;
}

HttpResponse Gateway::Infer(const HttpRequest& request, BodyReader& body) {
  static const std::string kRoute = "infer";
  if (request.method != "POST") return MethodNotAllowed(kRoute, "POST");

  bool id_repeated = false;
  const std::string* id_header = request.Header(kRequestIdHeader, &id_repeated);
  const bool id_ok = id_header != nullptr && !id_repeated && ValidRequestId(*id_header);
  const std::string request_id = id_ok ? *id_header : "";

  // Credentials first: an unauthenticated caller learns nothing else. Every
  // failure (no header, another scheme, an unknown or wrong key) gets the
  // same answer.
  bool auth_repeated = false;
  const std::string* auth = request.Header("authorization", &auth_repeated);
  Tenant* tenant = nullptr;
  if (auth != nullptr && !auth_repeated && auth->size() > 7 &&
      IEquals(std::string_view(*auth).substr(0, 7), "bearer ")) {
    tenant = tenants_->Authenticate(Trim(std::string_view(*auth).substr(7)));
  }
  if (tenant == nullptr) {
    HttpResponse r = JsonError(401, "unauthenticated", kRoute, request_id);
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"veil\"");
    return r;
  }
  if (!id_ok) return JsonError(400, "invalid_request_id", kRoute, "");

  bool type_repeated = false;
  if (const std::string* type = request.Header("content-type", &type_repeated); type != nullptr) {
    const std::string_view media =
        Trim(std::string_view(*type).substr(0, std::string_view(*type).find(';')));
    if (type_repeated || !IEquals(media, "application/octet-stream")) {
      return JsonError(415, "unsupported_media_type", kRoute, request_id);
    }
  }
  // Size before the slot and before reading: an over-limit Content-Length
  // is refused without reading a byte of the body.
  if (request.content_length.has_value() && *request.content_length > options_.max_body_bytes) {
    return JsonError(413, "too_large", kRoute, request_id);
  }
  if (!TenantRegistry::TryAcquire(*tenant)) {
    HttpResponse r = JsonError(429, "tenant_limit", kRoute, request_id);
    r.headers.emplace_back("Retry-After", absl::StrCat(options_.retry_after_seconds));
    return r;
  }
  TenantRegistry::Slot slot(tenant);

  auto bytes = body.ReadAll(options_.max_body_bytes);
  if (!bytes.ok()) {
    if (absl::IsOutOfRange(bytes.status())) return JsonError(413, "too_large", kRoute, request_id);
    if (absl::IsDeadlineExceeded(bytes.status())) {
      return JsonError(408, "timeout", kRoute, request_id);
    }
    if (absl::IsDataLoss(bytes.status())) {
      return JsonError(400, "client_closed", kRoute, request_id);
    }
    return JsonError(400, "bad_request", kRoute, request_id);
  }
  if (bytes->empty()) return JsonError(400, "bad_request", kRoute, request_id);

  wire::Request call;
  call.message = wire::InferRequest{tenant->id, request_id,
                                    std::vector<uint8_t>(bytes->begin(), bytes->end())};
  std::string().swap(*bytes);
  auto answer = infer_channel_->Call(std::move(call));
  if (!answer.ok()) return FromCallFailure(answer.status(), kRoute, request_id);
  if (const auto* error = std::get_if<wire::ErrorResponse>(&answer->message)) {
    return FromErrorCode(error->code, kRoute, request_id);
  }
  const auto* result = std::get_if<wire::InferResponse>(&answer->message);
  if (result == nullptr) return JsonError(502, "bad_gateway", kRoute, request_id);
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/octet-stream";
  r.body.assign(result->body.begin(), result->body.end());
  r.headers.emplace_back("Cache-Control", "no-store");
  r.route = kRoute;
  r.outcome = "ok";
  r.request_id = request_id;
  return r;
}

HttpResponse Gateway::Attestation(const HttpRequest& request) {
  static const std::string kRoute = "attestation";
  if (!IsGet(request)) return MethodNotAllowed(kRoute, "GET, HEAD");
  wire::AttestRequest attest;
  if (!request.query.empty()) {
    for (std::string_view param : Split(request.query, '&')) {
      const size_t eq = param.find('=');
      const std::string_view name = param.substr(0, eq);
      const std::string_view value = eq == std::string_view::npos ? "" : param.substr(eq + 1);
      if (name != "nonce" || attest.nonce.has_value()) {
        return JsonError(400, "bad_request", kRoute, "");
      }
      auto nonce = HexDecode(value);
      if (!nonce.ok() || nonce->size() > wire::Limits().max_nonce_bytes) {
        return JsonError(400, "bad_request", kRoute, "");
      }
      attest.nonce = std::move(*nonce);
    }
  }
  wire::Request call;
  call.message = std::move(attest);
  auto answer = control_channel_->Call(std::move(call));
  if (!answer.ok()) return FromCallFailure(answer.status(), kRoute, "");
  if (const auto* error = std::get_if<wire::ErrorResponse>(&answer->message)) {
    return FromErrorCode(error->code, kRoute, "");
  }
  const auto* document = std::get_if<wire::AttestResponse>(&answer->message);
  if (document == nullptr) return JsonError(502, "bad_gateway", kRoute, "");
  HttpResponse r;
  r.status = 200;
  r.content_type = "application/cbor";
  r.body.assign(document->document.begin(), document->document.end());
  r.headers.emplace_back("Cache-Control", "no-store");
  r.route = kRoute;
  return r;
}

std::optional<wire::HealthResponse> Gateway::ProbeHealth() {
  wire::Request call;
  call.message = wire::HealthRequest{};
  auto answer = control_channel_->Call(std::move(call));
  std::optional<wire::HealthResponse> health;
  if (answer.ok()) {
    if (const auto* h = std::get_if<wire::HealthResponse>(&answer->message)) health = *h;
  }
  metrics_->SetEnclaveHealth(health);
  return health;
}

HttpResponse Gateway::Healthz() {
  const std::optional<wire::HealthResponse> health = ProbeHealth();
  nlohmann::json enclave = {{"reachable", health.has_value()}};
  if (health.has_value()) {
    // The enclave's own words: a mock TEE, a simulated NSM or a local key
    // tier shows here as the enclave reports it.
    enclave["status"] = health->status;
    enclave["tier"] = health->tier;
    enclave["model"] = health->model;
    enclave["model_sha256"] = health->model_sha256;
    enclave["queue_depth"] = health->queue_depth;
    enclave["workers"] = health->workers;
  }
  nlohmann::json host = {{"status", "ok"},
                         {"in_flight", metrics_->in_flight()},
                         {"kms_proxy", static_cast<bool>(options_.proxy_stats)},
                         {"static_files", !static_root_.empty()}};
  const nlohmann::json doc = {{"status", health.has_value() ? "ok" : "degraded"},
                              {"host", host},
                              {"enclave", enclave}};
  return Json(200, doc, "healthz", health.has_value() ? "ok" : "enclave_unavailable");
}

HttpResponse Gateway::Readyz() {
  const bool ready = ProbeHealth().has_value();
  HttpResponse r = Json(ready ? 200 : 503, {{"ready", ready}}, "readyz",
                        ready ? "ok" : "enclave_unavailable");
  if (!ready) r.headers.emplace_back("Retry-After", absl::StrCat(options_.retry_after_seconds));
  return r;
}

HttpResponse Gateway::Metrics() {
  ProbeHealth();
  std::optional<proxy::ByteProxyStats> proxy;
  if (options_.proxy_stats) proxy = options_.proxy_stats();
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_->Render(proxy);
  r.headers.emplace_back("Cache-Control", "no-store");
  r.route = "metrics";
  return r;
}

HttpResponse Gateway::Static(const HttpRequest& request) {
  static const std::string kRoute = "static";
  if (static_root_.empty()) return JsonError(404, "not_found", "other", "");
  if (!IsGet(request)) return MethodNotAllowed(kRoute, "GET, HEAD");
  std::string path;
  if (!PercentDecode(request.path, &path)) return JsonError(400, "bad_request", kRoute, "");
  if (path.ends_with("/")) path += "index.html";
  // Every segment must be a plain name: no "..", ".", empty segments,
  // backslashes or hidden files.
  for (std::string_view segment : Split(std::string_view(path).substr(1), '/')) {
    if (segment.empty() || segment.front() == '.' ||
        segment.find('\\') != std::string_view::npos) {
      return JsonError(404, "not_found", kRoute, "");
    }
  }
  // The resolved file must still be under the root (no symlink out of it).
  const std::string resolved = RealPath(static_root_ + path);
  if (resolved.empty() || !resolved.starts_with(static_root_ + "/")) {
    return JsonError(404, "not_found", kRoute, "");
  }
  wire::ScopedFd fd(open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return JsonError(404, "not_found", kRoute, "");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxStaticFileBytes) {
    return JsonError(500, "internal", kRoute, "");
  }
  HttpResponse r;
  r.body.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < r.body.size()) {
    const ssize_t n = read(fd.get(), r.body.data() + got, r.body.size() - got);
    if (n <= 0) return JsonError(500, "internal", kRoute, "");
    got += static_cast<size_t>(n);
  }
  r.status = 200;
  r.content_type = std::string(ContentTypeFor(resolved));
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.route = kRoute;
  return r;
}

}  // namespace veil::host
