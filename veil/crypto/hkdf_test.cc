#include "veil/crypto/hkdf.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"

namespace veil::crypto {
namespace {

using ::veil::testing::StatusIs;

std::string HexOf(const SecretBytes& s) { return HexEncode(s.Expose()); }

std::vector<uint8_t> Range(int from, int to_inclusive) {
  std::vector<uint8_t> out;
  for (int i = from; i <= to_inclusive; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

struct HkdfVector {
  const char* name;
  std::vector<uint8_t> ikm, salt, info;
  size_t length;
  const char* prk;
  const char* okm;
};

// RFC 5869 appendix A, test cases 1-3 (the SHA-256 ones).
std::vector<HkdfVector> Rfc5869Sha256Vectors() {
  return {
      // A.1: basic test case with SHA-256.
      {"Rfc5869Case1", std::vector<uint8_t>(22, 0x0b), Range(0x00, 0x0c), Range(0xf0, 0xf9), 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      // A.2: longer inputs and outputs.
      {"Rfc5869Case2", Range(0x00, 0x4f), Range(0x60, 0xaf), Range(0xb0, 0xff), 82,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
       "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      // A.3: zero-length salt and info.
      {"Rfc5869Case3", std::vector<uint8_t>(22, 0x0b), std::vector<uint8_t>(),
       std::vector<uint8_t>(), 42,
       "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
}

TEST(HkdfTest, Rfc5869Sha256) {
  for (const HkdfVector& v : Rfc5869Sha256Vectors()) {
    SCOPED_TRACE(v.name);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes prk, HkdfExtract(HashAlgorithm::kSha256, v.salt, v.ikm));
    EXPECT_EQ(HexOf(prk), v.prk);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes okm,
                              HkdfExpand(HashAlgorithm::kSha256, prk.Expose(), v.info, v.length));
    EXPECT_EQ(HexOf(okm), v.okm);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes one_shot,
                              Hkdf(HashAlgorithm::kSha256, v.ikm, v.salt, v.info, v.length));
    EXPECT_EQ(HexOf(one_shot), v.okm);
  }
}

TEST(HkdfTest, EmptySaltIsHashLenZeros) {
  // RFC 5869 section 2.2: "if not provided, [salt] is set to a string of
  // HashLen zeros".
  const std::vector<uint8_t> ikm = {1, 2, 3, 4};
  for (HashAlgorithm h : {HashAlgorithm::kSha256, HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes a, HkdfExtract(h, {}, ikm));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes b,
                              HkdfExtract(h, std::vector<uint8_t>(HashSize(h), 0), ikm));
    EXPECT_EQ(HexOf(a), HexOf(b));
    EXPECT_EQ(a.size(), HashSize(h));
  }
}

TEST(HkdfTest, OutputLengthLimits) {
  const std::vector<uint8_t> ikm(32, 9);
  for (HashAlgorithm h : {HashAlgorithm::kSha256, HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    const size_t max = 255 * HashSize(h);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes okm, Hkdf(h, ikm, {}, {}, max));
    EXPECT_EQ(okm.size(), max);
    // Shorter outputs are prefixes of longer ones.
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes part, Hkdf(h, ikm, {}, {}, 100));
    EXPECT_EQ(HexEncode(part.Expose()), HexEncode(okm.Expose().first(100)));
    EXPECT_THAT(Hkdf(h, ikm, {}, {}, max + 1), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(HkdfExpand(h, okm.Expose().first(HashSize(h)), {}, max + 1),
                StatusIs(absl::StatusCode::kInvalidArgument));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes none, Hkdf(h, ikm, {}, {}, 0));
    EXPECT_TRUE(none.empty());
  }
}

TEST(HkdfTest, ConcurrentCallsAgree) {
  // Every call duplicates one shared, preset HMAC context; concurrent
  // duplication must be safe and give the same answers.
  const HkdfVector v = Rfc5869Sha256Vectors()[1];
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&v, &mismatches, t] {
      for (int i = 0; i < 200; ++i) {
        auto okm = Hkdf(HashAlgorithm::kSha256, v.ikm, v.salt, v.info, v.length);
        if (!okm.ok() || HexEncode(okm->Expose()) != v.okm) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(HkdfTest, RejectsSha1) {
  const std::vector<uint8_t> ikm(16, 1);
  EXPECT_THAT(Hkdf(HashAlgorithm::kSha1, ikm, {}, {}, 16),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HkdfExtract(HashAlgorithm::kSha1, {}, ikm),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace veil::crypto
