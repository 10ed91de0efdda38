// HKDF (RFC 5869) over SHA-256, SHA-384 and SHA-512.
#ifndef VEIL_CRYPTO_HKDF_H_
#define VEIL_CRYPTO_HKDF_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/hash.h"

namespace veil::crypto {

// Hkdf runs extract-then-expand and returns `out_len` bytes. An empty `salt`
// means "no salt" (HashLen zero bytes, RFC 5869 section 2.2). `out_len` above
// 255 * HashLen is InvalidArgument.
absl::StatusOr<SecretBytes> Hkdf(HashAlgorithm hash, absl::Span<const uint8_t> ikm,
                                 absl::Span<const uint8_t> salt, absl::Span<const uint8_t> info,
                                 size_t out_len);

// HkdfExtract returns the pseudo-random key PRK = HMAC-Hash(salt, ikm).
absl::StatusOr<SecretBytes> HkdfExtract(HashAlgorithm hash, absl::Span<const uint8_t> salt,
                                        absl::Span<const uint8_t> ikm);

// HkdfExpand expands `prk` with `info` to `out_len` bytes.
absl::StatusOr<SecretBytes> HkdfExpand(HashAlgorithm hash, absl::Span<const uint8_t> prk,
                                       absl::Span<const uint8_t> info, size_t out_len);

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_HKDF_H_
