// The attestation fuzz target, shared by the libFuzzer binary (clang, `fuzz`
// preset) and its replay test (every build with tests).
//
// Input: the candidate bytes, used as they are (no selector byte).
#ifndef VEIL_FUZZ_ATTESTATION_FUZZER_H_
#define VEIL_FUZZ_ATTESTATION_FUZZER_H_

#include <cstddef>
#include <cstdint>

// LLVMFuzzerTestOneInput runs `data` through cbor::Decode, ParseCoseSign1,
// ParseAttestationDocument (on the COSE payload and on the raw bytes) and
// AttestationVerifier::Verify, twice: with a chain cache shared across inputs
// and with no cache, both pinning the AWS Nitro Enclaves Root G1 and
// verifying at kFuzzVerificationTimeMs. It aborts if a successful parse
// breaks its own invariants, if Verify accepts what the parsers refuse or
// reports other contents, or if the cached and uncached verifiers disagree
// (one succeeds and the other fails, different status codes, different
// results). Always returns 0.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace veil::fuzz {

// kFuzzVerificationTimeMs is doc1's timestamp (2025-01-06T16:07:05.472Z),
// when its chain is valid, so a real document gets through every check.
inline constexpr int64_t kFuzzVerificationTimeMs = 1736179625472;

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_ATTESTATION_FUZZER_H_
