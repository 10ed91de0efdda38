// EnclaveConfig: veil-enclave's configuration file. It is one of the
// measured image parts, so everything in it is covered by PCR0 (and PCR2):
// a key policy that pins PCR0 pins this configuration, including the key
// service's CA and which tenants' keys the enclave may use.
//
//   {
//     "format": "veil-enclave-config/1",
//     "profile": "development" | "production",
//     "channel": "unix:/run/veil/channel.sock",      // wire endpoint to listen on
//     "nsm": "device:/dev/nsm" | "simulator:/run/veil/nsm.sock" | "mock",
//     "model": "/enclave/app/model.json",            // manifest (or .onnx)
//     "workers": 2, "queue": 8, "threads": 0,        // see EnclaveConfig
//     "keys": {
//       "tier": "local" | "kms" | "kms-recipient",
//       "kms": {                                      // kms tiers only
//         "endpoint": "https://kms.veil.test:8443", "region": "us-east-1",
//         "ca_file": "/enclave/app/kms-ca.pem",       // pinned CA of the key service
//         "connect_host": "127.0.0.1",                // optional, see HttpKmsClientOptions
//         "proxy": "unix:/run/veil/kms.sock"          // optional: forward through the parent
//       }
//     },
//     "tenants": {
//       "acme": {"kms_key": "arn:aws:kms:..."}                         // kms tiers
//       "acme": {"local_key_file": "/enclave/app/acme.key",            // local tier
//                "key_namespace": "veil", "key_name": "acme"}
//     },
//     "replay": {"max_ttl_seconds": 900, "capacity_per_tenant": 10000}
//   }
//
// Production profile refuses every simulation and shortcut: the NSM must be
// the device, the key tier kms-recipient, and the KMS endpoint https.
#ifndef VEIL_ENCLAVE_CONFIG_H_
#define VEIL_ENCLAVE_CONFIG_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace veil::enclave {

enum class KeyTier { kLocal, kKms, kKmsRecipient };
enum class NsmSource { kDevice, kSimulator, kMock };

std::string_view KeyTierName(KeyTier tier);
std::string_view NsmSourceName(NsmSource source);

struct KmsSettings {
  std::string endpoint;
  std::string region;
  std::string ca_file;
  std::string connect_host;
  std::string proxy;  // wire endpoint of the parent's byte proxy; empty = direct
};

struct TenantSettings {
  std::string kms_key;         // kms tiers
  std::string local_key_file;  // local tier
  std::string key_namespace = "veil";
  std::string key_name;        // default: the tenant id
};

struct EnclaveConfig {
  bool production = false;
  std::string channel;
  NsmSource nsm = NsmSource::kMock;
  std::string nsm_path;
  std::string model;
  int workers = 1;   // requests decrypted and detected at once (= networks)
  int queue = 8;     // requests waiting beyond those; more are answered busy
  int threads = 0;   // cv::setNumThreads; 0 = OpenCV's choice
  KeyTier key_tier = KeyTier::kLocal;
  KmsSettings kms;
  std::map<std::string, TenantSettings> tenants;
  absl::Duration max_ttl = absl::Minutes(15);
  size_t replay_capacity_per_tenant = 10000;
};

// ParseEnclaveConfig parses and validates the document. InvalidArgument
// names the key; FailedPrecondition for a production profile that asks for
// a simulation or shortcut.
absl::StatusOr<EnclaveConfig> ParseEnclaveConfig(std::string_view json);

// LoadEnclaveConfig reads and parses a file (at most 1 MiB).
absl::StatusOr<EnclaveConfig> LoadEnclaveConfig(const std::string& path);

// TierDescription is the loud one-line summary for logs and health, e.g.
// "keys=kms-recipient nsm=simulator profile=development".
std::string TierDescription(const EnclaveConfig& config);

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_CONFIG_H_
