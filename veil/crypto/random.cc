#include "veil/crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "veil/common/status_macros.h"
#include "veil/crypto/internal/ssl_util.h"

namespace veil::crypto {

absl::Status RandomFill(absl::Span<uint8_t> out) {
  // RAND_bytes takes an int length; larger requests are served in pieces.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  while (!out.empty()) {
    const size_t n = std::min(out.size(), kMaxChunk);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
      return internal::SslError(absl::StatusCode::kInternal, "RAND_bytes failed");
    }
    out.remove_prefix(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> RandomBytes(size_t n) {
  std::vector<uint8_t> out(n);
  VEIL_RETURN_IF_ERROR(RandomFill(absl::MakeSpan(out)));
  return out;
}

absl::StatusOr<SecretBytes> RandomSecret(size_t n) {
  SecretBytes out(n);
  VEIL_RETURN_IF_ERROR(RandomFill(out.MutableExpose()));
  return out;
}

}  // namespace veil::crypto

namespace veil::crypto {

void AddEntropy(absl::Span<const uint8_t> seed) {
  if (seed.empty()) return;
  // Counted as full entropy: the caller vouches for the source (the NSM's
  // hardware generator inside a Nitro enclave).
  RAND_add(seed.data(), static_cast<int>(std::min(seed.size(), size_t{INT_MAX})),
           static_cast<double>(std::min(seed.size(), size_t{INT_MAX})));
}

}  // namespace veil::crypto
