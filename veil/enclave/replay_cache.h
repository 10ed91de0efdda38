// ReplayCache: which (tenant, request id) pairs the enclave has served, kept
// until the request's own expiry, so a captured request cannot be replayed
// while it is still valid (and after that, the expiry check refuses it).
#ifndef VEIL_ENCLAVE_REPLAY_CACHE_H_
#define VEIL_ENCLAVE_REPLAY_CACHE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace veil::enclave {

class ReplayCache {
 public:
  // `capacity_per_tenant` bounds the live entries of each tenant; `clock`
  // (absl::Now when empty) decides which have expired.
  ReplayCache(size_t capacity_per_tenant, std::function<absl::Time()> clock = {});

  // Reserve claims (tenant, request_id) until `expires`. Fails with
  // AlreadyExists when the pair was served or is in flight, and with
  // ResourceExhausted when the tenant already has capacity_per_tenant
  // unexpired entries (expired ones are dropped first). A reservation ends
  // with exactly one Commit or Release.
  absl::Status Reserve(const std::string& tenant, const std::string& request_id,
                       absl::Time expires);
  // Commit keeps the pair until its expiry: the request was authentic and
  // is now spent.
  void Commit(const std::string& tenant, const std::string& request_id);
  // Release forgets a reservation whose request never authenticated, so a
  // forged copy cannot burn a genuine request id.
  void Release(const std::string& tenant, const std::string& request_id);

  size_t size(const std::string& tenant) const;

 private:
  struct Entry {
    absl::Time expires;
    bool committed = false;
  };
  struct Tenant {
    std::unordered_map<std::string, Entry> entries;
    std::multimap<absl::Time, std::string> by_expiry;  // committed and reserved
  };
  void DropExpired(Tenant& t, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t capacity_;
  const std::function<absl::Time()> clock_;
  mutable absl::Mutex mu_;
  std::unordered_map<std::string, Tenant> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_REPLAY_CACHE_H_
