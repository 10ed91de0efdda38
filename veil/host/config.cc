#include "veil/host/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/wire/messages.h"
#include "veil/wire/transport.h"

namespace veil::host {
namespace {

using nlohmann::json;

absl::Status Bad(std::string_view file, std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(file), ": \"", std::string(key), "\" ", std::string(what)));
}

absl::Status OnlyKeys(const json& obj, std::string_view file, std::string_view where,
                      std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || key == k;
    if (!ok) return Bad(file, absl::StrCat(std::string(where), key), "is not a known key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> String(const json& obj, std::string_view file, std::string_view key,
                                   bool required, std::string_view where = "") {
  const std::string name = absl::StrCat(std::string(where), std::string(key));
  auto it = obj.find(std::string(key));
  if (it == obj.end()) {
    if (required) return Bad(file, name, "is missing");
    return std::string();
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Bad(file, name, "must be a non-empty string");
  }
  return it->get<std::string>();
}

absl::StatusOr<int64_t> Int(const json& obj, std::string_view file, std::string_view key,
                            int64_t fallback, int64_t lo, int64_t hi,
                            std::string_view where = "") {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    return Bad(file, absl::StrCat(std::string(where), std::string(key)),
               absl::StrCat("must be an integer in [", lo, ", ", hi, "]"));
  }
  return it->get<int64_t>();
}

absl::StatusOr<bool> Bool(const json& obj, std::string_view file, std::string_view key,
                          bool fallback, std::string_view where = "") {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return fallback;
  if (!it->is_boolean()) {
    return Bad(file, absl::StrCat(std::string(where), std::string(key)), "must be true or false");
  }
  return it->get<bool>();
}

absl::StatusOr<json> ParseObject(std::string_view text, std::string_view file) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(std::string(file), ": not valid JSON"));
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(file), ": must be a JSON object"));
  }
  return doc;
}

std::string Resolve(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return absl::StrCat(std::string(base_dir), "/", path);
}

absl::Status CheckEndpoint(std::string_view file, std::string_view key, const std::string& text,
                           bool allow_non_loopback) {
  auto endpoint = wire::ParseEndpoint(text);
  if (!endpoint.ok()) return Bad(file, key, absl::StrCat("is not an endpoint: ",
                                                         std::string(endpoint.status().message())));
  wire::TransportOptions options;
  options.allow_non_loopback = allow_non_loopback;
  if (absl::Status s = wire::CheckEndpoint(*endpoint, options); !s.ok()) {
    return Bad(file, key, std::string(s.message()));
  }
  return absl::OkStatus();
}

// ParseListen splits "ADDRESS:PORT" or "[V6ADDRESS]:PORT".
absl::Status ParseListen(std::string_view text, HostConfig* out) {
  constexpr std::string_view kFile = "host config";
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Bad(kFile, "listen", "must be ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  }
  std::string_view address = text.substr(0, colon);
  if (address.front() == '[') {
    if (address.size() < 3 || address.back() != ']') {
      return Bad(kFile, "listen", "has a malformed [IPv6] address");
    }
    address = address.substr(1, address.size() - 2);
  }
  int port = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(colon + 1)), &port) || port < 0 || port > 65535) {
    return Bad(kFile, "listen", "has a port outside 0..65535");
  }
  out->listen_address = std::string(address);
  out->listen_port = port;
  return absl::OkStatus();
}

bool ValidTenantId(std::string_view id) {
  if (id.empty() || id.size() > wire::kMaxTenantLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadText(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the ", std::string(what), " ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<HostConfig> ParseHostConfig(std::string_view json_text, std::string_view base_dir) {
  constexpr std::string_view kFile = "host config";
  VEIL_ASSIGN_OR_RETURN(const json doc, ParseObject(json_text, kFile));
  VEIL_RETURN_IF_ERROR(OnlyKeys(doc, kFile, "",
                                {"listen", "enclave", "enclave_allow_non_loopback",
                                 "tenants_file", "static_dir", "max_body_bytes",
                                 "tenant_concurrency", "request_timeout_seconds", "http_threads",
                                 "http_queue", "shutdown_grace_seconds", "kms_proxy",
                                 "credentials"}));
  HostConfig c;
  VEIL_ASSIGN_OR_RETURN(const std::string listen, String(doc, kFile, "listen", true));
  VEIL_RETURN_IF_ERROR(ParseListen(listen, &c));
  VEIL_ASSIGN_OR_RETURN(c.enclave_allow_non_loopback,
                        Bool(doc, kFile, "enclave_allow_non_loopback", false));
  VEIL_ASSIGN_OR_RETURN(c.enclave, String(doc, kFile, "enclave", true));
  VEIL_RETURN_IF_ERROR(CheckEndpoint(kFile, "enclave", c.enclave, c.enclave_allow_non_loopback));
  VEIL_ASSIGN_OR_RETURN(std::string tenants_file, String(doc, kFile, "tenants_file", true));
  c.tenants_file = Resolve(base_dir, tenants_file);
  VEIL_ASSIGN_OR_RETURN(std::string static_dir, String(doc, kFile, "static_dir", false));
  c.static_dir = Resolve(base_dir, static_dir);
  // The body travels in one frame with the wire protocol's own fields.
  const int64_t max_body = static_cast<int64_t>(wire::Limits().max_frame_bytes) - 64 * 1024;
  VEIL_ASSIGN_OR_RETURN(const int64_t body,
                        Int(doc, kFile, "max_body_bytes", 16 * 1024 * 1024, 1, max_body));
  c.max_body_bytes = static_cast<size_t>(body);
  VEIL_ASSIGN_OR_RETURN(c.tenant_concurrency, Int(doc, kFile, "tenant_concurrency", 4, 1, 10000));
  VEIL_ASSIGN_OR_RETURN(c.request_timeout_seconds,
                        Int(doc, kFile, "request_timeout_seconds", 30, 1, 3600));
  VEIL_ASSIGN_OR_RETURN(c.http_threads, Int(doc, kFile, "http_threads", 16, 1, 1024));
  VEIL_ASSIGN_OR_RETURN(c.http_queue, Int(doc, kFile, "http_queue", 64, 0, 100000));
  VEIL_ASSIGN_OR_RETURN(c.shutdown_grace_seconds,
                        Int(doc, kFile, "shutdown_grace_seconds", 10, 0, 3600));

  if (auto it = doc.find("kms_proxy"); it != doc.end()) {
    if (!it->is_object()) return Bad(kFile, "kms_proxy", "must be an object");
    VEIL_RETURN_IF_ERROR(OnlyKeys(*it, kFile, "kms_proxy.", {"listen", "to"}));
    KmsProxyConfig p;
    VEIL_ASSIGN_OR_RETURN(p.listen, String(*it, kFile, "listen", true, "kms_proxy."));
    VEIL_ASSIGN_OR_RETURN(p.to, String(*it, kFile, "to", true, "kms_proxy."));
    VEIL_RETURN_IF_ERROR(CheckEndpoint(kFile, "kms_proxy.listen", p.listen, false));
    // The key service may be elsewhere (AWS KMS is): the destination is the
    // allowlist and the bytes are TLS records.
    VEIL_RETURN_IF_ERROR(CheckEndpoint(kFile, "kms_proxy.to", p.to, true));
    c.kms_proxy = std::move(p);
  }
  if (auto it = doc.find("credentials"); it != doc.end()) {
    if (!it->is_object()) return Bad(kFile, "credentials", "must be an object");
    VEIL_RETURN_IF_ERROR(
        OnlyKeys(*it, kFile, "credentials.", {"from_environment", "refresh_seconds"}));
    CredentialsConfig cc;
    VEIL_ASSIGN_OR_RETURN(cc.from_environment,
                          Bool(*it, kFile, "from_environment", false, "credentials."));
    if (!cc.from_environment) {
      return Bad(kFile, "credentials.from_environment",
                 "must be true (the environment is the only source)");
    }
    VEIL_ASSIGN_OR_RETURN(cc.refresh_seconds,
                          Int(*it, kFile, "refresh_seconds", 300, 10, 86400, "credentials."));
    c.credentials = cc;
  }
  return c;
}

absl::StatusOr<HostConfig> LoadHostConfig(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(const std::string text, ReadText(path, "host config"));
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? "." : path.substr(0, slash);
  return ParseHostConfig(text, base.empty() ? "/" : base);
}

absl::StatusOr<std::vector<TenantConfig>> ParseTenants(std::string_view json_text) {
  constexpr std::string_view kFile = "tenants file";
  VEIL_ASSIGN_OR_RETURN(const json doc, ParseObject(json_text, kFile));
  VEIL_RETURN_IF_ERROR(OnlyKeys(doc, kFile, "", {"tenants"}));
  auto list = doc.find("tenants");
  if (list == doc.end()) return Bad(kFile, "tenants", "is missing");
  if (!list->is_array()) return Bad(kFile, "tenants", "must be an array");
  std::vector<TenantConfig> out;
  std::set<std::string> ids;
  std::set<Sha256Digest> hashes;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& t = (*list)[i];
    const std::string where = absl::StrCat("tenants[", i, "].");
    if (!t.is_object()) return Bad(kFile, absl::StrCat("tenants[", i, "]"), "must be an object");
    VEIL_RETURN_IF_ERROR(
        OnlyKeys(t, kFile, where, {"id", "api_key_sha256", "kms_key", "max_concurrency"}));
    TenantConfig tc;
    VEIL_ASSIGN_OR_RETURN(tc.id, String(t, kFile, "id", true, where));
    if (!ValidTenantId(tc.id)) {
      return Bad(kFile, absl::StrCat(where, "id"), "must be 1..64 of [A-Za-z0-9._-]");
    }
    if (!ids.insert(tc.id).second) {
      return Bad(kFile, absl::StrCat(where, "id"), "repeats another tenant's id");
    }
    VEIL_ASSIGN_OR_RETURN(const std::string hex, String(t, kFile, "api_key_sha256", true, where));
    auto digest = HexDecode(hex);
    if (hex.size() != 2 * kSha256DigestSize || !digest.ok()) {
      return Bad(kFile, absl::StrCat(where, "api_key_sha256"), "must be 64 hex digits");
    }
    std::copy(digest->begin(), digest->end(), tc.api_key_sha256.begin());
    if (!hashes.insert(tc.api_key_sha256).second) {
      return Bad(kFile, absl::StrCat(where, "api_key_sha256"),
                 "repeats another tenant's key hash");
    }
    VEIL_ASSIGN_OR_RETURN(tc.kms_key, String(t, kFile, "kms_key", false, where));
    VEIL_ASSIGN_OR_RETURN(tc.max_concurrency,
                          Int(t, kFile, "max_concurrency", 0, 1, 10000, where));
    out.push_back(std::move(tc));
  }
  return out;
}

absl::StatusOr<std::vector<TenantConfig>> LoadTenants(const std::string& path) {
  VEIL_ASSIGN_OR_RETURN(const std::string text, ReadText(path, "tenants file"));
  return ParseTenants(text);
}

}  // namespace veil::host
