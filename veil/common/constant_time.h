// Constant-time comparison without a crypto library, for code that must not
// link one (veil-host compares API-key hashes). veil::crypto has its own,
// backed by CRYPTO_memcmp.
#ifndef VEIL_COMMON_CONSTANT_TIME_H_
#define VEIL_COMMON_CONSTANT_TIME_H_

#include <cstdint>

#include "absl/types/span.h"

namespace veil {

// ConstantTimeEquals returns whether `a` and `b` are equal, in time that
// depends only on their lengths (never on where they first differ).
bool ConstantTimeEquals(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b);

}  // namespace veil

#endif  // VEIL_COMMON_CONSTANT_TIME_H_
