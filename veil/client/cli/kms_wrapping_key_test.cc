// `kms:` wrapping keys: the decrypt-needs-a-key-ARN rule, and `veil
// encrypt` / `veil decrypt` end to end over HTTP, SigV4 and the AWS
// environment against FakeKmsServer.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/decrypt_command.h"
#include "veil/client/cli/encrypt_command.h"
#include "veil/client/cli/wrapping_key_spec.h"
#include "veil/kms/testing/fake_kms_client.h"
#include "veil/kms/testing/fake_kms_server.h"
#include "veil/testing/status_matchers.h"

namespace veil::client {
namespace {

using ::testing::HasSubstr;
using ::veil::kms::testing::FakeKmsClient;
using ::veil::kms::testing::FakeKmsServer;
using ::veil::testing::StatusIs;

KmsClientFactory MustNotBeCalled() {
  return []() -> absl::StatusOr<std::shared_ptr<kms::KmsClient>> {
    ADD_FAILURE() << "no KMS client should be made";
    return absl::InternalError("unexpected");
  };
}

TEST(KmsWrappingKeyTest, DecryptNeedsTheKeyArnAndSaysWhy) {
  for (const char* id : {"alias/acme", "arn:aws:kms:us-west-2:111122223333:alias/acme",
                         "1234abcd-12ab-34cd-56ef-1234567890ab"}) {
    SCOPED_TRACE(id);
    KeyringSources sources{KeyringUse::kDecrypt, MustNotBeCalled()};
    absl::StatusOr<std::shared_ptr<const esdk::Keyring>> k =
        KeyringFromSpecs({std::string("kms:") + id}, sources);
    ASSERT_FALSE(k.ok());
    EXPECT_TRUE(IsUsageError(k.status()));
    const std::string msg(k.status().message());
    EXPECT_THAT(msg, HasSubstr("decrypting needs the key ARN"));
    EXPECT_THAT(msg, HasSubstr("never an alias"));
    EXPECT_THAT(msg, HasSubstr(std::string("aws kms describe-key --key-id ") + id));
  }
}

TEST(KmsWrappingKeyTest, EncryptAcceptsAnyIdentifierAndSharesOneClient) {
  auto fake = std::make_shared<FakeKmsClient>();
  const std::string arn = fake->AddKey();
  fake->AddAlias("alias/acme", arn);
  int made = 0;
  KeyringSources sources;
  sources.kms_client = [&]() -> absl::StatusOr<std::shared_ptr<kms::KmsClient>> {
    ++made;
    return std::static_pointer_cast<kms::KmsClient>(fake);
  };
  VEIL_EXPECT_OK(KeyringFromSpecs({"kms:alias/acme", "kms:" + arn}, sources));
  EXPECT_EQ(made, 1);
  sources.use = KeyringUse::kDecrypt;
  VEIL_EXPECT_OK(KeyringFromSpecs({"kms:" + arn}, sources));
}

TEST(KmsWrappingKeyTest, ClientErrorsNameTheSpec) {
  KeyringSources sources;
  sources.kms_client = []() -> absl::StatusOr<std::shared_ptr<kms::KmsClient>> {
    return absl::FailedPreconditionError("no AWS credentials found");
  };
  absl::StatusOr<std::shared_ptr<const esdk::Keyring>> k =
      KeyringFromSpecs({"kms:alias/acme"}, sources);
  EXPECT_THAT(k, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(std::string(k.status().message()), "kms:alias/acme: no AWS credentials found");
}

// ScopedEnv sets environment variables for one test and restores them.
class ScopedEnv {
 public:
  void Set(const std::string& name, const std::optional<std::string>& value) {
    if (!saved_.count(name)) {
      const char* old = ::getenv(name.c_str());
      saved_[name] = old == nullptr ? std::nullopt : std::optional<std::string>(old);
    }
    if (value.has_value()) {
      ::setenv(name.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value.has_value()) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

class KmsCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/veil_kms_cmd_" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
    fake_ = std::make_shared<FakeKmsClient>("eu-west-1", "111122223333");
    arn_ = fake_->AddKey();
    fake_->AddAlias("alias/acme", arn_);
    auto server = FakeKmsServer::Start(fake_, {{"AKIDVEILCLI", "cli-secret"}}, "eu-west-1");
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    // Only the environment configures the client, as for a user.
    for (const char* name : {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
                             "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE",
                             "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"}) {
      env_.Set(name, std::nullopt);
    }
    env_.Set("AWS_CONFIG_FILE", dir_ + "/no-config");
    env_.Set("AWS_SHARED_CREDENTIALS_FILE", dir_ + "/no-credentials");
    env_.Set("AWS_ACCESS_KEY_ID", "AKIDVEILCLI");
    env_.Set("AWS_SECRET_ACCESS_KEY", "cli-secret");
    env_.Set("AWS_REGION", "eu-west-1");
    env_.Set("AWS_ENDPOINT_URL_KMS", server_->url());
    std::ofstream(dir_ + "/plain.txt") << "a confidential image, in spirit";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  std::string dir_;
  ScopedEnv env_;
  std::shared_ptr<FakeKmsClient> fake_;
  std::unique_ptr<FakeKmsServer> server_;
  std::string arn_;
};

TEST_F(KmsCommandsTest, EncryptWithAnAliasDecryptWithTheArn) {
  EncryptCommandOptions e;
  e.input = dir_ + "/plain.txt";
  e.output = dir_ + "/msg.veil";
  e.wrapping_keys = {"kms:alias/acme"};
  e.encryption_context = {"tenant=acme"};
  VEIL_ASSERT_OK(RunEncrypt(e));
  const std::vector<kms::testing::FakeKmsCall> calls = fake_->Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].operation, "GenerateDataKey");
  EXPECT_EQ(calls[0].encryption_context.at("tenant"), "acme");
  // The message names the key ARN, which is what decrypting needs.
  EXPECT_NE(Read("msg.veil").find(arn_), std::string::npos);

  DecryptCommandOptions d;
  d.input = dir_ + "/msg.veil";
  d.output = dir_ + "/plain.out";
  d.wrapping_keys = {"kms:" + arn_};
  VEIL_ASSERT_OK(RunDecrypt(d));
  EXPECT_EQ(Read("plain.out"), Read("plain.txt"));
  EXPECT_EQ(server_->requests(), 2);

  d.output = dir_ + "/alias.out";
  d.wrapping_keys = {"kms:alias/acme"};
  absl::Status s = RunDecrypt(d);
  EXPECT_EQ(ExitCode(s), kExitUsage);
  EXPECT_THAT(std::string(s.message()), HasSubstr("decrypting needs the key ARN"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/alias.out"));
}

TEST_F(KmsCommandsTest, WrongCredentialsAreRefusedByTheService) {
  env_.Set("AWS_SECRET_ACCESS_KEY", "not-the-secret");
  EncryptCommandOptions e;
  e.input = dir_ + "/plain.txt";
  e.output = dir_ + "/msg.veil";
  e.wrapping_keys = {"kms:alias/acme"};
  absl::Status s = RunEncrypt(e);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(s.message()), HasSubstr("InvalidSignatureException"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("not-the-secret")));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/msg.veil"));
}

TEST_F(KmsCommandsTest, MissingCredentialsAreExplained) {
  env_.Set("AWS_ACCESS_KEY_ID", std::nullopt);
  env_.Set("AWS_SECRET_ACCESS_KEY", std::nullopt);
  EncryptCommandOptions e;
  e.input = dir_ + "/plain.txt";
  e.output = dir_ + "/msg.veil";
  e.wrapping_keys = {"kms:alias/acme"};
  absl::Status s = RunEncrypt(e);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), HasSubstr("kms:alias/acme: no AWS credentials found"));
}

}  // namespace
}  // namespace veil::client
