// Hash algorithms and one-shot digests.
#ifndef VEIL_CRYPTO_HASH_H_
#define VEIL_CRYPTO_HASH_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::crypto {

enum class HashAlgorithm { kSha1, kSha256, kSha384, kSha512 };

// HashSize returns the digest length in bytes.
size_t HashSize(HashAlgorithm hash);

// Digest returns Hash(data).
std::vector<uint8_t> Digest(HashAlgorithm hash, absl::Span<const uint8_t> data);

// IncrementalHash computes a digest over data fed in pieces. Not thread-safe.
class IncrementalHash {
 public:
  static std::unique_ptr<IncrementalHash> New(HashAlgorithm hash);
  ~IncrementalHash();
  void Update(absl::Span<const uint8_t> data);
  // Finish returns the digest; the object must not be used afterwards.
  std::vector<uint8_t> Finish();

 private:
  struct State;
  explicit IncrementalHash(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_HASH_H_
