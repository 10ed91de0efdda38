#include "veil/esdk/encryption_context.h"

#include "gtest/gtest.h"
#include "rapidcheck/gtest.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"

namespace veil::esdk {
namespace {

using ::veil::testing::StatusIs;

TEST(EncryptionContextTest, EmptySerializesToNothing) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto bytes, SerializeEncryptionContext({}));
  EXPECT_TRUE(bytes.empty());
  VEIL_ASSERT_OK_AND_ASSIGN(auto ec, ParseEncryptionContext({}));
  EXPECT_TRUE(ec.empty());
}

// Hand-computed per brief section 3: count, then entries sorted by key bytes.
TEST(EncryptionContextTest, KnownAnswerSortedByBytes) {
  EncryptionContext ec = {{"b", "2"}, {"a", "1"}, {"B", "3"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto bytes, SerializeEncryptionContext(ec));
  EXPECT_EQ(HexEncode(bytes), "0003000142000133000161000131000162000132");
}

TEST(EncryptionContextTest, Utf8KeysSortByRawBytes) {
  // "é" (C3 A9) sorts after "z" (7A) by bytes, though not by locale.
  EncryptionContext ec = {{"\xC3\xA9", "x"}, {"z", "y"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto bytes, SerializeEncryptionContext(ec));
  EXPECT_EQ(HexEncode(bytes), "0002" "00017a000179" "0002c3a9000178");
}

TEST(EncryptionContextTest, ParseRejectsMalformed) {
  auto parse = [](const char* hex) { return ParseEncryptionContext(*HexDecode(hex)); };
  EXPECT_THAT(parse("0000"), StatusIs(absl::StatusCode::kInvalidArgument));          // zero count
  EXPECT_THAT(parse("0001000161"), StatusIs(absl::StatusCode::kInvalidArgument));    // truncated
  EXPECT_THAT(parse("00020001610001310001610001"
                    "32"),
              StatusIs(absl::StatusCode::kInvalidArgument));                          // duplicate
  EXPECT_THAT(parse("000100016100013100"), StatusIs(absl::StatusCode::kInvalidArgument));  // trailing
  EXPECT_THAT(parse("00010001ff000131"), StatusIs(absl::StatusCode::kInvalidArgument));    // not UTF-8
  // Unsorted entries are accepted on read.
  VEIL_EXPECT_OK(parse("0002000162000132000161000131"));
}

TEST(EncryptionContextTest, Utf8Validation) {
  EXPECT_TRUE(ValidUtf8("plain ascii"));
  EXPECT_TRUE(ValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  EXPECT_FALSE(ValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(ValidUtf8("\xE2\x82"));          // truncated
}

RC_GTEST_PROP(EncryptionContextProperty, ParseInvertsSerialize, (const EncryptionContext& ec)) {
  EncryptionContext valid;
  for (const auto& [k, v] : ec) {
    if (ValidUtf8(k) && ValidUtf8(v)) valid.emplace(k, v);
  }
  auto bytes = SerializeEncryptionContext(valid);
  RC_ASSERT(bytes.ok());
  auto back = ParseEncryptionContext(*bytes);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == valid);
}

RC_GTEST_PROP(EncryptionContextProperty, ParseNeverCrashes, (const std::vector<uint8_t>& bytes)) {
  auto ec = ParseEncryptionContext(bytes);
  if (ec.ok()) {
    auto again = SerializeEncryptionContext(*ec);
    RC_ASSERT(again.ok());
  }
}

}  // namespace
}  // namespace veil::esdk
