#include <stdlib.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "veil/host/credentials_pusher.h"
#include "veil/testing/status_matchers.h"

namespace veil::host {
namespace {

using veil::testing::StatusIs;

class EnvironmentCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                             "AWS_CREDENTIAL_EXPIRATION"}) {
      unsetenv(name);
    }
  }
  void TearDown() override { SetUp(); }
};

TEST_F(EnvironmentCredentialsTest, ReadsTheStandardVariables) {
  setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", 1);
  setenv("AWS_SESSION_TOKEN", "token", 1);
  setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z", 1);
  VEIL_ASSERT_OK_AND_ASSIGN(const wire::CredentialsRequest c, EnvironmentCredentials());
  EXPECT_EQ(c.access_key_id, "AKIAEXAMPLE");
  const auto secret = c.secret_access_key.Expose();
  EXPECT_EQ(std::string(secret.begin(), secret.end()), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  EXPECT_EQ(c.session_token, "token");
  EXPECT_EQ(c.expiration, absl::FromUnixSeconds(1893553445));
}

TEST_F(EnvironmentCredentialsTest, ExpirationDefaultsToOneHour) {
  setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  VEIL_ASSERT_OK_AND_ASSIGN(const wire::CredentialsRequest c, EnvironmentCredentials());
  EXPECT_EQ(c.session_token, "");
  EXPECT_NEAR(absl::ToDoubleSeconds(c.expiration - absl::Now()), 3600, 60);
}

TEST_F(EnvironmentCredentialsTest, MissingOrMalformedIsAnErrorWithoutValues) {
  EXPECT_THAT(EnvironmentCredentials(), StatusIs(absl::StatusCode::kFailedPrecondition));
  setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE", 1);
  EXPECT_THAT(EnvironmentCredentials(), StatusIs(absl::StatusCode::kFailedPrecondition));
  setenv("AWS_SECRET_ACCESS_KEY", "secret-value", 1);
  setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
  auto c = EnvironmentCredentials();
  EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(std::string(c.status().message()).find("secret-value"), std::string::npos);
  EXPECT_EQ(std::string(c.status().message()).find("tomorrow"), std::string::npos);
}

}  // namespace
}  // namespace veil::host
