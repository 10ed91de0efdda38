#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/cose_sign1.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/command_table.h"
#include "veil/client/cli/measure_command.h"
#include "veil/client/cli/simulate_ca_command.h"
#include "veil/client/cli/simulate_command.h"
#include "veil/common/cbor.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::client {
namespace {

using ::veil::testing::StatusIs;

class AttestCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veil-attest-cli-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Write("enclave", "enclave binary");
    Write("model", std::string(70000, 'm'));
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(Path(name), std::ios::binary) << content;
  }
  std::string dir_;
};

TEST_F(AttestCommandsTest, SimulateCaThenSimulateThenMeasureAgree) {
  std::ostringstream ca_out;
  VEIL_ASSERT_OK(RunSimulateCa({Path("ca"), "i-0bee92034f3d60691"}, ca_out));
  EXPECT_NE(ca_out.str().find("root.pem"), std::string::npos);
  EXPECT_THAT(RunSimulateCa({Path("ca"), ""}, ca_out), StatusIs(absl::StatusCode::kAlreadyExists));

  SimulateCommandOptions s;
  s.ca = Path("ca");
  s.measure = {Path("enclave"), Path("model")};
  s.nonce_hex = "0a0b";
  s.out = Path("doc.cbor");
  std::ostringstream info;
  VEIL_ASSERT_OK(RunSimulate(s, info));
  EXPECT_NE(info.str().find("SIMULATED"), std::string::npos);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> doc, veil::testing::ReadFile(s.out));
  VEIL_ASSERT_OK_AND_ASSIGN(attestation::CoseSign1 cose, attestation::ParseCoseSign1(doc));
  VEIL_ASSERT_OK_AND_ASSIGN(cbor::Value payload, cbor::Decode(cose.payload));

  std::ostringstream json_out;
  VEIL_ASSERT_OK(RunMeasure({{Path("enclave"), Path("model")}, "", "i-0bee92034f3d60691"}, json_out));
  const nlohmann::json j = nlohmann::json::parse(json_out.str(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << json_out.str();
  EXPECT_EQ(j["Measurements"]["HashAlgorithm"], "Sha384 { ... }");
  for (const auto& [key, value] : payload.Find("pcrs")->map) {
    const std::string name = "PCR" + std::to_string(key.uint);
    if (!j["Measurements"].contains(name)) continue;
    std::string hex;
    for (uint8_t b : value.bytes) {
      char buf[3];
      std::snprintf(buf, sizeof(buf), "%02x", b);
      hex += buf;
    }
    EXPECT_EQ(j["Measurements"][name], hex) << name;
  }
  EXPECT_FALSE(j["Measurements"].contains("PCR3"));
  EXPECT_TRUE(j["Measurements"].contains("PCR4"));
}

TEST_F(AttestCommandsTest, BadFlagsAreUsageErrors) {
  std::ostringstream out;
  VEIL_ASSERT_OK(RunSimulateCa({Path("ca"), ""}, out));
  SimulateCommandOptions s;
  s.ca = Path("ca");
  s.measure = {Path("enclave")};
  s.out = Path("doc.cbor");
  s.nonce_hex = "xyz";
  EXPECT_TRUE(IsUsageError(RunSimulate(s, out)));
  s.nonce_hex = std::string(1026, 'a');
  EXPECT_TRUE(IsUsageError(RunSimulate(s, out)));
  s.nonce_hex.clear();
  s.instance_id = "i-1";
  EXPECT_TRUE(IsUsageError(RunSimulate(s, out)));
  s.instance_id.clear();
  Write("notakey.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  s.public_key = Path("notakey.pem");
  EXPECT_TRUE(IsUsageError(RunSimulate(s, out)));
  EXPECT_NE(::access(s.out.c_str(), F_OK), 0);
  EXPECT_TRUE(IsUsageError(RunSimulateCa({Path("ca2"), "i-nothex"}, out)));
  EXPECT_TRUE(IsUsageError(RunMeasure({}, out)));
}

TEST(AttestCommandTableTest, AttestAndMeasureAreRegistered) {
  const char* argv[] = {"veil", "attest", "simulate-ca", "--out", "/nonexistent/x"};
  VEIL_ASSERT_OK_AND_ASSIGN(CommandRunner runner, ParseCommandLine(5, argv));
  EXPECT_FALSE(runner().ok());
  const char* bad[] = {"veil", "attest"};
  EXPECT_TRUE(IsUsageError(ParseCommandLine(2, bad).status()));
  const char* measure[] = {"veil", "measure"};
  EXPECT_TRUE(IsUsageError(ParseCommandLine(2, measure).status()));
}

}  // namespace
}  // namespace veil::client
