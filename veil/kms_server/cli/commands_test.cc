#include "veil/kms_server/cli/commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/kms_server/principals.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms_server {
namespace {

TEST(VeilKmsCliTest, ParseListen) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto a, ParseListen("127.0.0.1:4566"));
  EXPECT_EQ(a.first, "127.0.0.1");
  EXPECT_EQ(a.second, 4566);
  VEIL_ASSERT_OK_AND_ASSIGN(auto b, ParseListen("[::1]:0"));
  EXPECT_EQ(b.first, "::1");
  EXPECT_EQ(b.second, 0);
  for (const char* bad : {"4566", ":4566", "host:", "host:65536", "host:-1", "host:12x"}) {
    auto r = ParseListen(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(ExitCode(r.status()), 2) << bad;
  }
}

TEST(VeilKmsCliTest, PrincipalArns) {
  EXPECT_EQ(*ParsePrincipalArn("arn:aws:iam::111122223333:user/alice"), "111122223333");
  EXPECT_EQ(*ParsePrincipalArn("arn:aws:iam::111122223333:role/path/enclave-parent"),
            "111122223333");
  for (const char* bad :
       {"arn:aws:iam::11112222333:user/a", "arn:aws:iam::111122223333:group/a",
        "arn:aws:iam::111122223333:user/", "arn:aws:sts::111122223333:user/a",
        "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/a b"}) {
    EXPECT_FALSE(ParsePrincipalArn(bad).ok()) << bad;
  }
}

TEST(VeilKmsCliTest, PrincipalAddCreatesTheDataDirectoryAndPrintsTwoLines) {
  char tmpl[] = "/tmp/veil-kms-cli-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/data";
  std::ostringstream out;
  VEIL_ASSERT_OK(RunPrincipalAdd({dir, "arn:aws:iam::111122223333:user/alice"}, out));
  EXPECT_THAT(out.str(), ::testing::MatchesRegex(
                             "AWS_ACCESS_KEY_ID=AKIA[A-Z2-7]{16}\nAWS_SECRET_ACCESS_KEY=[A-Za-z0-9+/]{40}\n"));
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ostringstream unused;
  EXPECT_EQ(ExitCode(RunPrincipalAdd({dir, "bob"}, unused)), 2);
  std::filesystem::remove_all(tmpl);
}

TEST(VeilKmsCliTest, CommandLine) {
  const char* no_command[] = {"veil-kms"};
  EXPECT_EQ(ExitCode(ParseCommandLine(1, no_command).status()), 2);
  const char* missing_flag[] = {"veil-kms", "serve", "--listen", "127.0.0.1:0"};
  EXPECT_EQ(ExitCode(ParseCommandLine(4, missing_flag).status()), 2);
  const char* ok[] = {"veil-kms", "principal", "add", "--data-dir", "/nonexistent/x", "--arn",
                      "arn:aws:iam::111122223333:user/a"};
  VEIL_EXPECT_OK(ParseCommandLine(7, ok));
}

}  // namespace
}  // namespace veil::kms_server
