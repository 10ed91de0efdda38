#include "veil/esdk/esdk.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/crypto/random.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/multi_keyring.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/esdk/raw_rsa_keyring.h"
#include "veil/esdk/required_ec_cmm.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"

namespace veil::esdk {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

std::shared_ptr<const Keyring> AesKeyring(const std::string& name = "key-a", uint8_t fill = 7,
                                          size_t len = 32) {
  std::vector<uint8_t> key(len, fill);
  return std::shared_ptr<const Keyring>(
      std::move(RawAesKeyring::Create("veil-test", name, SecretBytes::Copy(key)).value()));
}

std::vector<uint8_t> Pattern(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + 7);
  return v;
}

std::vector<uint8_t> Bytes(const SecretBytes& s) {
  return std::vector<uint8_t>(s.Expose().begin(), s.Expose().end());
}

EncryptOptions Options(uint16_t suite, uint32_t frame = 4096) {
  EncryptOptions o;
  o.suite_id = suite;
  o.frame_length = frame;
  o.commitment_policy = FindSuite(suite)->committing ? CommitmentPolicy::kRequireEncryptRequireDecrypt
                                                     : CommitmentPolicy::kForbidEncryptAllowDecrypt;
  o.encryption_context = {{"tenant", "acme"}, {"purpose", "ml-inference"}};
  return o;
}

DecryptOptions AllowAll() {
  DecryptOptions o;
  o.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;
  return o;
}

struct RoundTripCase {
  uint16_t suite;
  uint32_t frame;
  size_t size;
};

class EsdkRoundTripTest : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(EsdkRoundTripTest, DecryptInvertsEncrypt) {
  const auto [suite, frame, size] = GetParam();
  auto keyring = AesKeyring();
  const auto plaintext = Pattern(size);
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring, plaintext, Options(suite, frame)));
  VEIL_ASSERT_OK_AND_ASSIGN(auto result, Decrypt(keyring, ct, AllowAll()));
  EXPECT_EQ(Bytes(result.plaintext), plaintext);
  EXPECT_EQ(result.info.suite_id, suite);
  EXPECT_EQ(result.info.frame_length, frame);
  EXPECT_EQ(result.info.encryption_context.at("tenant"), "acme");
  EXPECT_EQ(result.info.encryption_context.contains(kPublicKeyContextKey),
            FindSuite(suite)->signed_suite());
}

std::vector<RoundTripCase> RoundTripCases() {
  std::vector<RoundTripCase> cases;
  for (uint16_t suite : {0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378,
                         0x0478, 0x0578}) {
    for (size_t size : {0, 1, 4095, 4096, 4097, 10000}) cases.push_back({suite, 4096, size});
  }
  for (uint32_t frame : {1u, 7u, 65536u}) {
    for (size_t size : {0, 1, 7, 8, 100, 65536, 65537}) cases.push_back({0x0478, frame, size});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllSuitesAndFrames, EsdkRoundTripTest, ::testing::ValuesIn(RoundTripCases()),
                         [](const auto& info) {
                           char buf[64];
                           std::snprintf(buf, sizeof(buf), "suite%04X_frame%u_size%zu",
                                         info.param.suite, info.param.frame, info.param.size);
                           return std::string(buf);
                         });

TEST(EsdkTest, DefaultsToSignedCommittingSuiteAnd4096Frames) {
  auto keyring = AesKeyring();
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring, Pattern(10), EncryptOptions{}));
  ASSERT_GE(ct.size(), 3u);
  EXPECT_EQ(ct[0], 0x02);
  EXPECT_EQ(ct[1], 0x05);
  EXPECT_EQ(ct[2], 0x78);
  VEIL_ASSERT_OK_AND_ASSIGN(auto result, Decrypt(keyring, ct, DecryptOptions{}));
  EXPECT_EQ(result.info.frame_length, 4096u);
}

TEST(EsdkTest, CiphertextLengthIsExact) {
  auto cmm = DefaultCmm::Create(AesKeyring());
  for (uint16_t suite : {0x0478, 0x0578, 0x0214}) {
    for (size_t size : {0, 1, 100, 4096, 9000}) {
      auto enc = MessageEncryptor::Create(*cmm, Options(suite, 100), size).value();
      std::vector<uint8_t> out;
      VEIL_ASSERT_OK(enc->Update(Pattern(size), &out));
      VEIL_ASSERT_OK(enc->Finish(&out));
      EXPECT_EQ(out.size(), enc->CiphertextLength(size)) << suite << " " << size;
    }
  }
}

TEST(EsdkTest, CommitmentPolicyIsEnforced) {
  auto keyring = AesKeyring();
  // Encrypt: an explicitly requested suite the policy forbids is an error.
  EncryptOptions o = Options(0x0478);
  o.commitment_policy = CommitmentPolicy::kForbidEncryptAllowDecrypt;
  EXPECT_THAT(Encrypt(keyring, Pattern(4), o), StatusIs(absl::StatusCode::kInvalidArgument));
  o = Options(0x0178);
  o.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;
  EXPECT_THAT(Encrypt(keyring, Pattern(4), o), StatusIs(absl::StatusCode::kInvalidArgument));
  // FORBID defaults to a non-committing signed suite.
  o = EncryptOptions{};
  o.commitment_policy = CommitmentPolicy::kForbidEncryptAllowDecrypt;
  VEIL_ASSERT_OK_AND_ASSIGN(auto legacy, Encrypt(keyring, Pattern(4), o));
  EXPECT_EQ(legacy[0], 0x01);
  // Decrypt: the strict policy refuses non-committing messages before any
  // keyring is asked; the permissive ones accept them.
  EXPECT_THAT(Decrypt(keyring, legacy, DecryptOptions{}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  VEIL_EXPECT_OK(Decrypt(keyring, legacy, AllowAll()));
  DecryptOptions forbid;
  forbid.commitment_policy = CommitmentPolicy::kForbidEncryptAllowDecrypt;
  VEIL_EXPECT_OK(Decrypt(keyring, legacy, forbid));
}

TEST(EsdkTest, ReservedContextKeysAreRefused) {
  EncryptOptions o;
  o.encryption_context = {{"aws-crypto-anything", "x"}};
  EXPECT_THAT(Encrypt(AesKeyring(), Pattern(4), o), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EsdkTest, FrameLengthZeroIsRefused) {
  EncryptOptions o;
  o.frame_length = 0;
  EXPECT_THAT(Encrypt(AesKeyring(), Pattern(4), o), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EsdkTest, MaxEncryptedDataKeysOnEncryptAndDecrypt) {
  auto multi = std::shared_ptr<const Keyring>(
      MultiKeyring::Create(AesKeyring("a", 1), {AesKeyring("b", 2), AesKeyring("c", 3)}).value());
  EncryptOptions o;
  o.max_encrypted_data_keys = 2;
  EXPECT_THAT(Encrypt(multi, Pattern(4), o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.max_encrypted_data_keys = 3;
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(multi, Pattern(4), o));
  DecryptOptions d;
  d.max_encrypted_data_keys = 2;
  EXPECT_THAT(Decrypt(multi, ct, d), StatusIs(absl::StatusCode::kInvalidArgument));
  d.max_encrypted_data_keys = 3;
  VEIL_EXPECT_OK(Decrypt(multi, ct, d));
  // Any one member keyring can decrypt alone.
  VEIL_EXPECT_OK(Decrypt(AesKeyring("c", 3), ct, DecryptOptions{}));
}

TEST(EsdkTest, WrongKeyIsPermissionDeniedNotAuthentication) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(AesKeyring("a", 1), Pattern(4), EncryptOptions{}));
  EXPECT_THAT(Decrypt(AesKeyring("a", 2), ct, DecryptOptions{}),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Decrypt(AesKeyring("other", 1), ct, DecryptOptions{}),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST(EsdkTest, ReproducedContextMustMatch) {
  auto keyring = AesKeyring();
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring, Pattern(4), Options(0x0478)));
  DecryptOptions d;
  d.reproduced_encryption_context = {{"tenant", "acme"}};
  VEIL_EXPECT_OK(Decrypt(keyring, ct, d));
  d.reproduced_encryption_context = {{"tenant", "globex"}};
  EXPECT_THAT(Decrypt(keyring, ct, d), StatusIs(absl::StatusCode::kInvalidArgument));
  // A pair that is not stored becomes authenticate-only, and fails the
  // header tag (and the raw AES unwrap, which binds the full context).
  d.reproduced_encryption_context = {{"extra", "x"}};
  EXPECT_FALSE(Decrypt(keyring, ct, d).ok());
}

TEST(EsdkTest, RequiredContextKeysAreAuthenticatedButNotStored) {
  auto keyring = AesKeyring();
  std::shared_ptr<CryptoMaterialsManager> base = DefaultCmm::Create(keyring);
  auto cmm = RequiredEncryptionContextCmm::Create(base, {"request"}).value();
  EncryptOptions o = Options(0x0578);
  o.encryption_context["request"] = "req-123456789";
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(*cmm, Pattern(50), o));
  const std::string text(ct.begin(), ct.end());
  EXPECT_EQ(text.find("req-123456789"), std::string::npos);
  EXPECT_NE(text.find("acme"), std::string::npos);

  DecryptOptions d;
  EXPECT_FALSE(Decrypt(*cmm, ct, d).ok());  // the CMM demands the key
  EXPECT_FALSE(Decrypt(*base, ct, d).ok());  // without it the tag fails
  d.reproduced_encryption_context = {{"request", "req-other"}};
  EXPECT_FALSE(Decrypt(*cmm, ct, d).ok());
  d.reproduced_encryption_context = {{"request", "req-123456789"}};
  VEIL_ASSERT_OK_AND_ASSIGN(auto result, Decrypt(*cmm, ct, d));
  EXPECT_EQ(Bytes(result.plaintext), Pattern(50));
  EXPECT_EQ(result.info.encryption_context.at("request"), "req-123456789");
  // Encrypting without the required key fails.
  o.encryption_context.erase("request");
  EXPECT_THAT(Encrypt(*cmm, Pattern(5), o), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(EsdkTest, RsaKeyringsRoundTripEveryPadding) {
  auto key = crypto::RsaPrivateKey::Generate(2048).value();
  const std::string pub = key->PublicKeyPem().value();
  const SecretBytes priv = key->PrivateKeyPem().value();
  for (const char* padding : {"pkcs1", "oaep-sha1", "oaep-sha256", "oaep-sha384", "oaep-sha512"}) {
    SCOPED_TRACE(padding);
    auto pad = ParseRsaPadding(padding).value();
    std::shared_ptr<const Keyring> enc(RawRsaKeyring::Create("veil-rsa", "k", pad, pub, "").value());
    std::shared_ptr<const Keyring> dec(
        RawRsaKeyring::Create("veil-rsa", "k", pad, "", AsStringView(priv.Expose())).value());
    VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(enc, Pattern(300), EncryptOptions{}));
    VEIL_ASSERT_OK_AND_ASSIGN(auto result, Decrypt(dec, ct, DecryptOptions{}));
    EXPECT_EQ(Bytes(result.plaintext), Pattern(300));
    EXPECT_FALSE(Decrypt(enc, ct, DecryptOptions{}).ok());  // no private key
  }
}

TEST(EsdkTest, StreamingInRandomPiecesMatchesOneShot) {
  std::mt19937 rng(42);
  auto keyring = AesKeyring();
  auto cmm = DefaultCmm::Create(keyring);
  for (uint16_t suite : {0x0478, 0x0578}) {
    const auto plaintext = Pattern(50000);
    auto enc = MessageEncryptor::Create(*cmm, Options(suite, 1000)).value();
    std::vector<uint8_t> ct;
    for (size_t off = 0; off < plaintext.size();) {
      size_t n = std::min<size_t>(rng() % 3000, plaintext.size() - off);
      VEIL_ASSERT_OK(enc->Update(absl::MakeConstSpan(plaintext).subspan(off, n), &ct));
      off += n;
    }
    VEIL_ASSERT_OK(enc->Finish(&ct));
    auto dec = MessageDecryptor::Create(*cmm, DecryptOptions{});
    SecretBytes out;
    for (size_t off = 0; off < ct.size();) {
      size_t n = std::min<size_t>(rng() % 3000, ct.size() - off);
      VEIL_ASSERT_OK(dec->Update(absl::MakeConstSpan(ct).subspan(off, n), &out));
      off += n;
    }
    VEIL_ASSERT_OK(dec->Finish(&out));
    EXPECT_EQ(Bytes(out), plaintext);
  }
}

TEST(EsdkTest, SignedFinalFrameIsHeldUntilTheSignatureVerifies) {
  auto cmm = DefaultCmm::Create(AesKeyring());
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(*cmm, Pattern(250), Options(0x0578, 100)));
  auto dec = MessageDecryptor::Create(*cmm, DecryptOptions{});
  SecretBytes out;
  // Everything but the last footer byte: two regular frames are released,
  // the 50-byte final frame is not.
  VEIL_ASSERT_OK(dec->Update(absl::MakeConstSpan(ct).first(ct.size() - 1), &out));
  EXPECT_EQ(out.size(), 200u);
  VEIL_ASSERT_OK(dec->Update(absl::MakeConstSpan(ct).last(1), &out));
  VEIL_ASSERT_OK(dec->Finish(&out));
  EXPECT_EQ(Bytes(out), Pattern(250));

  // With a bad signature the final frame is never released.
  ct.back() ^= 1;
  auto dec2 = MessageDecryptor::Create(*cmm, DecryptOptions{});
  SecretBytes out2;
  EXPECT_THAT(dec2->Update(ct, &out2), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(out2.size(), 200u);
  EXPECT_FALSE(dec2->Finish(&out2).ok());
  EXPECT_EQ(out2.size(), 200u);
}

TEST(EsdkTest, RefuseSignedSuitesSwitch) {
  auto keyring = AesKeyring();
  VEIL_ASSERT_OK_AND_ASSIGN(auto signed_ct, Encrypt(keyring, Pattern(4), Options(0x0578)));
  VEIL_ASSERT_OK_AND_ASSIGN(auto unsigned_ct, Encrypt(keyring, Pattern(4), Options(0x0478)));
  DecryptOptions d;
  d.refuse_signed_suites = true;
  EXPECT_THAT(Decrypt(keyring, signed_ct, d), StatusIs(absl::StatusCode::kPermissionDenied));
  VEIL_EXPECT_OK(Decrypt(keyring, unsigned_ct, d));
}

TEST(EsdkTest, Base64InputGetsAHelpfulError) {
  for (const char* text : {"AgV4bWVzc2FnZQ==", "AYAAFGJ1dA=="}) {
    std::vector<uint8_t> b(text, text + strlen(text));
    auto r = Decrypt(AesKeyring(), b, DecryptOptions{});
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr("Base64"));
  }
}

TEST(EsdkTest, EmptyAndGarbageInputAreErrorsNotCrashes) {
  auto keyring = AesKeyring();
  EXPECT_THAT(Decrypt(keyring, {}, DecryptOptions{}), StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint8_t> junk = {0x02, 0x05, 0x78, 0x00};
  EXPECT_THAT(Decrypt(keyring, junk, DecryptOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  junk = {0x03, 0x00};
  EXPECT_THAT(Decrypt(keyring, junk, DecryptOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// Tamper tests (STYLE.md C10): every single-bit flip, every truncation and
// appended bytes of a small message of each suite family are rejected.
class EsdkTamperTest : public ::testing::TestWithParam<uint16_t> {};

TEST_P(EsdkTamperTest, EveryModificationIsRejected) {
  const uint16_t suite = GetParam();
  auto keyring = AesKeyring();
  auto cmm = DefaultCmm::Create(keyring);
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(*cmm, Pattern(40), Options(suite, 16)));
  DecryptOptions d = AllowAll();
  VEIL_ASSERT_OK(Decrypt(*cmm, ct, d));
  size_t checked = 0;
  auto expect_rejected = [&](const testing::Mutation& m) {
    auto r = Decrypt(*cmm, m.bytes, d);
    ++checked;
    if (r.ok()) ADD_FAILURE() << "accepted after " << m.what;
  };
  testing::ForEachBitFlip(ct, expect_rejected);
  testing::ForEachTruncation(ct, expect_rejected);
  testing::ForEachAppend(ct, expect_rejected);
  EXPECT_EQ(checked, ct.size() * 8 + ct.size() + 3);
}

INSTANTIATE_TEST_SUITE_P(SuiteFamilies, EsdkTamperTest,
                         ::testing::Values(0x0014, 0x0178, 0x0214, 0x0378, 0x0478, 0x0578),
                         [](const auto& info) {
                           char buf[16];
                           std::snprintf(buf, sizeof(buf), "suite%04X", info.param);
                           return std::string(buf);
                         });

TEST(EsdkTest, AuthenticationFailuresShareOneMessage) {
  auto keyring = AesKeyring();
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keyring, Pattern(40), Options(0x0578, 16)));
  std::set<std::string> messages;
  // Flip a bit in the commit key, the header tag, a frame tag and the signature.
  const size_t header_end = ct.size() - 2 - 103 - (4 + 4 + 12 + 4 + 8 + 16) - 2 * (4 + 12 + 16 + 16);
  for (size_t pos : {header_end - 17, header_end - 1, header_end + 20, ct.size() - 5}) {
    auto m = ct;
    m[pos] ^= 0x10;
    auto r = Decrypt(keyring, m, DecryptOptions{});
    ASSERT_FALSE(r.ok());
    if (r.status().code() == absl::StatusCode::kUnauthenticated) {
      messages.insert(std::string(r.status().message()));
    }
  }
  EXPECT_EQ(messages, std::set<std::string>{kAuthenticationFailedMessage});
}

}  // namespace
}  // namespace veil::esdk
