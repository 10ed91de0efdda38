// Runs the image intake fuzz target in the ordinary test build (any
// compiler, and under ASan/UBSan): on the seeds, the shared photos when
// present, every truncation of two seeds, and 3,000 deterministic
// mutations. The target aborts on a violated invariant, so a passing run
// means no crash, no sanitizer report and no decoder running on refused
// bytes.
#include <random>
#include <string>
#include <vector>

#include "fuzz/image_intake_fuzzer.h"
#include "gtest/gtest.h"
#include "veil/testing/testdata.h"

namespace veil::fuzz {
namespace {

int RunTarget(const std::vector<uint8_t>& input) {
  return LLVMFuzzerTestOneInput(input.data(), input.size());
}

TEST(ImageIntakeFuzzerReplayTest, Seeds) {
  const auto seeds = ImageSeeds();
  ASSERT_GE(seeds.size(), 8u);
  for (const auto& seed : seeds) EXPECT_EQ(RunTarget(seed.input), 0) << seed.name;
}

TEST(ImageIntakeFuzzerReplayTest, SharedPhotos) {
  const auto shared = testing::SharedDir();
  if (!shared) GTEST_SKIP() << "shared test data not found";
  for (const char* name : {"dog.jpg", "giraffe.jpg"}) {
    auto bytes = testing::ReadFile(*shared + "/testdata/images/" + name);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(RunTarget(*bytes), 0);
  }
}

TEST(ImageIntakeFuzzerReplayTest, EveryTruncation) {
  const auto seeds = ImageSeeds();
  for (const auto& seed : seeds) {
    if (seed.name != "colour.jpg" && seed.name != "colour.png") continue;
    for (size_t n = 0; n <= seed.input.size(); ++n) {
      RunTarget(std::vector<uint8_t>(seed.input.begin(), seed.input.begin() + n));
    }
  }
}

TEST(ImageIntakeFuzzerReplayTest, Mutations) {
  const auto seeds = ImageSeeds();
  std::mt19937 rng(0x1a6e5eed);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> in = seeds[rng() % seeds.size()].input;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !in.empty(); ++e) {
      const size_t at = rng() % in.size();
      switch (rng() % 4) {
        case 0: in[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: in[at] = static_cast<uint8_t>(rng()); break;
        case 2: in.erase(in.begin() + static_cast<long>(at)); break;
        default: in.insert(in.begin() + static_cast<long>(at), static_cast<uint8_t>(rng())); break;
      }
    }
    RunTarget(in);
  }
}

}  // namespace
}  // namespace veil::fuzz
