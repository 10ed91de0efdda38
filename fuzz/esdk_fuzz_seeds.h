// Seed inputs for the ESDK decrypt fuzzer: valid messages under the fuzzer's
// fixed keyring, so fuzzing starts past the header tag and key commitment
// instead of at the first parse error.
#ifndef VEIL_FUZZ_ESDK_FUZZ_SEEDS_H_
#define VEIL_FUZZ_ESDK_FUZZ_SEEDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace veil::fuzz {

struct Seed {
  std::string name;                // a file name, e.g. "0478-framed-f64-p200"
  std::vector<uint8_t> input;      // selector byte ‖ message (esdk_decrypt_fuzzer.h)
  std::vector<uint8_t> plaintext;  // what the message decrypts to
};

// MakeSeeds returns messages of all eleven suites: framed (empty, one byte,
// exactly one frame, several frames, 4096-byte frames), non-framed (built
// here, since the encryptor only writes framed messages), with an empty
// encryption context, and with an encrypted data key the fuzz keyring cannot
// unwrap ahead of one it can. Every seed is checked to decrypt to its
// plaintext before it is returned; a seed that does not is an Internal error.
// Message IDs, IVs and signatures are random, so the bytes differ per call.
absl::StatusOr<std::vector<Seed>> MakeSeeds();

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_ESDK_FUZZ_SEEDS_H_
