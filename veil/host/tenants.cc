#include "veil/host/tenants.h"

#include <set>

#include "absl/status/status.h"
#include "veil/common/byte_reader.h"
#include "veil/common/constant_time.h"
#include "veil/common/secret_bytes.h"

namespace veil::host {

absl::StatusOr<std::unique_ptr<TenantRegistry>> TenantRegistry::Create(
    const std::vector<TenantConfig>& tenants, int default_concurrency) {
  if (default_concurrency < 1) {
    return absl::InvalidArgumentError("tenants: the default concurrency must be at least 1");
  }
  std::unique_ptr<TenantRegistry> registry(new TenantRegistry());
  std::set<std::string> ids;
  std::set<Sha256Digest> hashes;
  for (const TenantConfig& t : tenants) {
    if (t.id.empty() || !ids.insert(t.id).second || !hashes.insert(t.api_key_sha256).second) {
      return absl::InvalidArgumentError("tenants: empty or repeated tenant id or key hash");
    }
    auto tenant = std::make_unique<Tenant>();
    tenant->id = t.id;
    tenant->api_key_sha256 = t.api_key_sha256;
    tenant->kms_key = t.kms_key;
    tenant->max_concurrency = t.max_concurrency > 0 ? t.max_concurrency : default_concurrency;
    registry->tenants_.push_back(std::move(tenant));
  }
  return registry;
}

Tenant* TenantRegistry::Authenticate(std::string_view api_key) const {
  Sha256Digest presented = Sha256Hash(AsBytes(api_key));
  Tenant* match = nullptr;
  // Every hash is compared, with no early exit: a branch-free select keeps
  // the loop's time independent of which entry matched.
  for (const auto& tenant : tenants_) {
    const bool equal = ConstantTimeEquals(presented, tenant->api_key_sha256);
    const uintptr_t mask = static_cast<uintptr_t>(0) - static_cast<uintptr_t>(equal);
    match = reinterpret_cast<Tenant*>((reinterpret_cast<uintptr_t>(tenant.get()) & mask) |
                                      (reinterpret_cast<uintptr_t>(match) & ~mask));
  }
  SecureWipe(presented.data(), presented.size());
  return api_key.empty() ? nullptr : match;
}

bool TenantRegistry::TryAcquire(Tenant& tenant) {
  int now = tenant.in_use.load();
  while (now < tenant.max_concurrency) {
    if (tenant.in_use.compare_exchange_weak(now, now + 1)) return true;
  }
  return false;
}

}  // namespace veil::host
