#include "veil/esdk/caching_cmm.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_writer.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"
#include "veil/crypto/random.h"

namespace veil::esdk {
namespace {

constexpr char kEncryptKind = 'E';
constexpr char kDecryptKind = 'D';

class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

std::string CacheKey(char kind, absl::Span<const uint8_t> id) {
  std::string key;
  key.reserve(id.size() + 1);
  key.push_back(kind);
  key.append(id.begin(), id.end());
  return key;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

// Cache IDs. Every field is written as u64 length || bytes, so the encoding
// is injective however long a field is; the leading domain string and the
// operation name keep encryption and decryption IDs (and any later version
// of this layout) apart:
//
//   SHA-384( LP("veil-esdk-caching-cmm-v1") || LP("encrypt") || LP(partition)
//            || LP(policy) || LP(requested suite as u16, or "none") || LP(EC) )
//   SHA-384( LP("veil-esdk-caching-cmm-v1") || LP("decrypt") || LP(partition)
//            || LP(policy) || LP(suite as u16) || u64 EDK count
//            || LP(EDK) for each EDK in ascending byte order
//            || LP(stored EC) || LP(reproduced EC) )
//
// where EC is the canonical ESDK serialization (brief section 3) and
// EDK = LP(provider ID) || LP(provider info) || LP(ciphertext). Sorting makes
// the ID independent of EDK order, which is not significant (brief section
// 14, item 10). The policy is included because it decides which suites the
// underlying CMM accepts.
//
// The spec's Appendix A formulas (SHA-512 over nested hashes) only matter for
// caches shared with other implementations; Veil's caches are process-local,
// so it uses this length-prefixed, domain-separated layout (brief section 13).
void WriteField(ByteWriter& w, absl::Span<const uint8_t> bytes) {
  w.WriteU64(bytes.size());
  w.WriteBytes(bytes);
}

void WriteField(ByteWriter& w, std::string_view s) {
  w.WriteU64(s.size());
  w.WriteString(s);
}

std::string_view PolicyName(CommitmentPolicy policy) {
  switch (policy) {
    case CommitmentPolicy::kForbidEncryptAllowDecrypt:
      return "forbid-encrypt-allow-decrypt";
    case CommitmentPolicy::kRequireEncryptAllowDecrypt:
      return "require-encrypt-allow-decrypt";
    case CommitmentPolicy::kRequireEncryptRequireDecrypt:
      return "require-encrypt-require-decrypt";
  }
  return "unknown";
}

void WriteSuite(ByteWriter& w, uint16_t suite_id) {
  const uint8_t be[2] = {static_cast<uint8_t>(suite_id >> 8), static_cast<uint8_t>(suite_id)};
  WriteField(w, absl::MakeConstSpan(be));
}

ByteWriter IdPrefix(std::string_view operation, const std::string& partition_id,
                    CommitmentPolicy policy) {
  ByteWriter w;
  WriteField(w, std::string_view("veil-esdk-caching-cmm-v1"));
  WriteField(w, operation);
  WriteField(w, std::string_view(partition_id));
  WriteField(w, PolicyName(policy));
  return w;
}

absl::StatusOr<std::vector<uint8_t>> EncryptionCacheId(const std::string& partition_id,
                                                       const EncryptionMaterialsRequest& request) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> ec,
                        SerializeEncryptionContext(request.encryption_context));
  ByteWriter w = IdPrefix("encrypt", partition_id, request.commitment_policy);
  if (request.suite_id) {
    WriteSuite(w, *request.suite_id);
  } else {
    WriteField(w, std::string_view("none"));
  }
  WriteField(w, ec);
  return crypto::Digest(crypto::HashAlgorithm::kSha384, w.bytes());
}

absl::StatusOr<std::vector<uint8_t>> DecryptionCacheId(const std::string& partition_id,
                                                       const DecryptionMaterialsRequest& request) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> stored_ec,
                        SerializeEncryptionContext(request.encryption_context));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> reproduced_ec,
                        SerializeEncryptionContext(request.reproduced_encryption_context));
  std::vector<std::vector<uint8_t>> edks;
  edks.reserve(request.encrypted_data_keys.size());
  for (const EncryptedDataKey& edk : request.encrypted_data_keys) {
    ByteWriter e;
    WriteField(e, std::string_view(edk.provider_id));
    WriteField(e, absl::MakeConstSpan(edk.provider_info));
    WriteField(e, absl::MakeConstSpan(edk.ciphertext));
    edks.push_back(e.Release());
  }
  std::sort(edks.begin(), edks.end());

  ByteWriter w = IdPrefix("decrypt", partition_id, request.commitment_policy);
  WriteSuite(w, request.suite_id);
  w.WriteU64(edks.size());
  for (const auto& edk : edks) WriteField(w, edk);
  WriteField(w, stored_ec);
  WriteField(w, reproduced_ec);
  return crypto::Digest(crypto::HashAlgorithm::kSha384, w.bytes());
}

// Cacheable reports whether materials of `suite` may be cached at all.
bool Cacheable(const AlgorithmSuite* suite) {
  return suite != nullptr && suite->kdf_hash.has_value();
}

absl::StatusOr<std::string> RandomPartitionId() {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> b, crypto::RandomBytes(16));
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  const std::string hex = HexEncode(b);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

}  // namespace

std::shared_ptr<const Clock> RealClock() {
  static const std::shared_ptr<const Clock>* const clock =
      new std::shared_ptr<const Clock>(std::make_shared<SystemClock>());
  return *clock;
}

// ---------------------------------------------------------------------------
// MaterialsCache

absl::StatusOr<std::shared_ptr<MaterialsCache>> MaterialsCache::Create(size_t capacity) {
  if (capacity == 0) {
    return absl::InvalidArgumentError("materials cache capacity must be at least 1, got 0");
  }
  return std::shared_ptr<MaterialsCache>(new MaterialsCache(capacity));
}

std::optional<MaterialsCache::EncryptionEntry> MaterialsCache::GetEncryptionEntry(
    absl::Span<const uint8_t> id, uint64_t plaintext_bytes) {
  const std::string key = CacheKey(kEncryptKind, id);
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  Node& node = *it->second;
  node.messages_used = SaturatingAdd(node.messages_used, 1);
  node.bytes_used = SaturatingAdd(node.bytes_used, plaintext_bytes);
  EncryptionEntry entry;
  entry.materials = std::get<EncryptionMaterials>(node.materials).Clone();
  entry.created = node.created;
  entry.messages_used = node.messages_used;
  entry.bytes_used = node.bytes_used;
  entry.generation = node.generation;
  return entry;
}

uint64_t MaterialsCache::PutEncryptionEntry(absl::Span<const uint8_t> id,
                                            const EncryptionMaterials& materials,
                                            absl::Time created, uint64_t messages_used,
                                            uint64_t bytes_used) {
  return Put(CacheKey(kEncryptKind, id), materials.Clone(), created, messages_used, bytes_used);
}

std::optional<MaterialsCache::DecryptionEntry> MaterialsCache::GetDecryptionEntry(
    absl::Span<const uint8_t> id) {
  const std::string key = CacheKey(kDecryptKind, id);
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  const Node& node = *it->second;
  DecryptionEntry entry;
  entry.materials = std::get<DecryptionMaterials>(node.materials).Clone();
  entry.created = node.created;
  entry.generation = node.generation;
  return entry;
}

uint64_t MaterialsCache::PutDecryptionEntry(absl::Span<const uint8_t> id,
                                            const DecryptionMaterials& materials,
                                            absl::Time created) {
  return Put(CacheKey(kDecryptKind, id), materials.Clone(), created, 0, 0);
}

void MaterialsCache::RemoveEncryptionEntry(absl::Span<const uint8_t> id, uint64_t generation) {
  Remove(CacheKey(kEncryptKind, id), generation);
}

void MaterialsCache::RemoveDecryptionEntry(absl::Span<const uint8_t> id, uint64_t generation) {
  Remove(CacheKey(kDecryptKind, id), generation);
}

size_t MaterialsCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

uint64_t MaterialsCache::Put(std::string key,
                             std::variant<EncryptionMaterials, DecryptionMaterials> materials,
                             absl::Time created, uint64_t messages_used, uint64_t bytes_used) {
  // Entries destroyed here (replaced or evicted) wipe their keys; they are
  // collected so that the wiping happens after the lock is released.
  NodeList dropped;
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    generation = next_generation_++;
    auto it = index_.find(key);
    if (it != index_.end()) {
      dropped.splice(dropped.end(), lru_, it->second);
      index_.erase(it);
    }
    lru_.push_front(Node{key, std::move(materials), created, messages_used, bytes_used,
                         generation});
    index_.emplace(std::move(key), lru_.begin());
    while (lru_.size() > capacity_) {
      auto last = std::prev(lru_.end());
      index_.erase(last->key);
      dropped.splice(dropped.end(), lru_, last);
    }
  }
  return generation;
}

void MaterialsCache::Remove(const std::string& key, uint64_t generation) {
  NodeList dropped;
  absl::MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end() || it->second->generation != generation) return;
  dropped.splice(dropped.end(), lru_, it->second);
  index_.erase(it);
}

// ---------------------------------------------------------------------------
// CachingCmm

absl::StatusOr<std::unique_ptr<CachingCmm>> CachingCmm::Create(
    std::shared_ptr<CryptoMaterialsManager> underlying, std::shared_ptr<MaterialsCache> cache,
    CachingCmmOptions options) {
  if (underlying == nullptr) return absl::InvalidArgumentError("caching CMM: no underlying CMM");
  if (cache == nullptr) return absl::InvalidArgumentError("caching CMM: no materials cache");
  //= framework/caching-cmm.md#cache-limit-ttl
  //# The Caching CMM MUST set a time-to-live (TTL) for data keys in the CMC.
  //# This value must be greater than zero.
  if (options.max_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("caching CMM: max_age must be greater than 0, got ",
                     absl::FormatDuration(options.max_age)));
  }
  if (options.max_messages == 0 || options.max_messages > kCachingCmmMaxMessagesLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("caching CMM: max_messages must be between 1 and 2^32, got ",
                     options.max_messages));
  }
  if (options.max_bytes > kCachingCmmMaxBytesLimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "caching CMM: max_bytes must be at most 2^63 - 1, got ", options.max_bytes));
  }
  std::string partition_id;
  if (options.partition_id) {
    partition_id = *options.partition_id;
  } else {
    VEIL_ASSIGN_OR_RETURN(partition_id, RandomPartitionId());
  }
  if (options.clock == nullptr) options.clock = RealClock();
  return std::unique_ptr<CachingCmm>(new CachingCmm(std::move(underlying), std::move(cache),
                                                    std::move(options), std::move(partition_id)));
}

absl::StatusOr<EncryptionMaterials> CachingCmm::GetEncryptionMaterials(
    const EncryptionMaterialsRequest& request) {
  //= framework/caching-cmm.md#get-encryption-materials
  //# If the algorithm suite requested contains a Identity KDF or if the
  //# request does not include a Max Plaintext Length value, the caching CMM
  //# MUST obtain the encryption materials by making a call to the underlying
  //# CMM's Get Encryption Materials function.
  if (!request.max_plaintext_length) return underlying_->GetEncryptionMaterials(request);
  if (request.suite_id && !Cacheable(FindSuite(*request.suite_id))) {
    return underlying_->GetEncryptionMaterials(request);
  }
  const uint64_t bytes = *request.max_plaintext_length;
  // A plaintext that alone reaches the byte limit leaves no room for another
  // message under the same key: it gets materials of its own, which are not
  // stored, and it neither uses nor evicts a cached entry (the Python SDK
  // bypasses the cache on the same >= test).
  if (bytes >= max_bytes_) return underlying_->GetEncryptionMaterials(request);
  // An encryption context that does not serialize cannot be written in a
  // header either; the underlying CMM reports the error.
  absl::StatusOr<std::vector<uint8_t>> id = EncryptionCacheId(partition_id_, request);
  if (!id.ok()) return underlying_->GetEncryptionMaterials(request);

  const absl::Time now = clock_->Now();
  if (auto entry = cache_->GetEncryptionEntry(*id, bytes)) {
    // The counts already include this request.
    if (now - entry->created <= max_age_ && entry->messages_used <= max_messages_ &&
        entry->bytes_used <= max_bytes_) {
      return std::move(entry->materials);
    }
    cache_->RemoveEncryptionEntry(*id, entry->generation);
  }

  // The materials may protect several plaintexts, up to the byte limit.
  //= framework/caching-cmm.md#get-encryption-materials
  //# If the caching CMM makes a call to the underlying CMM's Get Encryption
  //# Materials operation, then the request MUST include a Max Plaintext
  //# Length with a value equal to its Limit Bytes value.
  EncryptionMaterialsRequest inner = request;
  inner.max_plaintext_length = max_bytes_;
  VEIL_ASSIGN_OR_RETURN(EncryptionMaterials materials, underlying_->GetEncryptionMaterials(inner));
  // Store only complete materials of a cacheable suite; anything else goes
  // back to the caller once, whose checks will reject it.
  const bool complete = Cacheable(materials.suite) &&
                        (!request.suite_id || materials.suite->id == *request.suite_id) &&
                        materials.plaintext_data_key.has_value() &&
                        !materials.encrypted_data_keys.empty();
  if (complete) {
    //= framework/caching-cmm.md#get-encryption-materials
    //# If the algorithm suite requested does not contain an Identity KDF and
    //# if the request includes a Max Plaintext Length value, the caching CMM
    //# MUST add the encryption materials obtained from the underlying CMM into
    //# the underlying CMC.
    cache_->PutEncryptionEntry(*id, materials, now, /*messages_used=*/1, /*bytes_used=*/bytes);
  }
  return materials;
}

absl::StatusOr<DecryptionMaterials> CachingCmm::DecryptMaterials(
    const DecryptionMaterialsRequest& request) {
  const AlgorithmSuite* suite = FindSuite(request.suite_id);
  //= framework/caching-cmm.md#decrypt-materials
  //# If the algorithm suite requested contains a Identity KDF, the caching
  //# CMM MUST obtain the decryption materials by making a call to the
  //# underlying CMM's Decrypt Materials function.
  if (!Cacheable(suite)) return underlying_->DecryptMaterials(request);
  absl::StatusOr<std::vector<uint8_t>> id = DecryptionCacheId(partition_id_, request);
  if (!id.ok()) return underlying_->DecryptMaterials(request);

  const absl::Time now = clock_->Now();
  if (auto entry = cache_->GetDecryptionEntry(*id)) {
    if (now - entry->created <= max_age_) return std::move(entry->materials);
    cache_->RemoveDecryptionEntry(*id, entry->generation);
  }

  VEIL_ASSIGN_OR_RETURN(DecryptionMaterials materials, underlying_->DecryptMaterials(request));
  if (materials.suite == suite && materials.plaintext_data_key.has_value()) {
    cache_->PutDecryptionEntry(*id, materials, now);
  }
  return materials;
}

}  // namespace veil::esdk
