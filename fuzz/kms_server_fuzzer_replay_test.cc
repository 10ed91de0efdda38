// Runs the veil-kms request-handling fuzz target in the ordinary test build
// (any compiler, and under ASan/UBSan with `make test-asan`): on every seed,
// on every truncation of the seeds, and on 3,000 deterministic mutations.
// The target aborts on a violated invariant (a non-JSON or untyped error
// response, an internal error, an unsigned request that succeeds).
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "fuzz/kms_server_fuzzer.h"

namespace veil::fuzz {
namespace {

int RunTarget(const std::vector<uint8_t>& input) {
  return LLVMFuzzerTestOneInput(input.data(), input.size());
}

TEST(KmsServerFuzzerReplayTest, Seeds) {
  for (const auto& seed : KmsServerSeeds()) EXPECT_EQ(RunTarget(seed.input), 0) << seed.name;
}

TEST(KmsServerFuzzerReplayTest, Truncations) {
  for (const auto& seed : KmsServerSeeds()) {
    for (size_t n = 0; n <= seed.input.size(); n += 3) {
      EXPECT_EQ(RunTarget(std::vector<uint8_t>(seed.input.begin(), seed.input.begin() + n)), 0);
    }
  }
}

TEST(KmsServerFuzzerReplayTest, Mutations) {
  const auto seeds = KmsServerSeeds();
  std::mt19937 rng(0x6b6d73u);
  auto below = [&rng](size_t n) { return n == 0 ? size_t{0} : size_t{rng() % n}; };
  const char* tokens[] = {"\"", "{", "}", "[", "]", ",", ":", "null", "true", "-1",
                          "1e999", "\"alias/fuzz\"", "\\u0000", "\"KeyId\"", "*"};
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> in = seeds[below(seeds.size())].input;
    const int edits = 1 + static_cast<int>(below(3));
    for (int e = 0; e < edits; ++e) {
      switch (below(4)) {
        case 0:
          if (in.size() > 1) in[1 + below(in.size() - 1)] ^= static_cast<uint8_t>(1u << below(8));
          break;
        case 1:
          if (in.size() > 1) in.erase(in.begin() + 1 + static_cast<long>(below(in.size() - 1)));
          break;
        case 2: {
          const std::string t = tokens[below(std::size(tokens))];
          in.insert(in.begin() + 1 + static_cast<long>(below(in.size())), t.begin(), t.end());
          break;
        }
        case 3:
          if (!in.empty()) in[0] = static_cast<uint8_t>(rng());
          break;
      }
    }
    ASSERT_EQ(RunTarget(in), 0);
  }
}

}  // namespace
}  // namespace veil::fuzz
