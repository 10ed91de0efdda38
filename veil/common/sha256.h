// SHA-256 (FIPS 180-4), self-contained: no OpenSSL. It exists for code that
// must not link a crypto library (veil-host stores API keys as SHA-256
// hashes, STYLE.md C1); everything else uses veil::crypto.
#ifndef VEIL_COMMON_SHA256_H_
#define VEIL_COMMON_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace veil {

inline constexpr size_t kSha256DigestSize = 32;
using Sha256Digest = std::array<uint8_t, kSha256DigestSize>;

// Sha256 computes a digest over data fed in pieces. Not thread-safe; copyable.
// The input is not secret-wiped: callers hashing secrets wipe their own
// buffers (the state here holds at most one 64-byte block of the input).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = default;
  Sha256& operator=(const Sha256&) = default;

  // Update appends `data` to the message.
  void Update(absl::Span<const uint8_t> data);
  // Finish returns the digest of everything passed to Update and resets the
  // object to the empty message.
  Sha256Digest Finish();

 private:
  void Compress(const uint8_t block[64]);

  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> block_;
  size_t block_len_ = 0;
  uint64_t total_len_ = 0;  // in bytes
};

// Sha256Hash returns SHA-256(data).
Sha256Digest Sha256Hash(absl::Span<const uint8_t> data);

}  // namespace veil

#endif  // VEIL_COMMON_SHA256_H_
