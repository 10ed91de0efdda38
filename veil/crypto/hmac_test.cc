#include "veil/crypto/hmac.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/crypto/constant_time.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::crypto {
namespace {

using ::nlohmann::json;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<uint8_t> Hex(const std::string& h) {
  auto b = HexDecode(h);
  EXPECT_TRUE(b.ok()) << h;
  return b.ok() ? *b : std::vector<uint8_t>();
}

struct Rfc4231Vector {
  const char* name;
  std::vector<uint8_t> key, data;
  const char* sha256;
};

// RFC 4231 section 4, the HMAC-SHA-256 results of test cases 1-4, 6 and 7
// (case 5 truncates the output and is covered by the Wycheproof suite below).
std::vector<Rfc4231Vector> Rfc4231Vectors() {
  return {
      {"Case1", std::vector<uint8_t>(20, 0x0b), Bytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Case2", Bytes("Jefe"), Bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"Case3", std::vector<uint8_t>(20, 0xaa), std::vector<uint8_t>(50, 0xdd),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"Case4", Hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
       std::vector<uint8_t>(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"Case6", std::vector<uint8_t>(131, 0xaa),
       Bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"Case7", std::vector<uint8_t>(131, 0xaa),
       Bytes("This is a test using a larger than block-size key and a larger than block-size "
             "data. The key needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(HmacTest, Rfc4231Sha256) {
  for (const Rfc4231Vector& v : Rfc4231Vectors()) {
    SCOPED_TRACE(v.name);
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> tag, HmacSha256(v.key, v.data));
    EXPECT_EQ(HexEncode(tag), v.sha256);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes secret, HmacSecret(HashAlgorithm::kSha256, v.key, v.data));
    EXPECT_EQ(HexEncode(secret.Expose()), v.sha256);
  }
}

TEST(HmacTest, EmptyKeyAndMessage) {
  // HMAC-SHA256("", ""), computed with Python's hmac module.
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> tag, HmacSha256({}, {}));
  EXPECT_EQ(HexEncode(tag), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacTest, OutputLengthFollowsHash) {
  const std::vector<uint8_t> key(32, 1);
  for (HashAlgorithm h : {HashAlgorithm::kSha256, HashAlgorithm::kSha384, HashAlgorithm::kSha512}) {
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> tag, Hmac(h, key, Bytes("x")));
    EXPECT_EQ(tag.size(), HashSize(h));
  }
}

TEST(HmacTest, RefusesSha1) {
  EXPECT_THAT(Hmac(HashAlgorithm::kSha1, Bytes("k"), Bytes("m")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Wycheproof hmac_sha256_test.json (../shared/testdata/wycheproof, see its
// PROVENANCE.md). Tags may be truncated (tagSize 128): the comparison is over
// the leading tagSize/8 bytes, as a verifier of truncated tags would do.
TEST(HmacTest, WycheproofHmacSha256) {
  VEIL_REQUIRE_SHARED(shared);
  auto text = ::veil::testing::ReadFileString(shared + "/testdata/wycheproof/hmac_sha256_test.json");
  ASSERT_TRUE(text.ok()) << text.status();
  json root = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(root.is_discarded());
  ASSERT_EQ(root.value("algorithm", ""), "HMACSHA256");
  int valid = 0, invalid = 0;
  for (const json& group : root.at("testGroups")) {
    const size_t tag_bytes = group.at("tagSize").get<size_t>() / 8;
    for (const json& t : group.at("tests")) {
      SCOPED_TRACE(t.at("tcId").get<int>());
      const std::string result = t.at("result").get<std::string>();
      VEIL_ASSERT_OK_AND_ASSIGN(
          std::vector<uint8_t> tag,
          HmacSha256(Hex(t.at("key").get<std::string>()), Hex(t.at("msg").get<std::string>())));
      const std::vector<uint8_t> expected = Hex(t.at("tag").get<std::string>());
      const bool match =
          expected.size() == tag_bytes && tag_bytes <= tag.size() &&
          ConstantTimeEquals(absl::MakeConstSpan(tag.data(), tag_bytes), expected);
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(match);
      } else {
        ASSERT_EQ(result, "invalid");
        ++invalid;
        EXPECT_FALSE(match);
      }
    }
  }
  std::printf("[ WYCHEPRF ] hmac_sha256_test.json: ran %d (valid %d, invalid %d)\n",
              valid + invalid, valid, invalid);
  EXPECT_GE(valid + invalid, 170);
}

}  // namespace
}  // namespace veil::crypto
