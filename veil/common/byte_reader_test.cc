#include "veil/common/byte_reader.h"

#include <vector>

#include "gtest/gtest.h"
#include "veil/common/byte_writer.h"

namespace veil {
namespace {

TEST(ByteReaderTest, ReadsBigEndianIntegers) {
  const std::vector<uint8_t> data = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                     0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F};
  ByteReader r(data);
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  ASSERT_TRUE(r.ReadU8(&u8));
  ASSERT_TRUE(r.ReadU16(&u16));
  ASSERT_TRUE(r.ReadU32(&u32));
  ASSERT_TRUE(r.ReadU64(&u64));
  EXPECT_EQ(u8, 0x01);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u32, 0x04050607u);
  EXPECT_EQ(u64, 0x08090A0B0C0D0E0Full);
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.offset(), data.size());
}

TEST(ByteReaderTest, FailedReadConsumesNothing) {
  const std::vector<uint8_t> data = {0x00, 0x05, 'a', 'b'};
  ByteReader r(data);
  absl::Span<const uint8_t> out;
  EXPECT_FALSE(r.ReadLengthPrefixed16(&out));
  EXPECT_EQ(r.remaining(), 4u);
  uint64_t u64;
  EXPECT_FALSE(r.ReadU64(&u64));
  EXPECT_EQ(r.offset(), 0u);
  EXPECT_FALSE(r.Skip(5));
  EXPECT_TRUE(r.Skip(4));
}

TEST(ByteReaderTest, LengthPrefixedRoundTrip) {
  ByteWriter w;
  ASSERT_TRUE(w.WriteLengthPrefixed16(AsBytes("hello")));
  ASSERT_TRUE(w.WriteLengthPrefixed16({}));
  ByteReader r(w.bytes());
  absl::Span<const uint8_t> a, b;
  ASSERT_TRUE(r.ReadLengthPrefixed16(&a));
  ASSERT_TRUE(r.ReadLengthPrefixed16(&b));
  EXPECT_EQ(AsStringView(a), "hello");
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(r.empty());
}

TEST(ByteWriterTest, RefusesOverlongLengthPrefixed) {
  ByteWriter w;
  std::vector<uint8_t> big(0x10000);
  EXPECT_FALSE(w.WriteLengthPrefixed16(big));
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace veil
