#include "veil/crypto/ecdsa.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/crypto/random.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"

namespace veil::crypto {
namespace {

using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

struct CurveCase {
  EcCurve curve;
  const char* name;
  size_t compressed_len;
  size_t fixed_sig_len;
};

const CurveCase kCurves[] = {{EcCurve::kP256, "P256", 33, 71}, {EcCurve::kP384, "P384", 49, 103}};

absl::StatusOr<std::vector<uint8_t>> Sign(EcdsaSigner& signer, absl::Span<const uint8_t> msg,
                                          bool fixed) {
  // Feed in two pieces to exercise incremental hashing.
  VEIL_RETURN_IF_ERROR(signer.Update(msg.first(msg.size() / 2)));
  VEIL_RETURN_IF_ERROR(signer.Update(msg.subspan(msg.size() / 2)));
  return signer.Finish(fixed);
}

absl::Status Verify(EcCurve curve, absl::Span<const uint8_t> point, absl::Span<const uint8_t> msg,
                    absl::Span<const uint8_t> sig) {
  VEIL_ASSIGN_OR_RETURN(auto verifier, EcdsaVerifier::FromPoint(curve, point));
  VEIL_RETURN_IF_ERROR(verifier->Update(msg));
  return verifier->Finish(sig);
}

class EcdsaTest : public ::testing::TestWithParam<CurveCase> {};

TEST_P(EcdsaTest, SignVerifyRoundTrip) {
  const CurveCase& c = GetParam();
  for (size_t len : {0u, 1u, 100u, 5000u}) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto signer, EcdsaSigner::Generate(c.curve));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> msg, RandomBytes(len));
    for (bool fixed : {false, true}) {
      VEIL_ASSERT_OK_AND_ASSIGN(
          auto s, EcdsaSigner::FromPrivateKeyDer(c.curve, signer->PrivateKeyDer()->Expose()));
      VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sig, Sign(*s, msg, fixed));
      EXPECT_LE(sig.size(), c.fixed_sig_len + 1);
      VEIL_EXPECT_OK(Verify(c.curve, signer->CompressedPublicKey(), msg, sig)) << len;
    }
  }
}

TEST_P(EcdsaTest, FixedLengthSignaturesAlwaysHaveMaximalLength) {
  const CurveCase& c = GetParam();
  VEIL_ASSERT_OK_AND_ASSIGN(auto key, EcdsaSigner::Generate(c.curve));
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes der, key->PrivateKeyDer());
  const std::vector<uint8_t> point = key->CompressedPublicKey();
  for (int i = 0; i < 200; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto signer, EcdsaSigner::FromPrivateKeyDer(c.curve, der.Expose()));
    const std::vector<uint8_t> msg = {static_cast<uint8_t>(i), 1, 2, 3};
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sig, Sign(*signer, msg, /*fixed=*/true));
    ASSERT_EQ(sig.size(), c.fixed_sig_len) << "run " << i;
    VEIL_ASSERT_OK(Verify(c.curve, point, msg, sig)) << "run " << i;
  }
}

TEST_P(EcdsaTest, CompressedPointHasSec1Form) {
  const CurveCase& c = GetParam();
  for (int i = 0; i < 10; ++i) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto signer, EcdsaSigner::Generate(c.curve));
    const std::vector<uint8_t> point = signer->CompressedPublicKey();
    ASSERT_EQ(point.size(), c.compressed_len);
    EXPECT_TRUE(point[0] == 0x02 || point[0] == 0x03);
    VEIL_EXPECT_OK(EcdsaVerifier::FromPoint(c.curve, point));
  }
}

TEST_P(EcdsaTest, RejectsTamperedMessageAndSignature) {
  const CurveCase& c = GetParam();
  VEIL_ASSERT_OK_AND_ASSIGN(auto signer, EcdsaSigner::Generate(c.curve));
  const std::vector<uint8_t> point = signer->CompressedPublicKey();
  const std::vector<uint8_t> msg(AsBytes("attack at dawn").begin(),
                                 AsBytes("attack at dawn").end());
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sig, Sign(*signer, msg, /*fixed=*/true));
  VEIL_ASSERT_OK(Verify(c.curve, point, msg, sig));

  ::veil::testing::ForEachBitFlip(msg, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(Verify(c.curve, point, m.bytes, sig), StatusIs(absl::StatusCode::kUnauthenticated))
        << "message " << m.what;
  });
  ::veil::testing::ForEachBitFlip(sig, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(Verify(c.curve, point, msg, m.bytes), StatusIs(absl::StatusCode::kUnauthenticated))
        << "signature " << m.what;
  });
  ::veil::testing::ForEachTruncation(sig, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(Verify(c.curve, point, msg, m.bytes), StatusIs(absl::StatusCode::kUnauthenticated))
        << "signature " << m.what;
  });
  ::veil::testing::ForEachAppend(sig, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(Verify(c.curve, point, msg, m.bytes), StatusIs(absl::StatusCode::kUnauthenticated))
        << "signature " << m.what;
  });
  // Another key's signature.
  VEIL_ASSERT_OK_AND_ASSIGN(auto other, EcdsaSigner::Generate(c.curve));
  EXPECT_THAT(Verify(c.curve, other->CompressedPublicKey(), msg, sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_P(EcdsaTest, SignerAndVerifierAreSingleUse) {
  const CurveCase& c = GetParam();
  VEIL_ASSERT_OK_AND_ASSIGN(auto signer, EcdsaSigner::Generate(c.curve));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> sig, signer->Finish(false));
  EXPECT_THAT(signer->Update(sig), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(signer->Finish(false), StatusIs(absl::StatusCode::kFailedPrecondition));
  VEIL_ASSERT_OK_AND_ASSIGN(auto verifier,
                            EcdsaVerifier::FromPoint(c.curve, signer->CompressedPublicKey()));
  VEIL_ASSERT_OK(verifier->Finish(sig));
  EXPECT_THAT(verifier->Finish(sig), StatusIs(absl::StatusCode::kFailedPrecondition));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaTest, ::testing::ValuesIn(kCurves),
                         [](const ::testing::TestParamInfo<CurveCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(EcdsaPointTest, RejectsMalformedAndOffCurvePoints) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto signer, EcdsaSigner::Generate(EcCurve::kP256));
  const std::vector<uint8_t> point = signer->CompressedPublicKey();
  // Wrong curve for the length.
  EXPECT_THAT(EcdsaVerifier::FromPoint(EcCurve::kP384, point),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Hybrid (06/07), infinity (00) and other prefixes.
  for (uint8_t prefix : {0x00, 0x01, 0x04, 0x05, 0x06, 0x07}) {
    std::vector<uint8_t> p = point;
    p[0] = prefix;
    EXPECT_THAT(EcdsaVerifier::FromPoint(EcCurve::kP256, p),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << static_cast<int>(prefix);
  }
  EXPECT_THAT(EcdsaVerifier::FromPoint(EcCurve::kP256, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // An uncompressed point (x, y + 1) is not on the curve. The generator of
  // P-256 (SEC 2, section 2.4.2) is used with its y changed.
  auto g = HexDecode(
      "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  ASSERT_TRUE(g.ok());
  VEIL_EXPECT_OK(EcdsaVerifier::FromPoint(EcCurve::kP256, *g));
  std::vector<uint8_t> off = *g;
  off.back() ^= 1;
  EXPECT_THAT(EcdsaVerifier::FromPoint(EcCurve::kP256, off),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EcdsaKeyTest, PrivateKeyDerRoundTripAndCurveCheck) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto p256, EcdsaSigner::Generate(EcCurve::kP256));
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes der, p256->PrivateKeyDer());
  VEIL_ASSERT_OK_AND_ASSIGN(auto loaded,
                            EcdsaSigner::FromPrivateKeyDer(EcCurve::kP256, der.Expose()));
  EXPECT_EQ(loaded->CompressedPublicKey(), p256->CompressedPublicKey());
  EXPECT_THAT(EcdsaSigner::FromPrivateKeyDer(EcCurve::kP384, der.Expose()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint8_t> trailing(der.Expose().begin(), der.Expose().end());
  trailing.push_back(0);
  EXPECT_THAT(EcdsaSigner::FromPrivateKeyDer(EcCurve::kP256, trailing),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EcdsaSigner::FromPrivateKeyDer(EcCurve::kP256, der.Expose().first(der.size() - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EcdsaVerifier::FromSpkiDer(EcCurve::kP256, der.Expose()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace veil::crypto
