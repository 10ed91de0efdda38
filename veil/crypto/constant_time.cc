#include "veil/crypto/constant_time.h"

#include <openssl/crypto.h>

namespace veil::crypto {

bool ConstantTimeEquals(absl::Span<const uint8_t> a, absl::Span<const uint8_t> b) {
  // Lengths are public (the contract says the time may depend on them).
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace veil::crypto
