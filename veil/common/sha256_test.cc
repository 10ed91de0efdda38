#include "veil/common/sha256.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/common/constant_time.h"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"

namespace veil {
namespace {

std::string HexOf(const Sha256Digest& d) { return HexEncode(d); }

// FIPS 180-4 examples (NIST CSRC "SHA256.pdf" and "SHA2_Additional.pdf"):
// one block, empty, two blocks, and one million 'a'.
TEST(Sha256Test, NistVectors) {
  EXPECT_EQ(HexOf(Sha256Hash(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexOf(Sha256Hash(AsBytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexOf(Sha256Hash(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million_a(1000000, 'a');
  EXPECT_EQ(HexOf(Sha256Hash(AsBytes(million_a))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, MillionAInOddPieces) {
  Sha256 hasher;
  const std::string piece(997, 'a');
  size_t fed = 0;
  while (fed + piece.size() <= 1000000) {
    hasher.Update(AsBytes(piece));
    fed += piece.size();
  }
  hasher.Update(AsBytes(std::string(1000000 - fed, 'a')));
  EXPECT_EQ(HexOf(hasher.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, FinishResetsToTheEmptyMessage) {
  Sha256 hasher;
  hasher.Update(AsBytes("abc"));
  (void)hasher.Finish();
  EXPECT_EQ(HexOf(hasher.Finish()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Every length around the padding boundaries (55/56/63/64 bytes and their
// multiples) and thousands of random inputs, fed in random pieces, agree
// with OpenSSL through veil::crypto (linked by this test only).
TEST(Sha256Test, AgreesWithOpenSslOnRandomInputs) {
  std::mt19937_64 rng(20240611);
  auto check = [&](const std::vector<uint8_t>& data) {
    const std::vector<uint8_t> want = crypto::Digest(crypto::HashAlgorithm::kSha256, data);
    const Sha256Digest one_shot = Sha256Hash(data);
    ASSERT_EQ(std::vector<uint8_t>(one_shot.begin(), one_shot.end()), want)
        << "length " << data.size();
    Sha256 hasher;
    size_t pos = 0;
    while (pos < data.size()) {
      const size_t n = std::min<size_t>(data.size() - pos, rng() % 130);
      hasher.Update(absl::MakeConstSpan(data).subspan(pos, n));
      pos += n;
    }
    const Sha256Digest pieces = hasher.Finish();
    ASSERT_EQ(std::vector<uint8_t>(pieces.begin(), pieces.end()), want)
        << "length " << data.size() << " in pieces";
  };
  for (size_t len = 0; len <= 300; ++len) {
    std::vector<uint8_t> data(len);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    check(data);
  }
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> data(rng() % 5000);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    check(data);
  }
}

TEST(ConstantTimeEqualsTest, ComparesBytesAndLengths) {
  const std::vector<uint8_t> a = {1, 2, 3, 4};
  std::vector<uint8_t> b = a;
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
  for (size_t i = 0; i < b.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      b = a;
      b[i] ^= static_cast<uint8_t>(1 << bit);
      EXPECT_FALSE(ConstantTimeEquals(a, b)) << i << ":" << bit;
    }
  }
  EXPECT_FALSE(ConstantTimeEquals(a, absl::MakeConstSpan(a).subspan(0, 3)));
  EXPECT_FALSE(ConstantTimeEquals(a, {}));
}

}  // namespace
}  // namespace veil
