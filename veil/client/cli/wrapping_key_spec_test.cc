#include "veil/client/cli/wrapping_key_spec.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/client/cli/cli_status.h"
#include "veil/crypto/rsa.h"
#include "veil/testing/status_matchers.h"

namespace veil::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::veil::testing::StatusIs;

TEST(WrappingKeySpecTest, ParsesRawAes) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto spec, ParseWrappingKeySpec("raw-aes:acme:wrap-1:/k/a:b.key"));
  EXPECT_EQ(spec.type, WrappingKeySpec::Type::kRawAes);
  EXPECT_EQ(spec.provider_id, "acme");
  EXPECT_EQ(spec.key_name, "wrap-1");
  EXPECT_EQ(spec.key_file, "/k/a:b.key");
}

TEST(WrappingKeySpecTest, ParsesRawRsaWithPadding) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto spec,
                            ParseWrappingKeySpec("raw-rsa:acme:rsa-1:dir:x/owner.pem:oaep-sha512"));
  EXPECT_EQ(spec.type, WrappingKeySpec::Type::kRawRsa);
  EXPECT_EQ(spec.key_file, "dir:x/owner.pem");
  EXPECT_EQ(spec.padding, crypto::RsaPadding::kOaepSha512);
  VEIL_ASSERT_OK_AND_ASSIGN(spec, ParseWrappingKeySpec("raw-rsa:a:b:f.pem:pkcs1"));
  EXPECT_EQ(spec.padding, crypto::RsaPadding::kPkcs1);
}

TEST(WrappingKeySpecTest, ParsesKms) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto spec,
                            ParseWrappingKeySpec("kms:arn:aws:kms:us-west-2:111122223333:key/abc"));
  EXPECT_EQ(spec.type, WrappingKeySpec::Type::kKms);
  EXPECT_EQ(spec.kms_key_id, "arn:aws:kms:us-west-2:111122223333:key/abc");
  for (const char* id : {"kms:alias/acme", "kms:1234abcd-12ab-34cd-56ef-1234567890ab",
                         "kms:arn:aws:kms:us-west-2:111122223333:alias/acme"}) {
    VEIL_EXPECT_OK(ParseWrappingKeySpec(id));
  }
}

TEST(WrappingKeySpecTest, RejectsMalformedSpecsAsUsageErrors) {
  for (const char* bad : {"", "raw-aes", "raw-aes:", "raw-aes:a:b", "raw-aes::b:f", "raw-aes:a::f",
                          "raw-aes:a:b:", "raw-rsa:a:b:f.pem", "raw-rsa:a:b:f.pem:oaep-md5",
                          "raw-rsa:a:b::oaep-sha256", "kms:", "aes:a:b:f", "RAW-AES:a:b:f",
                          "kms:alias/", "kms:key with space", "kms:arn:aws:s3:::bucket",
                          "kms:arn:aws:kms:us-west-2:111122223333:grant/x"}) {
    SCOPED_TRACE(bad);
    auto spec = ParseWrappingKeySpec(bad);
    ASSERT_FALSE(spec.ok());
    EXPECT_TRUE(IsUsageError(spec.status()));
    EXPECT_EQ(ExitCode(spec.status()), kExitUsage);
  }
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/veil_spec_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string dir_;
};

TEST_F(KeyFileTest, LoadsAesKeysOfEveryLength) {
  for (size_t n : {16, 24, 32}) {
    const std::string path = Write("k" + std::to_string(n), std::string(n, 'k'));
    EXPECT_THAT(KeyringFromSpecs({"raw-aes:p:n:" + path}), ::veil::testing::IsOk());
  }
}

TEST_F(KeyFileTest, RejectsAesKeyFilesOfOtherLengthsWithoutShowingThem) {
  for (size_t n : {0, 15, 33, 1000}) {
    const std::string path = Write("k", std::string(n, 'S'));
    auto keyring = KeyringFromSpecs({"raw-aes:p:n:" + path});
    ASSERT_FALSE(keyring.ok()) << n;
    EXPECT_FALSE(IsUsageError(keyring.status()));
    EXPECT_THAT(std::string(keyring.status().message()), Not(HasSubstr("SSSS")));
  }
  EXPECT_THAT(KeyringFromSpecs({"raw-aes:p:n:" + dir_ + "/absent"}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(KeyFileTest, LoadsRsaPemWithPrivatePublicOrBoth) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto key, crypto::RsaPrivateKey::Generate(2048));
  VEIL_ASSERT_OK_AND_ASSIGN(auto private_pem, key->PrivateKeyPem());
  VEIL_ASSERT_OK_AND_ASSIGN(std::string public_pem, key->PublicKeyPem());
  const std::string priv(reinterpret_cast<const char*>(private_pem.Expose().data()),
                         private_pem.size());
  for (const std::string& content : {priv, public_pem, public_pem + priv, priv + public_pem}) {
    const std::string path = Write("k.pem", content);
    EXPECT_THAT(KeyringFromSpecs({"raw-rsa:p:n:" + path + ":oaep-sha256"}),
                ::veil::testing::IsOk());
  }
  const std::string junk = Write("junk.pem", "not a key");
  EXPECT_FALSE(KeyringFromSpecs({"raw-rsa:p:n:" + junk + ":oaep-sha256"}).ok());
  const std::string encrypted =
      Write("enc.pem",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
  EXPECT_THAT(
      std::string(KeyringFromSpecs({"raw-rsa:p:n:" + encrypted + ":pkcs1"}).status().message()),
      HasSubstr("password-protected"));
}

TEST_F(KeyFileTest, ParsesEverySpecBeforeReadingFiles) {
  // The second spec is malformed: a usage error, although the first file is absent.
  auto keyring = KeyringFromSpecs({"raw-aes:p:n:" + dir_ + "/absent", "raw-aes:p"});
  ASSERT_FALSE(keyring.ok());
  EXPECT_TRUE(IsUsageError(keyring.status()));
}

TEST_F(KeyFileTest, SeveralSpecsMakeAMultiKeyring) {
  const std::string a = Write("a", std::string(32, 'a'));
  const std::string b = Write("b", std::string(16, 'b'));
  EXPECT_THAT(KeyringFromSpecs({"raw-aes:p:a:" + a, "raw-aes:p:b:" + b}), ::veil::testing::IsOk());
}

}  // namespace
}  // namespace veil::client
