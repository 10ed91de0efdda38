#include "veil/crypto/aes_gcm.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/crypto/random.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"

namespace veil::crypto {
namespace {

using ::testing::Each;
using ::testing::Eq;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

std::vector<uint8_t> H(std::string_view hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::vector<uint8_t>();
}

std::vector<uint8_t> Concat(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  std::vector<uint8_t> out(a);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

std::vector<uint8_t> ToVector(const SecretBytes& s) {
  return std::vector<uint8_t>(s.Expose().begin(), s.Expose().end());
}

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

// Test cases 1-4, 7-10 and 13-16 of McGrew and Viega, "The Galois/Counter
// Mode of Operation (GCM)", revised 2005, Appendix B: the ones with a 96-bit
// IV (5, 6, 11, 12, 17 and 18 use other IV lengths, which AesGcm refuses).
const GcmVector kSpecVectors[] = {
    {"TestCase1", "00000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "58e2fccefa7e3061367f1d57a4e7455a"},
    {"TestCase2", "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78",
     "ab6e47d42cec13bdf53a67b21257bddf"},
    {"TestCase3", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"TestCase4", "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"TestCase7", "000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "", "", "cd33b28ac773f74ba00ed1f312572435"},
    {"TestCase8", "000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000", "98e7247c07f0fe411c267e4384b0f600",
     "2ff58d80033927ab8ef4d4587514f0fb"},
    {"TestCase9", "feffe9928665731c6d6a8f9467308308feffe9928665731c", "cafebabefacedbaddecaf888",
     "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
     "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade256",
     "9924a7c8587336bfb118024db8674a14"},
    {"TestCase10", "feffe9928665731c6d6a8f9467308308feffe9928665731c", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c"
     "7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710",
     "2519498e80f1478f37ba55bd6d27618c"},
    {"TestCase13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TestCase14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"TestCase15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"TestCase16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

class AesGcmSpecTest : public ::testing::TestWithParam<GcmVector> {};

TEST_P(AesGcmSpecTest, SealsAndOpensKnownAnswer) {
  const GcmVector& v = GetParam();
  const auto key = H(v.key), iv = H(v.iv), aad = H(v.aad), pt = H(v.plaintext),
             ct = H(v.ciphertext), tag = H(v.tag);
  VEIL_ASSERT_OK_AND_ASSIGN(auto gcm, AesGcm::New(key));

  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sealed, gcm->SealToVector(iv, aad, pt));
  EXPECT_EQ(HexEncode(sealed), HexEncode(Concat(ct, tag)));

  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes opened, gcm->OpenToSecret(iv, aad, Concat(ct, tag)));
  EXPECT_EQ(HexEncode(ToVector(opened)), HexEncode(pt));

  // The span forms, in place (out aliases in exactly).
  std::vector<uint8_t> buf = pt;
  std::vector<uint8_t> out_tag(kGcmTagSize);
  VEIL_ASSERT_OK(gcm->Seal(iv, aad, buf, absl::MakeSpan(buf), absl::MakeSpan(out_tag)));
  EXPECT_EQ(buf, ct);
  EXPECT_EQ(out_tag, tag);
  VEIL_ASSERT_OK(gcm->Open(iv, aad, buf, tag, absl::MakeSpan(buf)));
  EXPECT_EQ(buf, pt);
}

INSTANTIATE_TEST_SUITE_P(GcmSpec, AesGcmSpecTest, ::testing::ValuesIn(kSpecVectors),
                         [](const ::testing::TestParamInfo<GcmVector>& info) {
                           return std::string(info.param.name);
                         });

TEST(AesGcmTest, RoundTripsAllKeySizesAndLengths) {
  for (size_t key_len : {16u, 24u, 32u}) {
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes key, RandomSecret(key_len));
    VEIL_ASSERT_OK_AND_ASSIGN(auto gcm, AesGcm::New(key.Expose()));
    for (size_t len : {0u, 1u, 15u, 16u, 17u, 255u, 4096u, 65537u}) {
      VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> pt, RandomBytes(len));
      VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> iv, RandomBytes(kGcmIvSize));
      VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> aad, RandomBytes(len % 37));
      VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sealed, gcm->SealToVector(iv, aad, pt));
      ASSERT_EQ(sealed.size(), len + kGcmTagSize);
      VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes opened, gcm->OpenToSecret(iv, aad, sealed));
      EXPECT_EQ(ToVector(opened), pt) << "key " << key_len << " len " << len;
    }
  }
}

TEST(AesGcmTest, ReusedContextMatchesFreshOneForEveryIv) {
  // Seal/Open only reset the IV; the result must not depend on what the
  // object did before (including a failed Open).
  const auto key = H("feffe9928665731c6d6a8f9467308308");
  VEIL_ASSERT_OK_AND_ASSIGN(auto reused, AesGcm::New(key));
  const std::vector<uint8_t> aad = {1, 2, 3};
  for (int i = 0; i < 20; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> iv, RandomBytes(kGcmIvSize));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> pt, RandomBytes(33 + i));
    VEIL_ASSERT_OK_AND_ASSIGN(auto fresh, AesGcm::New(key));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> a, reused->SealToVector(iv, aad, pt));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> b, fresh->SealToVector(iv, aad, pt));
    EXPECT_EQ(a, b);
    std::vector<uint8_t> bad = a;
    bad[0] ^= 1;
    EXPECT_THAT(reused->OpenToSecret(iv, aad, bad), StatusIs(absl::StatusCode::kUnauthenticated));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes opened, reused->OpenToSecret(iv, aad, a));
    EXPECT_EQ(ToVector(opened), pt);
  }
}

// Tink's ModifyMessageAndAssociatedData, through veil/testing's generators:
// every single-bit flip of the ciphertext, the tag and the AAD is rejected
// and no byte of the output survives.
TEST(AesGcmTest, RejectsEveryBitFlipAndZeroesOutput) {
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes key, RandomSecret(32));
  VEIL_ASSERT_OK_AND_ASSIGN(auto gcm, AesGcm::New(key.Expose()));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> iv, RandomBytes(kGcmIvSize));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> pt, RandomBytes(40));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> aad, RandomBytes(13));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sealed, gcm->SealToVector(iv, aad, pt));
  const std::vector<uint8_t> ct(sealed.begin(), sealed.end() - kGcmTagSize);
  const std::vector<uint8_t> tag(sealed.end() - kGcmTagSize, sealed.end());

  int cases = 0;
  auto expect_rejected = [&](const std::string& what, absl::Span<const uint8_t> c,
                             absl::Span<const uint8_t> t, absl::Span<const uint8_t> a) {
    std::vector<uint8_t> out(c.size(), 0xAA);
    EXPECT_THAT(gcm->Open(iv, a, c, t, absl::MakeSpan(out)),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << what;
    EXPECT_THAT(out, Each(Eq(0))) << what;
    ++cases;
  };
  ::veil::testing::ForEachBitFlip(ct, [&](const ::veil::testing::Mutation& m) {
    expect_rejected("ciphertext " + m.what, m.bytes, tag, aad);
  });
  ::veil::testing::ForEachBitFlip(tag, [&](const ::veil::testing::Mutation& m) {
    expect_rejected("tag " + m.what, ct, m.bytes, aad);
  });
  ::veil::testing::ForEachBitFlip(aad, [&](const ::veil::testing::Mutation& m) {
    expect_rejected("aad " + m.what, ct, tag, m.bytes);
  });
  EXPECT_EQ(cases, 8 * (40 + 16 + 13));

  // Truncated and extended ciphertext ‖ tag, and a different IV.
  ::veil::testing::ForEachTruncation(sealed, [&](const ::veil::testing::Mutation& m) {
    EXPECT_FALSE(gcm->OpenToSecret(iv, aad, m.bytes).ok()) << m.what;
  });
  ::veil::testing::ForEachAppend(sealed, [&](const ::veil::testing::Mutation& m) {
    EXPECT_FALSE(gcm->OpenToSecret(iv, aad, m.bytes).ok()) << m.what;
  });
  std::vector<uint8_t> other_iv = iv;
  other_iv[11] ^= 0x80;
  EXPECT_THAT(gcm->OpenToSecret(other_iv, aad, sealed),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // The untouched original still opens.
  VEIL_EXPECT_OK(gcm->OpenToSecret(iv, aad, sealed));
}

TEST(AesGcmTest, AllAuthenticationFailuresLookTheSame) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto gcm, AesGcm::New(H("00000000000000000000000000000000")));
  const std::vector<uint8_t> iv(kGcmIvSize), pt(16);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sealed, gcm->SealToVector(iv, {}, pt));
  std::vector<uint8_t> bad_ct = sealed, bad_tag = sealed;
  bad_ct[0] ^= 1;
  bad_tag.back() ^= 1;
  const absl::Status a = gcm->OpenToSecret(iv, {}, bad_ct).status();
  const absl::Status b = gcm->OpenToSecret(iv, {}, bad_tag).status();
  const absl::Status c = gcm->OpenToSecret(iv, std::vector<uint8_t>{1}, sealed).status();
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

TEST(AesGcmTest, RejectsInvalidKeySizes) {
  for (size_t len = 0; len <= 64; ++len) {
    const std::vector<uint8_t> key(len, 0x42);
    auto gcm = AesGcm::New(key);
    if (len == 16 || len == 24 || len == 32) {
      EXPECT_THAT(gcm, IsOk()) << len;
    } else {
      EXPECT_THAT(gcm, StatusIs(absl::StatusCode::kInvalidArgument)) << len;
    }
  }
}

TEST(AesGcmTest, RejectsBadSizesAndZeroesOpenOutput) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto gcm, AesGcm::New(std::vector<uint8_t>(16)));
  const std::vector<uint8_t> pt(20, 7);
  std::vector<uint8_t> ct(20), tag(kGcmTagSize);
  for (size_t iv_len : {0u, 8u, 11u, 13u, 16u}) {
    const std::vector<uint8_t> iv(iv_len);
    EXPECT_THAT(gcm->Seal(iv, {}, pt, absl::MakeSpan(ct), absl::MakeSpan(tag)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << iv_len;
    std::vector<uint8_t> out(20, 0xAA);
    EXPECT_THAT(gcm->Open(iv, {}, ct, tag, absl::MakeSpan(out)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << iv_len;
    EXPECT_THAT(out, Each(Eq(0)));
  }
  const std::vector<uint8_t> iv(kGcmIvSize);
  for (size_t tag_len : {0u, 4u, 12u, 15u, 17u}) {
    std::vector<uint8_t> short_tag(tag_len);
    EXPECT_THAT(gcm->Seal(iv, {}, pt, absl::MakeSpan(ct), absl::MakeSpan(short_tag)),
                StatusIs(absl::StatusCode::kInvalidArgument));
    std::vector<uint8_t> out(20, 0xAA);
    EXPECT_THAT(gcm->Open(iv, {}, ct, short_tag, absl::MakeSpan(out)),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(out, Each(Eq(0)));
  }
  std::vector<uint8_t> short_ct(19);
  EXPECT_THAT(gcm->Seal(iv, {}, pt, absl::MakeSpan(short_ct), absl::MakeSpan(tag)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint8_t> short_out(19, 0xAA);
  EXPECT_THAT(gcm->Open(iv, {}, ct, tag, absl::MakeSpan(short_out)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(short_out, Each(Eq(0)));
  // Partially overlapping buffers are refused; exact aliasing is allowed.
  std::vector<uint8_t> buf(40, 1);
  EXPECT_THAT(gcm->Seal(iv, {}, absl::MakeConstSpan(buf).first(20),
                        absl::MakeSpan(buf).subspan(1, 20), absl::MakeSpan(tag)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(gcm->OpenToSecret(iv, {}, std::vector<uint8_t>(kGcmTagSize - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace veil::crypto
