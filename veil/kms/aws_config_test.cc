#include "veil/kms/aws_config.h"

#include <map>
#include <string>

#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

// FakeEnvironment is an environment and a file system held in maps.
struct FakeEnvironment {
  std::map<std::string, std::string> vars = {{"HOME", "/home/u"}};
  std::map<std::string, std::string> files;

  AwsEnvironment Get() {
    AwsEnvironment env;
    env.getenv = [this](const std::string& n) -> std::optional<std::string> {
      auto it = vars.find(n);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
    env.read_file = [this](const std::string& p) -> absl::StatusOr<std::string> {
      auto it = files.find(p);
      if (it == files.end()) return absl::NotFoundError(p);
      return it->second;
    };
    return env;
  }
};

std::string SecretOf(const AwsCredentials& c) {
  return std::string(c.secret_access_key.Expose().begin(), c.secret_access_key.Expose().end());
}

constexpr char kCredentialsFile[] = R"(# a comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = default-secret

[dev]
aws_access_key_id=AKIDDEV
aws_secret_access_key=dev-secret ; inline comment
aws_session_token = dev-token
)";

constexpr char kConfigFile[] = R"([default]
region = us-west-2

[profile dev]
region = eu-central-1
endpoint_url = http://localhost:4599
s3 =
  max_concurrent_requests = 20
ca_bundle = /etc/dev-ca.pem

[profile config-only]
aws_access_key_id = AKIDCONFIG
aws_secret_access_key = config-secret
region = ap-south-1
)";

TEST(AwsConfigTest, EnvironmentCredentialsWin) {
  FakeEnvironment fake;
  fake.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  fake.vars["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  fake.vars["AWS_SESSION_TOKEN"] = "env-token";
  fake.vars["AWS_REGION"] = "eu-west-1";
  fake.files["/home/u/.aws/credentials"] = kCredentialsFile;
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c.credentials.access_key_id, "AKIDENV");
  EXPECT_EQ(SecretOf(c.credentials), "env-secret");
  EXPECT_EQ(c.credentials.session_token, "env-token");
  EXPECT_EQ(c.credentials_source, "environment");
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.endpoint_url, "https://kms.eu-west-1.amazonaws.com");
  EXPECT_FALSE(c.endpoint_overridden);
  EXPECT_EQ(c.profile, "default");
}

TEST(AwsConfigTest, ExplicitSettingsWinOverEverything) {
  FakeEnvironment fake;
  fake.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  fake.vars["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  fake.vars["AWS_REGION"] = "eu-west-1";
  fake.vars["AWS_ENDPOINT_URL_KMS"] = "http://env";
  AwsConfigOverrides o;
  o.credentials = AwsCredentials{"AKIDEXPLICIT", SecretBytes::Copy({'x'}), ""};
  o.region = "sa-east-1";
  o.endpoint_url = "http://explicit";
  o.ca_bundle = "/ca.pem";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig(o, fake.Get()));
  EXPECT_EQ(c.credentials.access_key_id, "AKIDEXPLICIT");
  EXPECT_EQ(c.credentials_source, "explicit");
  EXPECT_EQ(c.region, "sa-east-1");
  EXPECT_EQ(c.endpoint_url, "http://explicit");
  EXPECT_EQ(c.ca_bundle, "/ca.pem");
}

TEST(AwsConfigTest, DefaultProfileFromFiles) {
  FakeEnvironment fake;
  fake.files["/home/u/.aws/credentials"] = kCredentialsFile;
  fake.files["/home/u/.aws/config"] = kConfigFile;
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c.credentials.access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(SecretOf(c.credentials), "default-secret");
  EXPECT_EQ(c.credentials.session_token, "");
  EXPECT_THAT(c.credentials_source, HasSubstr("/home/u/.aws/credentials"));
  EXPECT_EQ(c.region, "us-west-2");
  EXPECT_EQ(c.endpoint_url, "https://kms.us-west-2.amazonaws.com");
}

TEST(AwsConfigTest, NamedProfileWithEndpointAndCaBundle) {
  FakeEnvironment fake;
  fake.vars["AWS_PROFILE"] = "dev";
  fake.files["/home/u/.aws/credentials"] = kCredentialsFile;
  fake.files["/home/u/.aws/config"] = kConfigFile;
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c.profile, "dev");
  EXPECT_EQ(c.credentials.access_key_id, "AKIDDEV");
  EXPECT_EQ(SecretOf(c.credentials), "dev-secret");
  EXPECT_EQ(c.credentials.session_token, "dev-token");
  EXPECT_EQ(c.region, "eu-central-1");
  EXPECT_EQ(c.endpoint_url, "http://localhost:4599");
  EXPECT_TRUE(c.endpoint_overridden);
  EXPECT_EQ(c.ca_bundle, "/etc/dev-ca.pem");
}

TEST(AwsConfigTest, CredentialsFromTheConfigFile) {
  FakeEnvironment fake;
  fake.files["/home/u/.aws/config"] = kConfigFile;
  AwsConfigOverrides o;
  o.profile = "config-only";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig(o, fake.Get()));
  EXPECT_EQ(c.credentials.access_key_id, "AKIDCONFIG");
  EXPECT_EQ(c.region, "ap-south-1");
}

TEST(AwsConfigTest, FileLocationsFromTheEnvironment) {
  FakeEnvironment fake;
  fake.vars["AWS_SHARED_CREDENTIALS_FILE"] = "/etc/creds";
  fake.vars["AWS_CONFIG_FILE"] = "~/custom-config";
  fake.files["/etc/creds"] = "[default]\naws_access_key_id=A\naws_secret_access_key=B\n";
  fake.files["/home/u/custom-config"] = "[default]\nregion=us-east-2\n";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c.credentials.access_key_id, "A");
  EXPECT_EQ(c.region, "us-east-2");
}

TEST(AwsConfigTest, RegionOrder) {
  FakeEnvironment fake;
  fake.vars["AWS_ACCESS_KEY_ID"] = "A";
  fake.vars["AWS_SECRET_ACCESS_KEY"] = "B";
  fake.files["/home/u/.aws/config"] = kConfigFile;
  fake.vars["AWS_DEFAULT_REGION"] = "eu-north-1";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c1, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c1.region, "eu-north-1");
  fake.vars["AWS_REGION"] = "eu-south-1";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c2, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c2.region, "eu-south-1");
}

TEST(AwsConfigTest, EndpointOrder) {
  FakeEnvironment fake;
  fake.vars["AWS_ACCESS_KEY_ID"] = "A";
  fake.vars["AWS_SECRET_ACCESS_KEY"] = "B";
  fake.vars["AWS_PROFILE"] = "dev";
  fake.files["/home/u/.aws/config"] = kConfigFile;
  fake.vars["AWS_ENDPOINT_URL"] = "http://generic:1";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c1, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c1.endpoint_url, "http://generic:1");
  fake.vars["AWS_ENDPOINT_URL_KMS"] = "http://kms-only:2";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c2, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c2.endpoint_url, "http://kms-only:2");
  fake.vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c3, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c3.endpoint_url, "https://kms.eu-central-1.amazonaws.com");
  EXPECT_FALSE(c3.endpoint_overridden);
}

TEST(AwsConfigTest, ChinaRegionsUseTheirPartitionDomain) {
  FakeEnvironment fake;
  fake.vars["AWS_ACCESS_KEY_ID"] = "A";
  fake.vars["AWS_SECRET_ACCESS_KEY"] = "B";
  fake.vars["AWS_REGION"] = "cn-north-1";
  VEIL_ASSERT_OK_AND_ASSIGN(ResolvedAwsConfig c, ResolveAwsConfig({}, fake.Get()));
  EXPECT_EQ(c.endpoint_url, "https://kms.cn-north-1.amazonaws.com.cn");
}

TEST(AwsConfigTest, ExplainsWhatIsMissing) {
  FakeEnvironment fake;
  absl::StatusOr<ResolvedAwsConfig> none = ResolveAwsConfig({}, fake.Get());
  EXPECT_THAT(none, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("AWS_ACCESS_KEY_ID"));
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("/home/u/.aws/credentials"));

  fake.vars["AWS_ACCESS_KEY_ID"] = "A";
  EXPECT_THAT(ResolveAwsConfig({}, fake.Get()), StatusIs(absl::StatusCode::kFailedPrecondition));
  fake.vars["AWS_SECRET_ACCESS_KEY"] = "B";
  absl::StatusOr<ResolvedAwsConfig> no_region = ResolveAwsConfig({}, fake.Get());
  EXPECT_THAT(no_region, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(no_region.status().message()), HasSubstr("AWS_REGION"));

  fake.vars["AWS_PROFILE"] = "nope";
  EXPECT_THAT(ResolveAwsConfig({}, fake.Get()), StatusIs(absl::StatusCode::kNotFound));
}

TEST(AwsConfigTest, ParseAwsIni) {
  auto s = ParseAwsIni("key_outside = 1\r\n[ a ]\r\nKey = v1 # c\r\n  sub = x\r\nk2=\r\n[b\n");
  ASSERT_EQ(s.count("a"), 1u);
  EXPECT_EQ(s["a"]["key"], "v1");
  EXPECT_EQ(s["a"]["k2"], "");
  EXPECT_EQ(s["a"].count("sub"), 0u);
  EXPECT_EQ(s.count("b"), 0u);
  EXPECT_EQ(s.count(""), 0u);
}

}  // namespace
}  // namespace veil::kms
