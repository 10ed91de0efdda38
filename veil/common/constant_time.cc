#include "veil/common/constant_time.h"

namespace veil {

bool ConstantTimeEquals(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  // Lengths are public (the contract says the time may depend on them).
  if (a.size() != b.size()) return false;
  // Accumulate every difference; the volatile keeps the compiler from
  // turning the loop into an early-exit comparison.
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | static_cast<uint8_t>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace veil
