// TenantRegistry: who may call POST /v1/infer, and how many requests each
// tenant may have in progress at once.
#ifndef VEIL_HOST_TENANTS_H_
#define VEIL_HOST_TENANTS_H_

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "veil/common/sha256.h"
#include "veil/host/config.h"

namespace veil::host {

// Tenant is one configured tenant. Its API key is known only as a SHA-256
// hash.
struct Tenant {
  std::string id;
  Sha256Digest api_key_sha256{};
  std::string kms_key;
  int max_concurrency = 1;
  std::atomic<int> in_use{0};
};

class TenantRegistry {
 public:
  // Create validates `tenants` (as ParseTenants does) and applies
  // `default_concurrency` where a tenant sets none.
  static absl::StatusOr<std::unique_ptr<TenantRegistry>> Create(
      const std::vector<TenantConfig>& tenants, int default_concurrency);

  // Authenticate returns the tenant whose API key is `api_key`, or nullptr.
  // The key is hashed and compared with every tenant's hash in constant
  // time, so the time taken does not depend on which tenant matched, on
  // whether one did, or on where the hashes differ.
  Tenant* Authenticate(std::string_view api_key) const;

  // Slot holds one of a tenant's concurrency slots until destroyed.
  class Slot {
   public:
    explicit Slot(Tenant* tenant) : tenant_(tenant) {}
    Slot(Slot&& other) noexcept : tenant_(other.tenant_) { other.tenant_ = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (tenant_ != nullptr) tenant_->in_use.fetch_sub(1);
    }

   private:
    Tenant* tenant_;
  };
  // TryAcquire takes a slot of `tenant`; false when all are in use.
  static bool TryAcquire(Tenant& tenant);

  size_t size() const { return tenants_.size(); }

 private:
  TenantRegistry() = default;
  std::vector<std::unique_ptr<Tenant>> tenants_;
};

}  // namespace veil::host

#endif  // VEIL_HOST_TENANTS_H_
