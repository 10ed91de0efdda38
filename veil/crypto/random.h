// Cryptographically secure random bytes from OpenSSL's DRBG.
#ifndef VEIL_CRYPTO_RANDOM_H_
#define VEIL_CRYPTO_RANDOM_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::crypto {

// RandomFill fills `out` with random bytes; fails (Internal) only if the DRBG
// cannot be seeded.
absl::Status RandomFill(absl::Span<uint8_t> out);
// RandomBytes returns `n` random, non-secret bytes (IVs, message IDs).
absl::StatusOr<std::vector<uint8_t>> RandomBytes(size_t n);
// AddEntropy mixes `seed` into OpenSSL's DRBG as full-entropy input. An
// enclave calls it at start with bytes from the NSM (GetRandom), whose
// generator the hypervisor cannot observe.
void AddEntropy(absl::Span<const uint8_t> seed);
// RandomSecret returns `n` random bytes in wiping memory (keys).
absl::StatusOr<SecretBytes> RandomSecret(size_t n);

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_RANDOM_H_
