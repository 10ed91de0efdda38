// Data-key caching: a local LRU materials cache and the caching materials
// manager that reuses its entries within configured limits.
// Spec: framework/caching-cmm.md, framework/local-cryptographic-materials-cache.md
// (brief section 13).
//
// Security trade-off. Without caching every message gets a fresh data key, so
// a data key compromised (in memory, through a side channel, or by a bug)
// exposes exactly one message. With caching one data key, and for signed
// suites one signing key, protects several messages, and the plaintext data
// key stays in process memory for up to `max_age`. The limits below bound the
// exposure: no cached key encrypts more than `max_messages` messages or more
// than `max_bytes` plaintext bytes, or is used after `max_age`. Messages that
// share a key also share the signing key and therefore the
// `aws-crypto-public-key` value, so they are linkable by anyone who sees their
// headers. Use caching only where key-provider calls (e.g. KMS) are too slow
// or too expensive, and keep the limits as tight as the workload allows.
#ifndef VEIL_ESDK_CACHING_CMM_H_
#define VEIL_ESDK_CACHING_CMM_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/esdk/cmm.h"

namespace veil::esdk {

// Clock is the time seam for the caching CMM, so tests can advance time.
// Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Now returns the current time.
  virtual absl::Time Now() const = 0;
};

// RealClock returns a shared clock that reads the system time (absl::Now()).
std::shared_ptr<const Clock> RealClock();

// MaterialsCache is an in-memory, fixed-capacity LRU cache of encryption and
// decryption materials keyed by an opaque byte-string cache ID. Encryption
// and decryption entries live in separate ID spaces: the same ID names two
// unrelated entries. When a put would exceed the capacity, the least recently
// used entry is evicted. Entries keep their data and signing keys in
// SecretBytes, so the keys are wiped when an entry is evicted, replaced,
// removed or the cache is destroyed. Every getter returns an independent copy
// of the materials. Thread-safe.
class MaterialsCache {
 public:
  // EncryptionEntry is a copy of a cached encryption entry. `messages_used`
  // and `bytes_used` include the lookup that returned it.
  struct EncryptionEntry {
    EncryptionMaterials materials;
    absl::Time created;
    uint64_t messages_used = 0;
    uint64_t bytes_used = 0;
    // generation identifies this entry for Remove.
    uint64_t generation = 0;
  };
  // DecryptionEntry is a copy of a cached decryption entry.
  struct DecryptionEntry {
    DecryptionMaterials materials;
    absl::Time created;
    uint64_t generation = 0;
  };

  // Create returns an empty cache holding at most `capacity` entries
  // (encryption and decryption together); InvalidArgument if `capacity` is 0.
  static absl::StatusOr<std::shared_ptr<MaterialsCache>> Create(size_t capacity);

  MaterialsCache(const MaterialsCache&) = delete;
  MaterialsCache& operator=(const MaterialsCache&) = delete;

  // GetEncryptionEntry looks up the encryption entry `id`. On a hit it adds
  // one message and `plaintext_bytes` bytes to the entry's usage (saturating
  // at 2^64 - 1), marks it most recently used and returns a copy with the
  // updated usage. Returns nullopt on a miss.
  std::optional<EncryptionEntry> GetEncryptionEntry(absl::Span<const uint8_t> id,
                                                    uint64_t plaintext_bytes);
  // PutEncryptionEntry stores a copy of `materials` under `id` with the given
  // creation time and initial usage, replacing any encryption entry with that
  // ID, and returns the new entry's generation.
  uint64_t PutEncryptionEntry(absl::Span<const uint8_t> id, const EncryptionMaterials& materials,
                              absl::Time created, uint64_t messages_used, uint64_t bytes_used);

  // GetDecryptionEntry returns a copy of the decryption entry `id` and marks
  // it most recently used, or nullopt on a miss.
  std::optional<DecryptionEntry> GetDecryptionEntry(absl::Span<const uint8_t> id);
  // PutDecryptionEntry stores a copy of `materials` under `id`, replacing any
  // decryption entry with that ID, and returns the new entry's generation.
  uint64_t PutDecryptionEntry(absl::Span<const uint8_t> id, const DecryptionMaterials& materials,
                              absl::Time created);

  // RemoveEncryptionEntry / RemoveDecryptionEntry drop the entry `id` if it
  // is still the one `generation` names. An entry another thread has put
  // since the lookup is left alone.
  void RemoveEncryptionEntry(absl::Span<const uint8_t> id, uint64_t generation);
  void RemoveDecryptionEntry(absl::Span<const uint8_t> id, uint64_t generation);

  // size returns the number of entries; capacity the maximum.
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  struct Node {
    std::string key;  // kind byte || id
    std::variant<EncryptionMaterials, DecryptionMaterials> materials;
    absl::Time created;
    uint64_t messages_used = 0;
    uint64_t bytes_used = 0;
    uint64_t generation = 0;
  };
  using NodeList = std::list<Node>;

  explicit MaterialsCache(size_t capacity) : capacity_(capacity) {}
  uint64_t Put(std::string key, std::variant<EncryptionMaterials, DecryptionMaterials> materials,
               absl::Time created, uint64_t messages_used, uint64_t bytes_used);
  void Remove(const std::string& key, uint64_t generation);

  const size_t capacity_;
  mutable absl::Mutex mu_;
  // Most recently used first.
  NodeList lru_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, NodeList::iterator> index_ ABSL_GUARDED_BY(mu_);
  uint64_t next_generation_ ABSL_GUARDED_BY(mu_) = 1;
};

// kCachingCmmMaxMessagesLimit is the largest (and default) message limit.
inline constexpr uint64_t kCachingCmmMaxMessagesLimit = uint64_t{1} << 32;
// kCachingCmmMaxBytesLimit is the largest (and default) byte limit, 2^63 - 1.
inline constexpr uint64_t kCachingCmmMaxBytesLimit = (uint64_t{1} << 63) - 1;

// CachingCmmOptions configures a CachingCmm.
struct CachingCmmOptions {
  // max_age is how long cached materials may be used; required, > 0.
  absl::Duration max_age = absl::ZeroDuration();
  // max_messages is how many messages one cached data key may encrypt;
  // 1 to 2^32.
  uint64_t max_messages = kCachingCmmMaxMessagesLimit;
  // max_bytes is how many plaintext bytes one cached data key may encrypt;
  // at most 2^63 - 1. A message whose plaintext alone is >= max_bytes is
  // never served from or stored in the cache, so 0 disables encrypt caching.
  uint64_t max_bytes = kCachingCmmMaxBytesLimit;
  // partition_id separates caching CMMs that share one cache: they share
  // entries only if their partition IDs are equal. nullopt = a random UUID.
  std::optional<std::string> partition_id;
  // clock defaults to RealClock().
  std::shared_ptr<const Clock> clock;
};

// CachingCmm answers materials requests from a MaterialsCache and asks the
// underlying CMM only on a miss, for requests it must not cache, or when a
// cached entry has reached a limit (brief section 13):
//   - identity-KDF suites (00xx) are never cached, on encrypt or decrypt;
//   - encrypt requests without a plaintext length bypass the cache, as do
//     those whose plaintext alone is >= max_bytes;
//   - a cached encryption entry is used only if, counting the current
//     request, its age is <= max_age, it has encrypted <= max_messages
//     messages and <= max_bytes bytes; otherwise it is evicted and fresh
//     materials are fetched, stored with usage 1 message and this
//     plaintext's bytes, and used;
//   - a cached decryption entry is used while its age is <= max_age.
// Materials fetched to be cached are requested with max_plaintext_length =
// max_bytes, since they may protect that many bytes; bypassing requests are
// passed on unchanged. Returned materials are always copies. Thread-safe if
// the underlying CMM is.
class CachingCmm : public CryptoMaterialsManager {
 public:
  // Create fails (InvalidArgument, naming the offending value) if
  // `underlying` or `cache` is null, max_age <= 0, max_messages is 0 or
  // > 2^32, or max_bytes > 2^63 - 1; Internal if no random partition ID can
  // be made.
  static absl::StatusOr<std::unique_ptr<CachingCmm>> Create(
      std::shared_ptr<CryptoMaterialsManager> underlying, std::shared_ptr<MaterialsCache> cache,
      CachingCmmOptions options);

  absl::StatusOr<EncryptionMaterials> GetEncryptionMaterials(
      const EncryptionMaterialsRequest& request) override;
  absl::StatusOr<DecryptionMaterials> DecryptMaterials(
      const DecryptionMaterialsRequest& request) override;

  // partition_id returns the configured or generated partition ID.
  const std::string& partition_id() const { return partition_id_; }

 private:
  CachingCmm(std::shared_ptr<CryptoMaterialsManager> underlying,
             std::shared_ptr<MaterialsCache> cache, CachingCmmOptions options,
             std::string partition_id)
      : underlying_(std::move(underlying)),
        cache_(std::move(cache)),
        max_age_(options.max_age),
        max_messages_(options.max_messages),
        max_bytes_(options.max_bytes),
        partition_id_(std::move(partition_id)),
        clock_(std::move(options.clock)) {}

  const std::shared_ptr<CryptoMaterialsManager> underlying_;
  const std::shared_ptr<MaterialsCache> cache_;
  const absl::Duration max_age_;
  const uint64_t max_messages_;
  const uint64_t max_bytes_;
  const std::string partition_id_;
  const std::shared_ptr<const Clock> clock_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_CACHING_CMM_H_
