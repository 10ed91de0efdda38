#include "veil/common/encoding.h"

#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"

namespace veil {
namespace {

// RFC 4648 section 10 test vectors.
TEST(EncodingTest, Base64Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, b64] : cases) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), b64);
    auto decoded = Base64Decode(b64);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(AsStringView(*decoded), plain);
  }
}

TEST(EncodingTest, Base64RejectsMalformed) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zh==", "Zm9v!A==", "=Zm9", "Zm=v"}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

TEST(EncodingTest, HexRoundTripAndErrors) {
  const std::vector<uint8_t> bytes = {0x00, 0xAB, 0xFF, 0x10};
  EXPECT_EQ(HexEncode(bytes), "00abff10");
  auto back = HexDecode("00ABff10");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, bytes);
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

}  // namespace
}  // namespace veil
