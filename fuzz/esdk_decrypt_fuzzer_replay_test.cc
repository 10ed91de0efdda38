// Runs the ESDK decrypt fuzz target in the ordinary test build (any
// compiler, and under ASan/UBSan with `make test-asan`): on the seed corpus,
// on every truncation of two seeds, and on 2,000 deterministic mutations.
// The target aborts on a violated invariant, so a passing run means no
// crash, no sanitizer report and no one-shot/streaming disagreement.
#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "fuzz/esdk_decrypt_fuzzer.h"
#include "fuzz/esdk_fuzz_seeds.h"

namespace veil::fuzz {
namespace {

constexpr int kMutations = 2000;
constexpr uint32_t kMutationSeed = 0x5eed1e55;

const std::vector<Seed>& Seeds() {
  static const std::vector<Seed> seeds = [] {
    auto made = MakeSeeds();
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? std::move(*made) : std::vector<Seed>{};
  }();
  return seeds;
}

int RunTarget(const std::vector<uint8_t>& input) {
  return LLVMFuzzerTestOneInput(input.data(), input.size());
}

const Seed* FindSeed(const std::string& name) {
  for (const Seed& seed : Seeds()) {
    if (seed.name == name) return &seed;
  }
  return nullptr;
}

// Mutate applies one to four libFuzzer-style edits.
std::vector<uint8_t> Mutate(std::vector<uint8_t> in, const std::vector<Seed>& seeds,
                            std::mt19937& rng) {
  auto below = [&rng](size_t n) { return n == 0 ? size_t{0} : size_t{rng() % n}; };
  const int edits = 1 + static_cast<int>(below(4));
  for (int e = 0; e < edits; ++e) {
    switch (below(9)) {
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
        in.insert(in.begin() + at, bytes.begin(), bytes.end());
        break;
      }
      case 4: {  // erase a range
        if (in.empty()) break;
        const size_t at = below(in.size());
        const size_t n = 1 + below(std::min<size_t>(in.size() - at, 64));
        in.erase(in.begin() + at, in.begin() + at + n);
        break;
      }
      case 5: {  // duplicate a range
        if (in.empty()) break;
        const size_t at = below(in.size());
        const size_t n = 1 + below(std::min<size_t>(in.size() - at, 64));
        std::vector<uint8_t> copy(in.begin() + at, in.begin() + at + n);
        in.insert(in.begin() + below(in.size() + 1), copy.begin(), copy.end());
        break;
      }
      case 6: {  // splice: our head, another seed's tail
        const std::vector<uint8_t>& other = seeds[below(seeds.size())].input;
        in.resize(below(in.size() + 1));
        const size_t from = below(other.size());
        in.insert(in.end(), other.begin() + from, other.end());
        break;
      }
      case 7: {  // interesting value, 1, 2 or 4 bytes big-endian
        static constexpr uint32_t kValues[] = {0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x10000,
                                               0x7fffffff, 0xfffffffe, 0xffffffff};
        if (in.empty()) break;
        const uint32_t v = kValues[below(std::size(kValues))];
        const size_t width = size_t{1} << below(3);
        const size_t at = below(in.size());
        for (size_t i = 0; i < width && at + i < in.size(); ++i) {
          in[at + i] = static_cast<uint8_t>(v >> (8 * (width - 1 - i)));
        }
        break;
      }
      case 8:  // another chunk size
        if (!in.empty()) in[0] = static_cast<uint8_t>(rng());
        break;
    }
  }
  return in;
}

TEST(EsdkDecryptFuzzerReplayTest, SeedsDecryptAndPassTheTarget) {
  const std::vector<Seed>& seeds = Seeds();
  ASSERT_GE(seeds.size(), 50u);
  for (const Seed& seed : seeds) {
    SCOPED_TRACE(seed.name);
    EXPECT_EQ(RunTarget(seed.input), 0);
  }
}

TEST(EsdkDecryptFuzzerReplayTest, EveryChunkSizeClass) {
  const Seed* seed = FindSeed("0578-framed-f64-p200");
  ASSERT_NE(seed, nullptr);
  for (int selector = 0; selector < 256; selector += 17) {
    std::vector<uint8_t> input = seed->input;
    input[0] = static_cast<uint8_t>(selector);
    EXPECT_EQ(RunTarget(input), 0);
  }
}

TEST(EsdkDecryptFuzzerReplayTest, EveryTruncation) {
  for (const char* name : {"0014-framed-f64-p64", "0478-framed-f64-p1", "0214-nonframed-p100"}) {
    const Seed* seed = FindSeed(name);
    ASSERT_NE(seed, nullptr) << name;
    for (size_t n = 0; n <= seed->input.size(); ++n) {
      std::vector<uint8_t> input(seed->input.begin(), seed->input.begin() + n);
      EXPECT_EQ(RunTarget(input), 0);
    }
  }
}

TEST(EsdkDecryptFuzzerReplayTest, DeterministicMutations) {
  const std::vector<Seed>& seeds = Seeds();
  ASSERT_FALSE(seeds.empty());
  std::mt19937 rng(kMutationSeed);
  for (int i = 0; i < kMutations; ++i) {
    const Seed& seed = seeds[rng() % seeds.size()];
    const std::vector<uint8_t> input = Mutate(seed.input, seeds, rng);
    ASSERT_EQ(RunTarget(input), 0) << "mutation " << i << " of " << seed.name;
  }
}

TEST(EsdkDecryptFuzzerReplayTest, DegenerateInputs) {
  EXPECT_EQ(LLVMFuzzerTestOneInput(nullptr, 0), 0);
  for (int b = 0; b < 256; ++b) {
    const std::vector<uint8_t> one = {static_cast<uint8_t>(b)};
    EXPECT_EQ(RunTarget(one), 0);
    const std::vector<uint8_t> two = {0, static_cast<uint8_t>(b)};
    EXPECT_EQ(RunTarget(two), 0);
  }
}

}  // namespace
}  // namespace veil::fuzz
