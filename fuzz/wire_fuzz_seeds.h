// Seed inputs for the wire fuzzer: one encoded message of every request and
// response type, the same framed, and a stream of several frames, so fuzzing
// starts past the first parse error.
#ifndef VEIL_FUZZ_WIRE_FUZZ_SEEDS_H_
#define VEIL_FUZZ_WIRE_FUZZ_SEEDS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace veil::fuzz {

struct WireSeed {
  std::string name;            // a file name, e.g. "infer-request.cbor"
  std::vector<uint8_t> input;  // the fuzz input (wire_fuzzer.h)
};

// MakeWireSeeds returns the seeds (deterministic; no files are read).
std::vector<WireSeed> MakeWireSeeds();

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_WIRE_FUZZ_SEEDS_H_
