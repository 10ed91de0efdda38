#include "veil/enclave/replay_cache.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace veil::enclave {

ReplayCache::ReplayCache(size_t capacity_per_tenant, std::function<absl::Time()> clock)
    : capacity_(capacity_per_tenant),
      clock_(clock ? std::move(clock) : std::function<absl::Time()>([] { return absl::Now(); })) {}

void ReplayCache::DropExpired(Tenant& t, absl::Time now) {
  while (!t.by_expiry.empty() && t.by_expiry.begin()->first <= now) {
    auto it = t.entries.find(t.by_expiry.begin()->second);
    // An in-flight reservation is never dropped under its owner's feet.
    if (it != t.entries.end() && !it->second.committed) break;
    if (it != t.entries.end()) t.entries.erase(it);
    t.by_expiry.erase(t.by_expiry.begin());
  }
}

absl::Status ReplayCache::Reserve(const std::string& tenant, const std::string& request_id,
                                  absl::Time expires) {
  absl::MutexLock lock(&mu_);
  Tenant& t = tenants_[tenant];
  DropExpired(t, clock_());
  if (t.entries.count(request_id) != 0) {
    return absl::AlreadyExistsError("request id already used");
  }
  if (t.entries.size() >= capacity_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("replay cache full (", capacity_, " live request ids for this tenant)"));
  }
  t.entries.emplace(request_id, Entry{expires, false});
  t.by_expiry.emplace(expires, request_id);
  return absl::OkStatus();
}

void ReplayCache::Commit(const std::string& tenant, const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return;
  auto it = t->second.entries.find(request_id);
  if (it != t->second.entries.end()) it->second.committed = true;
}

void ReplayCache::Release(const std::string& tenant, const std::string& request_id) {
  absl::MutexLock lock(&mu_);
  auto t = tenants_.find(tenant);
  if (t == tenants_.end()) return;
  auto it = t->second.entries.find(request_id);
  if (it == t->second.entries.end() || it->second.committed) return;
  auto range = t->second.by_expiry.equal_range(it->second.expires);
  for (auto e = range.first; e != range.second; ++e) {
    if (e->second == request_id) {
      t->second.by_expiry.erase(e);
      break;
    }
  }
  t->second.entries.erase(it);
}

size_t ReplayCache::size(const std::string& tenant) const {
  absl::MutexLock lock(&mu_);
  auto t = tenants_.find(tenant);
  return t == tenants_.end() ? 0 : t->second.entries.size();
}

}  // namespace veil::enclave
