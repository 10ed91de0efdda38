#include "veil/crypto/cms.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"
#include "veil/crypto/random.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"

namespace veil::crypto {
namespace {

namespace fs = std::filesystem;
using ::veil::testing::StatusIs;

std::unique_ptr<RsaPrivateKey> NewKey() {
  auto key = RsaPrivateKey::Generate(2048);
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(key).value();
}

std::vector<uint8_t> Spki(const RsaPrivateKey& key) {
  auto der = RecipientPublicKeyDer(key);
  EXPECT_TRUE(der.ok()) << der.status();
  return der.ok() ? *der : std::vector<uint8_t>();
}

SecretBytes DataKey() {
  auto k = RandomSecret(32);
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

// Find returns the offset of `needle` in `hay`, or npos.
size_t Find(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
}

// One shared key: RSA-2048 generation is slow, and the tests only read it.
class CmsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    key_ = NewKey().release();
    other_ = NewKey().release();
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
  }
  static RsaPrivateKey* key_;
  static RsaPrivateKey* other_;
};
RsaPrivateKey* CmsTest::key_ = nullptr;
RsaPrivateKey* CmsTest::other_ = nullptr;

TEST_F(CmsTest, RoundTrip) {
  for (size_t n : {0, 1, 15, 16, 32, 1024}) {
    SCOPED_TRACE(n);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes plaintext, RandomSecret(n));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(plaintext, Spki(*key_)));
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes got, DecryptEnvelopedData(cms, *key_));
    EXPECT_TRUE(std::equal(got.Expose().begin(), got.Expose().end(), plaintext.Expose().begin(),
                           plaintext.Expose().end()));
  }
}

TEST_F(CmsTest, OutputHasTheShapeKmsUses) {
  const SecretBytes plaintext = DataKey();
  const std::vector<uint8_t> spki = Spki(*key_);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(plaintext, spki));
  // ContentInfo SEQUENCE with indefinite length, then id-envelopedData.
  const std::vector<uint8_t> prefix = {0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                       0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
  ASSERT_GE(cms.size(), prefix.size());
  EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), cms.begin()));
  // rid [0] subjectKeyIdentifier: 32 bytes, SHA-256 of the SPKI.
  std::vector<uint8_t> rid = {0x80, 0x20};
  const std::vector<uint8_t> ski = Digest(HashAlgorithm::kSha256, spki);
  rid.insert(rid.end(), ski.begin(), ski.end());
  EXPECT_NE(Find(cms, rid), std::string::npos);
  // rsaesOaep, sha256, mgf1 and aes256-CBC object identifiers.
  EXPECT_NE(Find(cms, {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07}),
            std::string::npos);
  EXPECT_NE(Find(cms, {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}),
            std::string::npos);
  EXPECT_NE(Find(cms, {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08}),
            std::string::npos);
  EXPECT_NE(Find(cms, {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a}),
            std::string::npos);
  // encryptedKey: a 256-byte OCTET STRING (RSA-2048).
  EXPECT_NE(Find(cms, {0x04, 0x82, 0x01, 0x00}), std::string::npos);
}

TEST_F(CmsTest, WrongKeyFails) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(DataKey(), Spki(*key_)));
  // Deterministically an error (never garbage): see CMS_DEBUG_DECRYPT in cms.cc.
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT(DecryptEnvelopedData(cms, *other_), StatusIs(absl::StatusCode::kUnauthenticated));
  }
}

TEST_F(CmsTest, TamperedEncryptedKeyFails) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(DataKey(), Spki(*key_)));
  const size_t at = Find(cms, {0x04, 0x82, 0x01, 0x00});
  ASSERT_NE(at, std::string::npos);
  for (size_t i = at + 4; i < at + 4 + 256; i += 17) {
    std::vector<uint8_t> bad = cms;
    bad[i] ^= 0x01;
    EXPECT_THAT(DecryptEnvelopedData(bad, *key_), StatusIs(absl::StatusCode::kUnauthenticated))
        << "byte " << i;
  }
}

// Layout locates the cryptographic fields in EncryptForRecipient's output
// for a 32-byte plaintext: the streamed content is two OCTET STRING chunks
// (32 + 16 bytes) inside an indefinite [0].
struct Layout {
  size_t encrypted_key = 0;  // 256 bytes
  size_t iv = 0;             // 16 bytes
  size_t chunk1 = 0;         // 32 bytes
  size_t chunk2 = 0;         // 16 bytes
};
std::optional<Layout> Locate(const std::vector<uint8_t>& cms) {
  Layout l;
  const size_t key = Find(cms, {0x04, 0x82, 0x01, 0x00});
  const size_t aes = Find(cms, {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a,
                                0x04, 0x10});
  const size_t content = Find(cms, {0xa0, 0x80, 0x04, 0x20});
  if (key == std::string::npos || aes == std::string::npos || content == std::string::npos ||
      content + 4 + 32 + 2 + 16 > cms.size() || cms[content + 36] != 0x04 ||
      cms[content + 37] != 0x10) {
    return std::nullopt;
  }
  l.encrypted_key = key + 4;
  l.iv = aes + 13;
  l.chunk1 = content + 4;
  l.chunk2 = content + 4 + 32 + 2;
  return l;
}

TEST_F(CmsTest, TamperedPaddingBlockFails) {
  // A 32-byte key encrypts to three CBC blocks, the last one all padding
  // (0x10 x 16). Flipping any bit of the last byte of the second block flips
  // the same bit of the final padding byte, which can then never be valid.
  const SecretBytes plaintext = DataKey();
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(plaintext, Spki(*key_)));
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes ok, DecryptEnvelopedData(cms, *key_));
  ASSERT_EQ(ok.size(), 32u);
  std::optional<Layout> l = Locate(cms);
  ASSERT_TRUE(l.has_value());
  for (int bit = 0; bit < 8; ++bit) {
    std::vector<uint8_t> bad = cms;
    bad[l->chunk1 + 31] ^= static_cast<uint8_t>(1 << bit);
    EXPECT_THAT(DecryptEnvelopedData(bad, *key_), StatusIs(absl::StatusCode::kUnauthenticated))
        << "bit " << bit;
  }
}

TEST_F(CmsTest, EveryBitFlip) {
  // No flip may crash. A flip of the encrypted key, the IV or the content
  // never gives back the original plaintext (CBC is malleable, so a content
  // flip may decrypt to other bytes; the ESDK authenticates data keys
  // afterwards). Flips in fields decryption does not use (version numbers,
  // the recipient identifier, which is ignored when decrypting with a bare
  // key, and chunk tags) may leave the result unchanged.
  const SecretBytes plaintext = DataKey();
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(plaintext, Spki(*key_)));
  std::optional<Layout> l = Locate(cms);
  ASSERT_TRUE(l.has_value());
  auto in = [](size_t i, size_t start, size_t len) { return i >= start && i < start + len; };
  int rejected = 0, changed = 0, same = 0;
  for (size_t i = 0; i < cms.size(); ++i) {
    const bool crypto_field = in(i, l->encrypted_key, 256) || in(i, l->iv, 16) ||
                              in(i, l->chunk1, 32) || in(i, l->chunk2, 16);
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> bad = cms;
      bad[i] ^= static_cast<uint8_t>(1 << bit);
      absl::StatusOr<SecretBytes> got = DecryptEnvelopedData(bad, *key_);
      if (!got.ok()) {
        ++rejected;
      } else if (std::equal(got->Expose().begin(), got->Expose().end(),
                            plaintext.Expose().begin(), plaintext.Expose().end())) {
        ++same;
        EXPECT_FALSE(crypto_field) << "flip of bit " << bit << " of byte " << i
                                   << " decrypted to the original plaintext";
      } else {
        ++changed;
      }
    }
  }
  std::printf("[   CMS    ] %zu bit flips: %d rejected, %d decrypted to other bytes, %d unchanged "
              "(unused fields)\n",
              cms.size() * 8, rejected, changed, same);
}

TEST_F(CmsTest, TruncationAndTrailingBytesAreRejected) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(DataKey(), Spki(*key_)));
  ::veil::testing::ForEachTruncation(cms, [&](const ::veil::testing::Mutation& m) {
    EXPECT_FALSE(DecryptEnvelopedData(m.bytes, *key_).ok()) << m.what;
  });
  ::veil::testing::ForEachAppend(cms, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(DecryptEnvelopedData(m.bytes, *key_),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << m.what;
  });
}

TEST_F(CmsTest, RejectsNonRsaOrMalformedRecipientKeys) {
  EXPECT_THAT(EncryptForRecipient(DataKey(), std::vector<uint8_t>{0x30, 0x00}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<uint8_t> spki = Spki(*key_);
  spki.push_back(0);
  EXPECT_THAT(EncryptForRecipient(DataKey(), spki), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecryptEnvelopedData({}, *key_), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecryptEnvelopedData(std::vector<uint8_t>(70000, 0x30), *key_),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Interoperability with the openssl command-line tool ------------------------

class CmsOpensslCliTest : public CmsTest {
 protected:
  void SetUp() override {
    if (std::system("openssl version >/dev/null 2>&1") != 0) {
      GTEST_SKIP() << "the openssl CLI is not available";
    }
    dir_ = fs::temp_directory_path() /
           ("veil-cms-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pem, key_->PrivateKeyPem());
    Write("key.pem", std::vector<uint8_t>(pem.Expose().begin(), pem.Expose().end()));
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream out(Path(name), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  std::vector<uint8_t> Read(const std::string& name) {
    std::ifstream in(Path(name), std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>());
  }
  int Run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }
  // MakeCert writes a self-signed certificate for key.pem (the CLI's
  // -encrypt takes recipients as certificates).
  void MakeCert() {
    ASSERT_EQ(Run("openssl req -x509 -new -key '" + Path("key.pem") +
                  "' -subj /CN=recipient -days 1 -out '" + Path("cert.pem") + "'"),
              0);
  }

  fs::path dir_;
};

TEST_F(CmsOpensslCliTest, OpensslDecryptsWhatEncryptForRecipientMade) {
  const SecretBytes plaintext = DataKey();
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> cms, EncryptForRecipient(plaintext, Spki(*key_)));
  Write("cms.ber", cms);
  ASSERT_EQ(Run("openssl cms -decrypt -binary -inform DER -in '" + Path("cms.ber") + "' -inkey '" +
                Path("key.pem") + "' -out '" + Path("out.bin") + "'"),
            0);
  const std::vector<uint8_t> got = Read("out.bin");
  EXPECT_TRUE(std::equal(got.begin(), got.end(), plaintext.Expose().begin(),
                         plaintext.Expose().end()));
}

TEST_F(CmsOpensslCliTest, DecryptsWhatOpensslMadeWithOaepSha256) {
  // The command of nitro-attestation-nsm-kms.md section 4.4.
  MakeCert();
  const std::vector<uint8_t> plaintext = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
  Write("in.bin", plaintext);
  ASSERT_EQ(Run("openssl cms -encrypt -binary -aes-256-cbc -keyid -outform DER -in '" +
                Path("in.bin") + "' -out '" + Path("cms.der") + "' -recip '" + Path("cert.pem") +
                "' -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256"
                " -keyopt rsa_mgf1_md:sha256"),
            0);
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes got, DecryptEnvelopedData(Read("cms.der"), *key_));
  EXPECT_TRUE(std::equal(got.Expose().begin(), got.Expose().end(), plaintext.begin(),
                         plaintext.end()));
}

TEST_F(CmsOpensslCliTest, RefusesPkcs1AndOaepSha1Recipients) {
  MakeCert();
  Write("in.bin", {1, 2, 3});
  for (const std::string& keyopt :
       {std::string(""), std::string(" -keyopt rsa_padding_mode:oaep")}) {
    SCOPED_TRACE(keyopt.empty() ? "PKCS#1 v1.5" : "OAEP SHA-1");
    ASSERT_EQ(Run("openssl cms -encrypt -binary -aes-256-cbc -outform DER -in '" +
                  Path("in.bin") + "' -out '" + Path("cms.der") + "' -recip '" +
                  Path("cert.pem") + "'" + keyopt),
              0);
    EXPECT_THAT(DecryptEnvelopedData(Read("cms.der"), *key_),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace veil::crypto
