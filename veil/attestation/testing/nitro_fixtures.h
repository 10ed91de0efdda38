// The real Nitro attestation documents in ../shared/testdata/nitro (never
// copied into the repository), with their expected values.
#ifndef VEIL_ATTESTATION_TESTING_NITRO_FIXTURES_H_
#define VEIL_ATTESTATION_TESTING_NITRO_FIXTURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace veil::attestation::testing {

// NitroFixture is one real document and its entry in expected.json.
struct NitroFixture {
  std::string file;               // e.g. "doc1-eu-central-1-2025-01-06.cbor"
  std::vector<uint8_t> document;  // the COSE_Sign1 bytes
  nlohmann::json expected;        // the document's object in expected.json
  int64_t timestamp_ms = 0;       // expected["timestamp_ms"]
};

// LoadNitroFixtures reads every document listed in
// `shared_dir`/testdata/nitro/expected.json, in file order. Fails (NotFound,
// InvalidArgument) when a file is missing or the JSON does not parse.
absl::StatusOr<std::vector<NitroFixture>> LoadNitroFixtures(const std::string& shared_dir);

// LoadAwsNitroRootDer returns the DER of aws-nitro-enclaves-root-g1.pem.
absl::StatusOr<std::vector<uint8_t>> LoadAwsNitroRootDer(const std::string& shared_dir);

}  // namespace veil::attestation::testing

#endif  // VEIL_ATTESTATION_TESTING_NITRO_FIXTURES_H_
