// The veil-kms request-handling fuzz target, shared by the libFuzzer binary
// (clang, `fuzz` preset) and its replay test (every build with tests).
//
// Input layout: one selector byte, then the request.
//   selector bit 0 set:   "<Operation>\n<JSON body>"; the target signs it
//                         with the fuzz principal's fixed key, so the bytes
//                         reach routing, JSON parsing and every KMS operation;
//   selector bit 0 clear: raw "Name: value" header lines, a blank line, then
//                         the body, sent unsigned as is (the SigV4 parser and
//                         verifier see attacker-chosen headers).
// The service runs over a throwaway SQLite store (synchronous=OFF) that holds
// one principal, one key and the alias "alias/fuzz".
#ifndef VEIL_FUZZ_KMS_SERVER_FUZZER_H_
#define VEIL_FUZZ_KMS_SERVER_FUZZER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace veil::fuzz {

struct KmsServerSeed {
  std::string name;
  std::vector<uint8_t> input;
};

// KmsServerSeeds returns one signed request per operation (valid and
// near-valid bodies) and a few unsigned raw requests.
std::vector<KmsServerSeed> KmsServerSeeds();

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_KMS_SERVER_FUZZER_H_
