// veil-host's configuration files (docs/host.md): the host config and the
// tenants file it names. Parsing is strict: an unknown key, a wrong type or
// a value out of range is InvalidArgument with a message naming the key.
//
// Host config:
//   {"listen": "127.0.0.1:8080", "enclave": "unix:/run/veil/channel.sock",
//    "tenants_file": "tenants.json", "static_dir": "web",
//    "max_body_bytes": 16777216, "tenant_concurrency": 4,
//    "request_timeout_seconds": 30,
//    "kms_proxy": {"listen": "unix:/run/veil/kms.sock", "to": "tcp:127.0.0.1:8443"},
//    "credentials": {"from_environment": true, "refresh_seconds": 300}}
// Tenants file:
//   {"tenants": [{"id": "acme", "api_key_sha256": "<64 hex>", "kms_key": "arn:..."}]}
#ifndef VEIL_HOST_CONFIG_H_
#define VEIL_HOST_CONFIG_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "veil/common/sha256.h"

namespace veil::host {

struct KmsProxyConfig {
  std::string listen;  // endpoint the enclave connects to (wire/transport.h form)
  std::string to;      // the one destination: the key service
};

struct CredentialsConfig {
  bool from_environment = false;  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...
  int refresh_seconds = 300;      // 10..86400
};

struct HostConfig {
  std::string listen_address = "127.0.0.1";  // "listen": "ADDRESS:PORT" or "[V6]:PORT"
  int listen_port = 8080;
  std::string enclave;       // channel endpoint: unix:, tcp: or vsock:
  bool enclave_allow_non_loopback = false;  // for a tcp enclave endpoint off this machine
  std::string tenants_file;  // relative paths are relative to the config file
  std::string static_dir;    // empty: no static files
  size_t max_body_bytes = 16 * 1024 * 1024;
  int tenant_concurrency = 4;       // default per-tenant limit of infer requests at once
  int request_timeout_seconds = 30;  // reading a request; the enclave's answer to infer
  int http_threads = 16;
  int http_queue = 64;
  int shutdown_grace_seconds = 10;
  std::optional<KmsProxyConfig> kms_proxy;
  std::optional<CredentialsConfig> credentials;
};

// ParseHostConfig parses the host config JSON. Relative file paths are
// resolved against `base_dir` (the config file's directory).
absl::StatusOr<HostConfig> ParseHostConfig(std::string_view json_text, std::string_view base_dir);
// LoadHostConfig reads and parses the file at `path`.
absl::StatusOr<HostConfig> LoadHostConfig(const std::string& path);

struct TenantConfig {
  std::string id;  // 1..64 of [A-Za-z0-9._-] (the wire protocol's rule)
  Sha256Digest api_key_sha256{};
  std::string kms_key;      // the tenant's KMS key, for clients; the host never uses it
  int max_concurrency = 0;  // 0: the host config's tenant_concurrency
};

// ParseTenants parses the tenants file. Ids must be unique, and so must the
// key hashes (one key, one tenant).
absl::StatusOr<std::vector<TenantConfig>> ParseTenants(std::string_view json_text);
absl::StatusOr<std::vector<TenantConfig>> LoadTenants(const std::string& path);

}  // namespace veil::host

#endif  // VEIL_HOST_CONFIG_H_
