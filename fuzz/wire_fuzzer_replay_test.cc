// Runs the wire fuzz target in the ordinary test build (any compiler, and
// under ASan/UBSan): on the seeds, on every truncation and every single-bit
// flip of each seed, and on 5,000 deterministic mutations. The target aborts
// on a violated invariant, so a passing run means no crash, no sanitizer
// report and no decoder/encoder or frame-reader disagreement.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "fuzz/wire_fuzz_seeds.h"
#include "fuzz/wire_fuzzer.h"

namespace veil::fuzz {
namespace {

constexpr int kMutations = 5000;
constexpr uint32_t kMutationSeed = 0x5eed3173;

int RunTarget(const std::vector<uint8_t>& input) {
  return LLVMFuzzerTestOneInput(input.data(), input.size());
}

TEST(WireFuzzerReplayTest, Seeds) {
  const auto seeds = MakeWireSeeds();
  ASSERT_GE(seeds.size(), 20u);
  for (const auto& seed : seeds) {
    SCOPED_TRACE(seed.name);
    EXPECT_EQ(RunTarget(seed.input), 0);
  }
}

TEST(WireFuzzerReplayTest, EveryTruncationAndBitFlipOfEachSeed) {
  for (const auto& seed : MakeWireSeeds()) {
    if (seed.input.size() > 600) continue;  // the stream seed: covered by mutations
    SCOPED_TRACE(seed.name);
    for (size_t n = 0; n < seed.input.size(); ++n) {
      std::vector<uint8_t> cut(seed.input.begin(), seed.input.begin() + static_cast<long>(n));
      ASSERT_EQ(RunTarget(cut), 0) << n;
    }
    for (size_t i = 0; i < seed.input.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        std::vector<uint8_t> flipped = seed.input;
        flipped[i] ^= static_cast<uint8_t>(1u << bit);
        ASSERT_EQ(RunTarget(flipped), 0) << i << ":" << bit;
      }
    }
  }
}

TEST(WireFuzzerReplayTest, DeterministicMutations) {
  const auto seeds = MakeWireSeeds();
  std::mt19937 rng(kMutationSeed);
  auto below = [&rng](size_t n) { return n == 0 ? size_t{0} : size_t{rng() % n}; };
  for (int i = 0; i < kMutations; ++i) {
    std::vector<uint8_t> in = seeds[below(seeds.size())].input;
    const int edits = 1 + static_cast<int>(below(4));
    for (int e = 0; e < edits; ++e) {
      switch (below(5)) {
        case 0:
          if (!in.empty()) in[below(in.size())] ^= static_cast<uint8_t>(1u << below(8));
          break;
        case 1:
          if (!in.empty()) in[below(in.size())] = static_cast<uint8_t>(rng());
          break;
        case 2:
          in.resize(below(in.size() + 1));
          break;
        case 3: {
          const size_t at = below(in.size() + 1);
          in.insert(in.begin() + static_cast<long>(at), static_cast<uint8_t>(rng()));
          break;
        }
        default: {  // splice another seed's tail
          const auto& other = seeds[below(seeds.size())].input;
          in.resize(below(in.size() + 1));
          in.insert(in.end(), other.begin() + static_cast<long>(below(other.size())), other.end());
        }
      }
    }
    ASSERT_EQ(RunTarget(in), 0) << "mutation " << i;
  }
}

TEST(WireFuzzerReplayTest, DegenerateInputs) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(RunTarget({static_cast<uint8_t>(b)}), 0);
    EXPECT_EQ(RunTarget({0, 0, 0, static_cast<uint8_t>(b)}), 0);
    EXPECT_EQ(RunTarget({0xa1, static_cast<uint8_t>(b)}), 0);
  }
  // A frame stream bigger than the socket buffer and one over the frame limit.
  EXPECT_EQ(RunTarget(std::vector<uint8_t>(kFuzzMaxStreamBytes + 10, 0x00)), 0);
  std::vector<uint8_t> big = {0, 0, 0x10, 0x00};
  big.resize(4 + 4096, 0xa0);
  EXPECT_EQ(RunTarget(big), 0);
}

}  // namespace
}  // namespace veil::fuzz
