// Seed inputs for the attestation fuzzer: the real Nitro documents (when
// ../shared is present), their payloads and tagged forms, and small CBOR
// shapes, so fuzzing starts past the first parse error and reaches the
// signature, chain and policy checks.
#ifndef VEIL_FUZZ_ATTESTATION_FUZZ_SEEDS_H_
#define VEIL_FUZZ_ATTESTATION_FUZZ_SEEDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace veil::fuzz {

struct AttestationSeed {
  std::string name;            // a file name, e.g. "doc1-eu-central-1-2025-01-06.cbor"
  std::vector<uint8_t> input;  // the fuzz input (attestation_fuzzer.h)
};

// MakeAttestationSeeds returns the seeds. With `shared_dir` (the directory
// holding testdata/nitro) it includes the four real documents, each payload
// on its own and doc1 with COSE tag 18; NotFound if a document is missing.
// Without it, only the synthetic CBOR and COSE shapes.
absl::StatusOr<std::vector<AttestationSeed>> MakeAttestationSeeds(
    const std::optional<std::string>& shared_dir);

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_ATTESTATION_FUZZ_SEEDS_H_
