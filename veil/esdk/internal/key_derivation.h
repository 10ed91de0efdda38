// Per-message key derivation and key commitment.
// Spec: framework/algorithm-suites.md#key-derivation (brief section 4).
#ifndef VEIL_ESDK_INTERNAL_KEY_DERIVATION_H_
#define VEIL_ESDK_INTERNAL_KEY_DERIVATION_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/esdk/algorithm_suite.h"

namespace veil::esdk::internal {

struct DerivedKeys {
  SecretBytes data_key;            // the AES key for the header tag and body
  std::vector<uint8_t> commit_key;  // committing suites only (32 bytes)
};

// DeriveKeys derives the message's data key (and commit key) from the
// plaintext data key `pdk` and the message ID.
absl::StatusOr<DerivedKeys> DeriveKeys(const AlgorithmSuite& suite, absl::Span<const uint8_t> pdk,
                                       absl::Span<const uint8_t> message_id);

}  // namespace veil::esdk::internal

#endif  // VEIL_ESDK_INTERNAL_KEY_DERIVATION_H_
