#include "veil/crypto/rsa.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/crypto/ecdsa.h"
#include "veil/crypto/random.h"
#include "veil/testing/status_matchers.h"

namespace veil::crypto {
namespace {

using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

// A 2048-bit test key made for this file with
//   openssl genrsa -traditional 2048
//   openssl rsa -pubout
//   openssl rsa -traditional -aes256 -passout pass:veil-test
// It protects nothing.
constexpr char kPkcs1PrivatePem[] = R"(-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAh253qqGru9G5PIPCG3Jq0Vz4x144gX2k8NJ1cj0sELmlWlVA
d5HuaA+6XXS5ylMqzqtIT2tjwYNVoA7A0b61mb5yUJLFQzFnRXoQevUSoCtIuP6j
t48hHGWlJj671VsNTEMBkG8tZ093jmBE5QSI+uTiv05YaoF7UuPQfaueHsvrr4SO
cnN2X+vhXqD9MVUcThtWB1cJvDQHEEH6AcuKzIFt1RR0Cq7LU4ixAf3T42tKXxRd
IjHYiPIwlnH52r51JCaDo6O9y0LzETgbBBznQ9jhyB5cymHdYj0QZFN5U2byuAJz
2TQlK82yITjvnuQreNBnUk0tZKvP+plqADZ7zQIDAQABAoIBAADTEheZhngLEcRX
7iOKmsw9mcZ2JUR8rlEIraOIH1+awoep+SuM6qM66WptRXoWkaFdPGrx5KRDPL4Y
bbKnD/TvG4hJ4HUhDEjA4XiBGFlAC88tcY1Y8lckGb4SpZl2q+S8reTXhxkNOyZi
TBZpCwqCyNjw4AvB0CTXMT9/JWyjh+Bxil9mM+tL/qkbtuHB9D7/KtKVjl5A8IV3
pfQvuV4HYZhr3pU1lX5FRBy830thCx1wMSnVeiYlrYOO8bhYHnUIJ/AygBeuVny6
zaCr8/fZGehDF8ElYOcIVVLvOZ1MGVuuP7i7CyhXtZbA9MuGxqE0ugXRH1J5om7P
cZdPxAkCgYEAvEWdIklOUgi49nSYLvk9k4DEp0frHGG6NeId1PWBcIo8Qx+oXMfW
YJ/WlpfcorkZTKTJ+zp3exANKt0M20SnsJ6gEQbKx9xg29vCTTNictlmmvmqGhs6
tKjQ/3JDGnIOAoRxUAKbsCz8inX2jsbhzR23YmJeqqNZLJCgJImePQUCgYEAuCap
JFC6Ylq9hskn/AR12grv8fJprg+acEzc20qrjZ9JRLbmLgf/Ppj8uaS7LySxQXat
9mTc3R6qBG2tZv21aPXYS9Lxu/PN45QQZnQ6cfoYWT6s4mzk4+m5hH3rMFZGpfpO
vY3V5pVlm62auJDZg505ci3UsTCAoKBNhD5RvikCgYBUZJwQH24FJbXLe+4vuDea
4/DCz2Ebgs8WkjovGLGiAcULjahJlqaI/30QWhhjtLcbfQ6xF78xIbvVR+sYaskE
ScaUe0fwmN+uDe8l7e+mbb8pntpaA3SoQLgWmWBs/U08YaPtao3hRfkaE9CmpY3Y
BQcMCe5HbRtu95Fhb3LIBQKBgHn5WZVtR1c4RUsO2EYsaidHkVEPwQIC4ce6kZtK
5UDEHdK+1s3sjBtZWCRawYVjZ2k2A9otSsHHutN+FhoeuFdSZ7cpfOaCgYBZJVfH
aqLuBcyvH/JGMIHp4PCqOurkap0ro5YYaXL2x7uLDO1tPDXaIR/IzZWjy78ZDt8m
LBypAoGAJ/4VCiC6XcVI/0IhwYnSe6yNA8A3AU6d618HYxUZfYtJIzZDNoJpW4iN
maWtkL6IkHKCzXKkQzqgEzjtibrJNAo58dgt8tDoKzNUG6joR1vlRaEMW9Myudk3
FTk3w8WF4yehq6M7C6OHfjy1clFvkIh9RHG420WRIU8okN7ovBA=
-----END RSA PRIVATE KEY-----
)";
constexpr char kPublicPem[] = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAh253qqGru9G5PIPCG3Jq
0Vz4x144gX2k8NJ1cj0sELmlWlVAd5HuaA+6XXS5ylMqzqtIT2tjwYNVoA7A0b61
mb5yUJLFQzFnRXoQevUSoCtIuP6jt48hHGWlJj671VsNTEMBkG8tZ093jmBE5QSI
+uTiv05YaoF7UuPQfaueHsvrr4SOcnN2X+vhXqD9MVUcThtWB1cJvDQHEEH6AcuK
zIFt1RR0Cq7LU4ixAf3T42tKXxRdIjHYiPIwlnH52r51JCaDo6O9y0LzETgbBBzn
Q9jhyB5cymHdYj0QZFN5U2byuAJz2TQlK82yITjvnuQreNBnUk0tZKvP+plqADZ7
zQIDAQAB
-----END PUBLIC KEY-----
)";
constexpr char kEncryptedPkcs1PrivatePem[] = R"(-----BEGIN RSA PRIVATE KEY-----
Proc-Type: 4,ENCRYPTED
DEK-Info: AES-256-CBC,6564DC1645CE2955E000ACCCCAE0EC45

3AVR0SQdFl1/lIYU6gbvhs8izyrUkVtx7cYvATG1/EKjY0ifPjLmhFvlMHtxq0WM
W3VVhtGKQIdBpczsTNMbZcuu8ndlTePV4eNliqgCtuCnKvAMvyWpv1lfzErkmftX
Zfiv6CnuYbg9FL3WzqwnUmdpqnwsNWZh8FKB5msBZwmZGO9HUBw+62uuvnTMZbgp
mlXpPGucl/OrWhIMF5eWmhoOXDgV6LlID/c2GtI/LbcP2lG0e8fMRHq3svWz3OpT
OtKgLEBxo5j/jrwDCtWEOJFuzph7mbGUhglYvlsFrZVko0QbgRf4nRsawmFRBjTu
JyVESU4vJb3vEA9uS0m5qOCpFLrfzswUipGvOpX6Lz17OAEVYXaOAJHSxfT8qiRt
UW911jLD8f8rvfvb2oQ8OjwUA8Az2oM6kbAFgsVPxid9OWhVd6nO9h2zlh56JL0/
MW56TrqbrKAHMgvHto9h3eROTe68FBo4YgXRijnf04ItITROR+a40BbYdlTSne8l
lycxkcMnICchGFYgpM5gExH2iyFIrbHjsKnfba56sblZ2Y8avYkfwKTunuqmR4CL
LaXM/s8X9nyzbcTXJKJ5Yqz9zJaaVArVw+s7TzlXiOLJ0oxF0m67tw0HbTQOcMZk
BbiL8eR3mXOYsRdeboy0tMb0Z0/2W83F2UToSYLoAGMzNdi9RasbU7ystonECQpv
ATMtWgzqZU4F16koASVO4kO5IWjbIqWplbogHQq/pzMKjulJbQuY+uzFW18cZtP7
mJJKoRLnaAcgjbwtMx7V2X5Ff7a1nZk9nS7mQd/iMZAI8rSS7n2+pjJ7ulSBWUOs
rNelbED2thRBC23Oa5ZKDDhG55QTcx6TGt8MXG1TXyG9Mx6qtehpNVzZfMkfkmxO
h3v7va5Sa+w9U3Ggzb8cRtL0aNuT110IPB6GbpYYaSKigsJsw+cxDrEt6S5Lu2lw
DtQdnwi2m6p52je7KhCwvlz/VtSIK96VFKFAZvg3ejFw3YBlRNuDcyx1Sd125moG
0Hocs2YVy+o3Z/zjAz8oRDJXtv7aVBSH1E3DjD/7ApOHdeDr3xEBFcHCdsa4gDTD
trGsXK8FtlkvSb6hNULb1SdpX8l4r/fIVAeTmyhRmjHPSFK65t/fQYlUI2WkL4m5
nnJC7aKauGQzFmsBGwd/4nSRBs4rtprO1NCqDGiJrQWFnwC/3gVwTtpYOomoCVyR
rGB0qiRwBUkod9h6z2fLyB/zrTCN6HjcMjJjw2x86ShGQ04hPGlzOT6SOBElV0JU
6pwhKqKIsTXjeWMQ+7XJwsXhlxKpGOKGjAxtbsO8bRhuLShNyi2b5HYjwO1pIPKv
P5TQhh5sLJsqXrDilP8pJW/ZTVrmzU/HzTKGw7K5Tuogvtc3KousKwZ58k4jHpqm
mtjgpuOK6pbH1xApgWSl87aQxnJxiiP7qIHN5I4d+Ml0ExR/nMsCweXxQ3U3LvXR
NNhAsVBbsHPqIzMVbCFmVm3mYEhKI0HKBK54maMjEJK8yLpHzYIsiqfTBVesAC0p
qlwj2JSSTprSytL6CvE8hT0rIassGT0SzRw1uBLiJA3uxdaHgtA3kfoZxAIkBdq/
-----END RSA PRIVATE KEY-----
)";

constexpr RsaPadding kAllPaddings[] = {RsaPadding::kPkcs1, RsaPadding::kOaepSha1,
                                       RsaPadding::kOaepSha256, RsaPadding::kOaepSha384,
                                       RsaPadding::kOaepSha512};

std::vector<uint8_t> ToVector(const SecretBytes& s) {
  return std::vector<uint8_t>(s.Expose().begin(), s.Expose().end());
}

class RsaTest : public ::testing::Test {
 protected:
  // Key generation is slow; one key pair serves every test in the suite.
  static void SetUpTestSuite() {
    auto key = RsaPrivateKey::Generate(2048);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::move(key).value().release();
    auto pem = key_->PublicKeyPem();
    ASSERT_TRUE(pem.ok()) << pem.status();
    auto pub = RsaPublicKey::FromPem(*pem);
    ASSERT_TRUE(pub.ok()) << pub.status();
    public_ = std::move(pub).value().release();
  }
  static void TearDownTestSuite() {
    delete key_;
    delete public_;
    key_ = nullptr;
    public_ = nullptr;
  }
  static RsaPrivateKey* key_;
  static RsaPublicKey* public_;
};

RsaPrivateKey* RsaTest::key_ = nullptr;
RsaPublicKey* RsaTest::public_ = nullptr;

TEST_F(RsaTest, RoundTripsEveryPadding) {
  ASSERT_NE(key_, nullptr);
  EXPECT_EQ(public_->ModulusBits(), 2048);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> data_key, RandomBytes(32));
  for (RsaPadding padding : kAllPaddings) {
    SCOPED_TRACE(static_cast<int>(padding));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct, public_->Encrypt(padding, data_key));
    EXPECT_EQ(ct.size(), 256u);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pt, key_->Decrypt(padding, ct));
    EXPECT_EQ(ToVector(pt), data_key);
    // Randomised padding: the same plaintext never encrypts the same way.
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct2, public_->Encrypt(padding, data_key));
    EXPECT_NE(ct, ct2);
    // Empty plaintext.
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> empty_ct, public_->Encrypt(padding, {}));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes empty_pt, key_->Decrypt(padding, empty_ct));
    EXPECT_TRUE(empty_pt.empty());
  }
}

TEST_F(RsaTest, OaepLabelIsBound) {
  ASSERT_NE(key_, nullptr);
  const std::vector<uint8_t> msg = {1, 2, 3, 4, 5};
  const std::vector<uint8_t> label(AsBytes("veil label").begin(), AsBytes("veil label").end());
  for (RsaPadding padding : {RsaPadding::kOaepSha1, RsaPadding::kOaepSha256,
                             RsaPadding::kOaepSha384, RsaPadding::kOaepSha512}) {
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct, public_->Encrypt(padding, msg, label));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pt, key_->Decrypt(padding, ct, label));
    EXPECT_EQ(ToVector(pt), msg);
    EXPECT_THAT(key_->Decrypt(padding, ct), StatusIs(absl::StatusCode::kUnauthenticated));
    std::vector<uint8_t> other_label = label;
    other_label[0] ^= 1;
    EXPECT_THAT(key_->Decrypt(padding, ct, other_label),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_THAT(public_->Encrypt(RsaPadding::kPkcs1, msg, label),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct, public_->Encrypt(RsaPadding::kPkcs1, msg));
  EXPECT_THAT(key_->Decrypt(RsaPadding::kPkcs1, ct, label),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RsaTest, WrongKeyOrPaddingFails) {
  ASSERT_NE(key_, nullptr);
  VEIL_ASSERT_OK_AND_ASSIGN(auto other, RsaPrivateKey::Generate(2048));
  const std::vector<uint8_t> msg(32, 0x5c);
  for (RsaPadding padding : kAllPaddings) {
    SCOPED_TRACE(static_cast<int>(padding));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct, public_->Encrypt(padding, msg));
    auto wrong = other->Decrypt(padding, ct);
    if (padding == RsaPadding::kPkcs1 && wrong.ok()) {
      // Implicit rejection (OpenSSL >= 3.2, see rsa.h) returns random bytes
      // instead of an error; they must still not be the message.
      EXPECT_NE(ToVector(*wrong), msg);
    } else {
      EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kUnauthenticated));
    }
  }
  // OAEP with the wrong hash.
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct,
                            public_->Encrypt(RsaPadding::kOaepSha256, msg));
  EXPECT_THAT(key_->Decrypt(RsaPadding::kOaepSha1, ct),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(key_->Decrypt(RsaPadding::kOaepSha512, ct),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Malformed ciphertexts: empty, short, long, all-ones (>= n).
  for (const std::vector<uint8_t>& bad :
       {std::vector<uint8_t>(), std::vector<uint8_t>(255, 1), std::vector<uint8_t>(257, 1),
        std::vector<uint8_t>(256, 0xff)}) {
    EXPECT_THAT(key_->Decrypt(RsaPadding::kOaepSha256, bad),
                StatusIs(absl::StatusCode::kUnauthenticated))
        << bad.size();
  }
  // Decryption failures carry no detail.
  const absl::Status a = key_->Decrypt(RsaPadding::kOaepSha1, ct).status();
  const absl::Status b =
      key_->Decrypt(RsaPadding::kOaepSha256, std::vector<uint8_t>(256, 0xff)).status();
  EXPECT_EQ(a, b);
}

TEST_F(RsaTest, RejectsOverlongPlaintext) {
  ASSERT_NE(key_, nullptr);
  // RFC 8017: PKCS#1 v1.5 takes k - 11 bytes, OAEP k - 2 hLen - 2.
  VEIL_EXPECT_OK(public_->Encrypt(RsaPadding::kPkcs1, std::vector<uint8_t>(245)));
  EXPECT_THAT(public_->Encrypt(RsaPadding::kPkcs1, std::vector<uint8_t>(246)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_EXPECT_OK(public_->Encrypt(RsaPadding::kOaepSha256, std::vector<uint8_t>(190)));
  EXPECT_THAT(public_->Encrypt(RsaPadding::kOaepSha256, std::vector<uint8_t>(191)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(RsaTest, PemRoundTrip) {
  ASSERT_NE(key_, nullptr);
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pem, key_->PrivateKeyPem());
  const std::string_view text = AsStringView(pem.Expose());
  EXPECT_EQ(text.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  VEIL_ASSERT_OK_AND_ASSIGN(auto reloaded, RsaPrivateKey::FromPem(text));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct,
                            public_->Encrypt(RsaPadding::kOaepSha256, std::vector<uint8_t>{7}));
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pt, reloaded->Decrypt(RsaPadding::kOaepSha256, ct));
  EXPECT_EQ(ToVector(pt), std::vector<uint8_t>{7});
  VEIL_ASSERT_OK_AND_ASSIGN(std::string pub_pem, key_->PublicKeyPem());
  EXPECT_EQ(pub_pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  VEIL_ASSERT_OK_AND_ASSIGN(std::string pub_pem2, reloaded->PublicKeyPem());
  EXPECT_EQ(pub_pem, pub_pem2);
}

TEST(RsaPemTest, LoadsPkcs1PrivateKeyAndSpkiPublicKey) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto priv, RsaPrivateKey::FromPem(kPkcs1PrivatePem));
  VEIL_ASSERT_OK_AND_ASSIGN(auto pub, RsaPublicKey::FromPem(kPublicPem));
  EXPECT_EQ(pub->ModulusBits(), 2048);
  VEIL_ASSERT_OK_AND_ASSIGN(std::string derived_pub, priv->PublicKeyPem());
  EXPECT_EQ(derived_pub, kPublicPem);
  const std::vector<uint8_t> msg = {0xde, 0xad, 0xbe, 0xef};
  for (RsaPadding padding : kAllPaddings) {
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ct, pub->Encrypt(padding, msg));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pt, priv->Decrypt(padding, ct));
    EXPECT_EQ(ToVector(pt), msg);
  }
}

TEST(RsaPemTest, RejectsBadPem) {
  // An encrypted key is an error, not a passphrase prompt.
  EXPECT_THAT(RsaPrivateKey::FromPem(kEncryptedPkcs1PrivatePem),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RsaPrivateKey::FromPem(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      RsaPrivateKey::FromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RsaPublicKey::FromPem(kPkcs1PrivatePem),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RsaPrivateKey::FromPem(kPublicPem), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RsaPrivateKey::FromPkcs8Der(std::vector<uint8_t>{0x30, 0x00}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A PKCS#8 EC key is not an RSA key.
  VEIL_ASSERT_OK_AND_ASSIGN(auto ec, EcdsaSigner::Generate(EcCurve::kP256));
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes ec_der, ec->PrivateKeyDer());
  EXPECT_THAT(RsaPrivateKey::FromPkcs8Der(ec_der.Expose()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RsaGenerateTest, RejectsWeakOrOddSizes) {
  for (int bits : {0, 512, 1024, 2047, 2049, 32768}) {
    EXPECT_THAT(RsaPrivateKey::Generate(bits), StatusIs(absl::StatusCode::kInvalidArgument))
        << bits;
  }
}

}  // namespace
}  // namespace veil::crypto
