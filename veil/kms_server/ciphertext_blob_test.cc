#include "veil/kms_server/ciphertext_blob.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms_server {
namespace {

using ::veil::testing::StatusIs;

constexpr char kKeyId[] = "1234abcd-12ab-34cd-56ef-1234567890ab";

SecretBytes Material(uint8_t fill) {
  SecretBytes m(32);
  for (auto& b : m.MutableExpose()) b = fill;
  return m;
}

TEST(CiphertextBlobTest, RoundTripNamesKeyAndVersion) {
  const EncryptionContext ec = {{"tenant", "acme"}, {"purpose", "ml"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto blob,
                            SealBlob({kKeyId, 7}, Material(1), ec, AsBytes("data key bytes")));
  EXPECT_EQ(blob.size(), kBlobOverhead + 14);
  VEIL_ASSERT_OK_AND_ASSIGN(BlobHeader header, ParseBlobHeader(blob));
  EXPECT_EQ(header.key_id, kKeyId);
  EXPECT_EQ(header.key_version, 7u);
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pt, OpenBlob(blob, Material(1), ec));
  EXPECT_EQ(AsStringView(pt.Expose()), "data key bytes");
}

TEST(CiphertextBlobTest, WrongEncryptionContextIsRefused) {
  const EncryptionContext ec = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto blob, SealBlob({kKeyId, 1}, Material(1), ec, AsBytes("x")));
  for (const EncryptionContext& wrong :
       {EncryptionContext{}, EncryptionContext{{"tenant", "globex"}},
        EncryptionContext{{"tenant", "acme"}, {"extra", ""}}, EncryptionContext{{"Tenant", "acme"}}}) {
    EXPECT_THAT(OpenBlob(blob, Material(1), wrong), StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_THAT(OpenBlob(blob, Material(2), ec), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(CiphertextBlobTest, CanonicalContextIsUnambiguous) {
  // {"ab": "c"} and {"a": "bc"} must not serialize alike.
  VEIL_ASSERT_OK_AND_ASSIGN(auto x, CanonicalEncryptionContext({{"ab", "c"}}));
  VEIL_ASSERT_OK_AND_ASSIGN(auto y, CanonicalEncryptionContext({{"a", "bc"}}));
  EXPECT_NE(x, y);
}

TEST(CiphertextBlobTest, EveryBitFlipAndTruncationIsRefused) {
  const EncryptionContext ec = {{"k", "v"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto blob, SealBlob({kKeyId, 1}, Material(3), ec, AsBytes("secret")));
  for (size_t bit = 0; bit < blob.size() * 8; ++bit) {
    auto tampered = blob;
    tampered[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto header = ParseBlobHeader(tampered);
    if (!header.ok()) continue;  // the format byte
    // A flipped key id or version makes the service look up another key;
    // under this key the blob must not open either way.
    EXPECT_FALSE(OpenBlob(tampered, Material(3), ec).ok()) << "bit " << bit;
  }
  for (size_t n = 0; n < blob.size(); ++n) {
    EXPECT_FALSE(OpenBlob(absl::MakeSpan(blob).first(n), Material(3), ec).ok()) << n;
  }
}

TEST(CiphertextBlobTest, ForeignBytesAreInvalidArgument) {
  EXPECT_THAT(ParseBlobHeader(AsBytes("hello")), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint8_t> wrong_format(100, 0);
  EXPECT_THAT(ParseBlobHeader(wrong_format), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CiphertextBlobTest, Uuids) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::string id, NewUuid());
  EXPECT_TRUE(IsUuid(id));
  EXPECT_EQ(id[14], '4');
  VEIL_ASSERT_OK_AND_ASSIGN(auto bytes, UuidToBytes(id));
  EXPECT_EQ(UuidFromBytes(bytes), id);
  EXPECT_FALSE(IsUuid("1234abcd-12ab-34cd-56ef-1234567890a"));
  EXPECT_FALSE(IsUuid("1234abcd+12ab-34cd-56ef-1234567890ab"));
  EXPECT_FALSE(IsUuid("alias/foo"));
}

}  // namespace
}  // namespace veil::kms_server
