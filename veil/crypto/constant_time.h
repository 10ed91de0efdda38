// Constant-time comparison for secrets (commit keys, MACs).
#ifndef VEIL_CRYPTO_CONSTANT_TIME_H_
#define VEIL_CRYPTO_CONSTANT_TIME_H_

#include <cstdint>

#include "absl/types/span.h"

namespace veil::crypto {

// ConstantTimeEquals returns whether `a` and `b` are equal, in time that
// depends only on their lengths (CRYPTO_memcmp).
bool ConstantTimeEquals(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b);

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_CONSTANT_TIME_H_
