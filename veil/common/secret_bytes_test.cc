#include "veil/common/secret_bytes.h"

#include <type_traits>

#include "gtest/gtest.h"

namespace veil {
namespace {

TEST(SecretBytesTest, IsMoveOnlyAndNotConvertible) {
  static_assert(!std::is_copy_constructible_v<SecretBytes>);
  static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
  static_assert(!std::is_convertible_v<SecretBytes, absl::Span<const uint8_t>>);
  static_assert(!std::is_convertible_v<SecretBytes, std::string>);
}

TEST(SecretBytesTest, CopyCloneResizeClear) {
  const uint8_t raw[] = {1, 2, 3, 4};
  SecretBytes s = SecretBytes::Copy(raw);
  SecretBytes c = s.Clone();
  EXPECT_EQ(std::vector<uint8_t>(c.Expose().begin(), c.Expose().end()),
            std::vector<uint8_t>({1, 2, 3, 4}));
  s.Resize(2);
  EXPECT_EQ(s.size(), 2u);
  s.Clear();
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(c.size(), 4u);
}

TEST(SecretBytesTest, SecureWipeZeroes) {
  uint8_t buf[16];
  for (auto& b : buf) b = 0xAA;
  SecureWipe(buf, sizeof(buf));
  for (auto b : buf) EXPECT_EQ(b, 0);
}

}  // namespace
}  // namespace veil
