// HMAC (RFC 2104) over the SHA-2 family, one shot.
#ifndef VEIL_CRYPTO_HMAC_H_
#define VEIL_CRYPTO_HMAC_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/hash.h"

namespace veil::crypto {

// Hmac returns HMAC-`hash`(key, data), a tag that is not itself secret (for
// example a request signature). SHA-1 is refused (InvalidArgument); Internal
// only if OpenSSL fails. Thread-safe.
absl::StatusOr<std::vector<uint8_t>> Hmac(HashAlgorithm hash, absl::Span<const uint8_t> key,
                                          absl::Span<const uint8_t> data);

// HmacSecret is Hmac for outputs that are keys themselves (chained key
// derivations such as the SigV4 signing key); the result is in wiping memory.
absl::StatusOr<SecretBytes> HmacSecret(HashAlgorithm hash, absl::Span<const uint8_t> key,
                                       absl::Span<const uint8_t> data);

// HmacSha256 is Hmac(kSha256, key, data).
absl::StatusOr<std::vector<uint8_t>> HmacSha256(absl::Span<const uint8_t> key,
                                                absl::Span<const uint8_t> data);

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_HMAC_H_
