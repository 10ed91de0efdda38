#include "veil/enclave/config.h"

#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/status_macros.h"

namespace veil::enclave {
namespace {

using nlohmann::json;

absl::Status Bad(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("enclave config: \"", std::string(key), "\" ", std::string(what)));
}

absl::Status OnlyKeys(const json& obj, std::string_view where,
                      std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : obj.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || key == k;
    if (!ok) return Bad(absl::StrCat(std::string(where), key), "is not a known key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> String(const json& obj, std::string_view key, bool required,
                                   std::string_view where = "") {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) {
    if (required) return Bad(absl::StrCat(std::string(where), std::string(key)), "is missing");
    return std::string();
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Bad(absl::StrCat(std::string(where), std::string(key)), "must be a non-empty string");
  }
  return it->get<std::string>();
}

absl::StatusOr<int64_t> Int(const json& obj, std::string_view key, int64_t fallback, int64_t lo,
                            int64_t hi, std::string_view where = "") {
  auto it = obj.find(std::string(key));
  if (it == obj.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < lo || it->get<int64_t>() > hi) {
    return Bad(absl::StrCat(std::string(where), std::string(key)),
               absl::StrCat("must be an integer in [", lo, ", ", hi, "]"));
  }
  return it->get<int64_t>();
}

bool ValidTenantId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string_view KeyTierName(KeyTier tier) {
  switch (tier) {
    case KeyTier::kLocal: return "local";
    case KeyTier::kKms: return "kms";
    case KeyTier::kKmsRecipient: return "kms-recipient";
  }
  return "unknown";
}

std::string_view NsmSourceName(NsmSource source) {
  switch (source) {
    case NsmSource::kDevice: return "device";
    case NsmSource::kSimulator: return "simulator";
    case NsmSource::kMock: return "mock";
  }
  return "unknown";
}

absl::StatusOr<EnclaveConfig> ParseEnclaveConfig(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("enclave config is not a JSON object");
  }
  VEIL_RETURN_IF_ERROR(OnlyKeys(doc, "", {"format", "profile", "channel", "nsm", "model",
                                          "workers", "queue", "threads", "keys", "tenants",
                                          "replay"}));
  EnclaveConfig c;
  VEIL_ASSIGN_OR_RETURN(std::string format, String(doc, "format", true));
  if (format != "veil-enclave-config/1") return Bad("format", "must be \"veil-enclave-config/1\"");
  VEIL_ASSIGN_OR_RETURN(std::string profile, String(doc, "profile", false));
  if (profile == "production") {
    c.production = true;
  } else if (!profile.empty() && profile != "development") {
    return Bad("profile", "must be \"development\" or \"production\"");
  }
  VEIL_ASSIGN_OR_RETURN(c.channel, String(doc, "channel", true));
  VEIL_ASSIGN_OR_RETURN(std::string nsm, String(doc, "nsm", true));
  if (nsm == "mock") {
    c.nsm = NsmSource::kMock;
  } else if (absl::StartsWith(nsm, "simulator:") && nsm.size() > 10) {
    c.nsm = NsmSource::kSimulator;
    c.nsm_path = nsm.substr(10);
  } else if (absl::StartsWith(nsm, "device:") && nsm.size() > 7) {
    c.nsm = NsmSource::kDevice;
    c.nsm_path = nsm.substr(7);
  } else {
    return Bad("nsm", "must be \"device:PATH\", \"simulator:SOCKET\" or \"mock\"");
  }
  VEIL_ASSIGN_OR_RETURN(c.model, String(doc, "model", true));
  VEIL_ASSIGN_OR_RETURN(int64_t workers, Int(doc, "workers", 1, 1, 64));
  VEIL_ASSIGN_OR_RETURN(int64_t queue, Int(doc, "queue", 8, 0, 4096));
  VEIL_ASSIGN_OR_RETURN(int64_t threads, Int(doc, "threads", 0, 0, 256));
  c.workers = static_cast<int>(workers);
  c.queue = static_cast<int>(queue);
  c.threads = static_cast<int>(threads);

  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_object()) return Bad("keys", "must be an object");
  VEIL_RETURN_IF_ERROR(OnlyKeys(*keys, "keys.", {"tier", "kms"}));
  VEIL_ASSIGN_OR_RETURN(std::string tier, String(*keys, "tier", true, "keys."));
  if (tier == "local") {
    c.key_tier = KeyTier::kLocal;
  } else if (tier == "kms") {
    c.key_tier = KeyTier::kKms;
  } else if (tier == "kms-recipient") {
    c.key_tier = KeyTier::kKmsRecipient;
  } else {
    return Bad("keys.tier", "must be \"local\", \"kms\" or \"kms-recipient\"");
  }
  if (c.key_tier != KeyTier::kLocal) {
    auto kms = keys->find("kms");
    if (kms == keys->end() || !kms->is_object()) return Bad("keys.kms", "must be an object");
    VEIL_RETURN_IF_ERROR(
        OnlyKeys(*kms, "keys.kms.", {"endpoint", "region", "ca_file", "connect_host", "proxy"}));
    VEIL_ASSIGN_OR_RETURN(c.kms.endpoint, String(*kms, "endpoint", true, "keys.kms."));
    VEIL_ASSIGN_OR_RETURN(c.kms.region, String(*kms, "region", true, "keys.kms."));
    VEIL_ASSIGN_OR_RETURN(c.kms.ca_file, String(*kms, "ca_file", false, "keys.kms."));
    VEIL_ASSIGN_OR_RETURN(c.kms.connect_host, String(*kms, "connect_host", false, "keys.kms."));
    VEIL_ASSIGN_OR_RETURN(c.kms.proxy, String(*kms, "proxy", false, "keys.kms."));
  } else if (keys->contains("kms")) {
    return Bad("keys.kms", "is only for the kms tiers");
  }

  auto tenants = doc.find("tenants");
  if (tenants == doc.end() || !tenants->is_object() || tenants->empty()) {
    return Bad("tenants", "must be a non-empty object");
  }
  for (const auto& [id, t] : tenants->items()) {
    const std::string where = absl::StrCat("tenants.", id, ".");
    if (!ValidTenantId(id)) return Bad(absl::StrCat("tenants.", id), "is not a valid tenant id");
    if (!t.is_object()) return Bad(absl::StrCat("tenants.", id), "must be an object");
    VEIL_RETURN_IF_ERROR(
        OnlyKeys(t, where, {"kms_key", "local_key_file", "key_namespace", "key_name"}));
    TenantSettings s;
    const bool local = c.key_tier == KeyTier::kLocal;
    VEIL_ASSIGN_OR_RETURN(s.kms_key, String(t, "kms_key", !local, where));
    VEIL_ASSIGN_OR_RETURN(s.local_key_file, String(t, "local_key_file", local, where));
    VEIL_ASSIGN_OR_RETURN(std::string ns, String(t, "key_namespace", false, where));
    VEIL_ASSIGN_OR_RETURN(s.key_name, String(t, "key_name", false, where));
    if (!ns.empty()) s.key_namespace = ns;
    if (s.key_name.empty()) s.key_name = id;
    if (local && !s.kms_key.empty()) return Bad(where + "kms_key", "is only for the kms tiers");
    if (!local && !s.local_key_file.empty()) {
      return Bad(where + "local_key_file", "is only for the local tier");
    }
    c.tenants.emplace(id, std::move(s));
  }

  auto replay = doc.find("replay");
  if (replay != doc.end()) {
    if (!replay->is_object()) return Bad("replay", "must be an object");
    VEIL_RETURN_IF_ERROR(OnlyKeys(*replay, "replay.", {"max_ttl_seconds", "capacity_per_tenant"}));
    VEIL_ASSIGN_OR_RETURN(int64_t ttl, Int(*replay, "max_ttl_seconds", 900, 1, 86400, "replay."));
    VEIL_ASSIGN_OR_RETURN(int64_t cap,
                          Int(*replay, "capacity_per_tenant", 10000, 1, 10000000, "replay."));
    c.max_ttl = absl::Seconds(ttl);
    c.replay_capacity_per_tenant = static_cast<size_t>(cap);
  }

  if (c.production) {
    if (c.nsm != NsmSource::kDevice) {
      return absl::FailedPreconditionError(
          "enclave config: the production profile refuses a simulated or mock NSM");
    }
    if (c.key_tier != KeyTier::kKmsRecipient) {
      return absl::FailedPreconditionError(
          "enclave config: the production profile needs keys.tier \"kms-recipient\"");
    }
    if (!absl::StartsWith(c.kms.endpoint, "https://")) {
      return absl::FailedPreconditionError(
          "enclave config: the production profile needs an https KMS endpoint");
    }
  }
  return c;
}

absl::StatusOr<EnclaveConfig> LoadEnclaveConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("enclave config not found: ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    return absl::InvalidArgumentError("enclave config is larger than 1 MiB");
  }
  return ParseEnclaveConfig(text.str());
}

std::string TierDescription(const EnclaveConfig& c) {
  return absl::StrCat("keys=", std::string(KeyTierName(c.key_tier)),
                      " nsm=", std::string(NsmSourceName(c.nsm)),
                      " profile=", c.production ? "production" : "development");
}

}  // namespace veil::enclave
