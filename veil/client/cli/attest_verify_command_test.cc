#include "veil/client/cli/attest_verify_command.h"

#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/client/cli/cli_status.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::client {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

class AttestVerifyCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VEIL_REQUIRE_SHARED(shared);
    nitro_ = shared + "/testdata/nitro/";
    options_.document = nitro_ + "doc1-eu-central-1-2025-01-06.cbor";
    options_.root = nitro_ + "aws-nitro-enclaves-root-g1.pem";
    options_.at = "2025-01-06T16:07:05.472Z";
  }
  absl::Status Run() { return RunAttestVerify(options_, out_, err_); }

  std::string nitro_;
  AttestVerifyOptions options_;
  std::ostringstream out_, err_;
};

TEST_F(AttestVerifyCommandTest, PrintsJsonWithTheListedFields) {
  options_.json = true;
  ASSERT_THAT(Run(), IsOk());
  const auto j = nlohmann::json::parse(out_.str(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out_.str();
  EXPECT_EQ(j["module_id"], "i-0bee92034f3d60691-enc01943c5eaab3ad6a");
  EXPECT_EQ(j["timestamp_ms"], 1736179625472);
  EXPECT_EQ(j["digest"], "SHA384");
  EXPECT_EQ(j["pcrs"].size(), 16u);
  EXPECT_EQ(j["pcrs"]["4"],
            "5ecf4fb14c100ccc62999e094c99819ce9e51dd7c9497602d1cdf68b98cba25c153406046d9f9096f9d0"
            "59211c7cbca3");
  EXPECT_EQ(j["debug"], false);
  EXPECT_EQ(j["tier"], "production");
  EXPECT_EQ(j["public_key"], true);
  EXPECT_EQ(j["user_data"], false);
  EXPECT_EQ(j["nonce"], false);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(AttestVerifyCommandTest, FailuresPrintNothingAndNameTheCheck) {
  options_.at = "";  // now: the chain has expired
  auto s = Run();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(s.message()), HasSubstr("certificate chain: certificate has expired"));
  EXPECT_EQ(ExitCode(s), kExitFailure);
  EXPECT_EQ(out_.str(), "");

  options_.at = "1736179625";
  options_.expect_pcr = {"1=00"};
  s = Run();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(ExitCode(s), kExitFailure);
}

TEST_F(AttestVerifyCommandTest, FlagErrorsAreUsageErrors) {
  for (auto tweak : {+[](AttestVerifyOptions& o) { o.at = "tomorrow"; },
                     +[](AttestVerifyOptions& o) { o.expect_pcr = {"x=00"}; },
                     +[](AttestVerifyOptions& o) { o.expect_pcr = {"1=00", "1=00"}; },
                     +[](AttestVerifyOptions& o) { o.nonce_hex = "zz"; },
                     +[](AttestVerifyOptions& o) { o.root = ""; },
                     +[](AttestVerifyOptions& o) { o.root = o.document; }}) {
    AttestVerifyOptions o = options_;
    tweak(o);
    std::ostringstream out, err;
    const absl::Status s = RunAttestVerify(o, out, err);
    EXPECT_TRUE(IsUsageError(s)) << s;
    EXPECT_EQ(ExitCode(s), kExitUsage);
  }
}

TEST_F(AttestVerifyCommandTest, AcceptsBothTimeForms) {
  options_.at = "1736179625";
  EXPECT_THAT(Run(), IsOk());
  options_.at = "2025-01-06T17:07:05+01:00";
  EXPECT_THAT(Run(), IsOk());
}

}  // namespace
}  // namespace veil::client
