// Runs the attestation fuzz target in the ordinary test build (any compiler,
// and under ASan/UBSan): on the seeds (the four real documents when
// ../shared is present), on every truncation of doc1, on every single-byte
// xor of doc1's protected header and signature, and on 3,000 deterministic
// mutations. The target aborts on a violated invariant, so a passing run
// means no crash, no sanitizer report and no cached/uncached disagreement.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "absl/time/time.h"
#include "fuzz/attestation_fuzz_seeds.h"
#include "fuzz/attestation_fuzzer.h"
#include "veil/attestation/verifier.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::fuzz {
namespace {

constexpr int kMutations = 3000;
constexpr uint32_t kMutationSeed = 0xa77e5700;

int RunTarget(const std::vector<uint8_t>& input) {
  return LLVMFuzzerTestOneInput(input.data(), input.size());
}

std::vector<AttestationSeed> Seeds(const std::optional<std::string>& shared) {
  auto seeds = MakeAttestationSeeds(shared);
  EXPECT_TRUE(seeds.ok()) << seeds.status();
  return seeds.ok() ? *std::move(seeds) : std::vector<AttestationSeed>{};
}

const AttestationSeed* Find(const std::vector<AttestationSeed>& seeds, const std::string& name) {
  for (const auto& s : seeds) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Mutate applies one to four libFuzzer-style edits (as the ESDK replay test).
std::vector<uint8_t> Mutate(std::vector<uint8_t> in, const std::vector<AttestationSeed>& seeds,
                            std::mt19937& rng) {
  auto below = [&rng](size_t n) { return n == 0 ? size_t{0} : size_t{rng() % n}; };
  const int edits = 1 + static_cast<int>(below(4));
  for (int e = 0; e < edits; ++e) {
    switch (below(7)) {
      case 0:  // flip a bit
        if (!in.empty()) in[below(in.size())] ^= static_cast<uint8_t>(1u << below(8));
        break;
      case 1:  // random byte
        if (!in.empty()) in[below(in.size())] = static_cast<uint8_t>(rng());
        break;
      case 2:  // truncate
        in.resize(below(in.size() + 1));
        break;
      case 3: {  // insert random bytes
        const size_t at = below(in.size() + 1);
        std::vector<uint8_t> bytes(1 + below(16));
        for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
        in.insert(in.begin() + static_cast<long>(at), bytes.begin(), bytes.end());
        break;
      }
      case 4: {  // erase a range
        if (in.empty()) break;
        const size_t at = below(in.size());
        const size_t n = 1 + below(std::min<size_t>(in.size() - at, 64));
        in.erase(in.begin() + static_cast<long>(at), in.begin() + static_cast<long>(at + n));
        break;
      }
      case 5: {  // splice: our head, another seed's tail
        const std::vector<uint8_t>& other = seeds[below(seeds.size())].input;
        in.resize(below(in.size() + 1));
        const size_t from = below(other.size());
        in.insert(in.end(), other.begin() + static_cast<long>(from), other.end());
        break;
      }
      case 6: {  // a CBOR head byte: major type and additional information
        static constexpr uint8_t kHeads[] = {0x00, 0x17, 0x18, 0x1b, 0x1f, 0x40, 0x59, 0x5f,
                                             0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xbf, 0xc0, 0xd2,
                                             0xf6, 0xf7, 0xf8, 0xfb, 0xff};
        if (!in.empty()) in[below(in.size())] = kHeads[below(std::size(kHeads))];
        break;
      }
    }
  }
  return in;
}

TEST(AttestationFuzzerReplayTest, RealDocumentsPassTheTargetAndVerify) {
  VEIL_REQUIRE_SHARED(shared);
  const auto seeds = Seeds(shared);
  ASSERT_GE(seeds.size(), 9u);
  for (const auto& seed : seeds) {
    SCOPED_TRACE(seed.name);
    EXPECT_EQ(RunTarget(seed.input), 0);
  }
  // doc1 verifies at the target's time, so the target reaches every check.
  const AttestationSeed* doc1 = Find(seeds, "doc1-eu-central-1-2025-01-06.cbor");
  ASSERT_NE(doc1, nullptr);
  VEIL_ASSERT_OK_AND_ASSIGN(auto root, veil::testing::ReadFileString(
                                           shared + "/testdata/nitro/aws-nitro-enclaves-root-g1.pem"));
  attestation::VerifierConfig config;
  config.roots = {attestation::CertificateDerFromPem(root).value()};
  VEIL_ASSERT_OK_AND_ASSIGN(auto verifier, attestation::AttestationVerifier::Create(config));
  attestation::VerifyPolicy policy;
  policy.at = absl::FromUnixMillis(kFuzzVerificationTimeMs);
  EXPECT_THAT(verifier->Verify(doc1->input, policy), veil::testing::IsOk());
}

TEST(AttestationFuzzerReplayTest, SyntheticSeedsWithoutSharedData) {
  for (const auto& seed : Seeds(std::nullopt)) {
    SCOPED_TRACE(seed.name);
    EXPECT_EQ(RunTarget(seed.input), 0);
  }
}

TEST(AttestationFuzzerReplayTest, EveryTruncationOfDoc1) {
  VEIL_REQUIRE_SHARED(shared);
  const auto seeds = Seeds(shared);
  const AttestationSeed* doc1 = Find(seeds, "doc1-eu-central-1-2025-01-06.cbor");
  ASSERT_NE(doc1, nullptr);
  for (size_t n = 0; n <= doc1->input.size(); ++n) {
    std::vector<uint8_t> input(doc1->input.begin(), doc1->input.begin() + static_cast<long>(n));
    EXPECT_EQ(RunTarget(input), 0);
  }
}

TEST(AttestationFuzzerReplayTest, EnvelopeAndSignatureBytesOfDoc1) {
  VEIL_REQUIRE_SHARED(shared);
  const auto seeds = Seeds(shared);
  const AttestationSeed* doc1 = Find(seeds, "doc1-eu-central-1-2025-01-06.cbor");
  ASSERT_NE(doc1, nullptr);
  std::vector<size_t> offsets;
  for (size_t i = 0; i < 12; ++i) offsets.push_back(i);
  for (size_t i = doc1->input.size() - 98; i < doc1->input.size(); ++i) offsets.push_back(i);
  for (size_t at : offsets) {
    std::vector<uint8_t> input = doc1->input;
    input[at] ^= 0x01;
    EXPECT_EQ(RunTarget(input), 0) << at;
  }
}

TEST(AttestationFuzzerReplayTest, DeterministicMutations) {
  const std::optional<std::string> shared = veil::testing::SharedDir();
  const auto seeds = Seeds(shared);
  ASSERT_FALSE(seeds.empty());
  std::mt19937 rng(kMutationSeed);
  for (int i = 0; i < kMutations; ++i) {
    const AttestationSeed& seed = seeds[rng() % seeds.size()];
    const std::vector<uint8_t> input = Mutate(seed.input, seeds, rng);
    ASSERT_EQ(RunTarget(input), 0) << "mutation " << i << " of " << seed.name;
  }
}

TEST(AttestationFuzzerReplayTest, DegenerateInputs) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
  for (int b = 0; b < 256; ++b) {
    const std::vector<uint8_t> one = {static_cast<uint8_t>(b)};
    EXPECT_EQ(RunTarget(one), 0);
    const std::vector<uint8_t> two = {0x84, static_cast<uint8_t>(b)};
    EXPECT_EQ(RunTarget(two), 0);
  }
}

}  // namespace
}  // namespace veil::fuzz
