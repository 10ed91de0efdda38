#include "veil/nitro_sim/launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/common/encoding.h"
#include "veil/nitro_sim/launcher_process.h"
#include "veil/testing/status_matchers.h"

namespace veil::nitro_sim {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::veil::testing::StatusIs;

class TempDir {
 public:
  TempDir() {
    std::string t = ::testing::TempDir() + "/launcher_test.XXXXXX";
    path_ = mkdtemp(t.data());
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::string path_;
};

TEST(SandboxArgumentsTest, AreExactlyTheDocumentedList) {
  SandboxLayout layout;
  layout.binary = "/run/d/image/veil-enclave";
  layout.files = {"/run/d/image/model.onnx", "/run/d/image/enclave.json"};
  layout.config_basename = "enclave.json";
  layout.socket_dir = "/run/d/sock";
  EXPECT_THAT(
      SandboxArguments(layout),
      ElementsAre("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                  "--hostname", "enclave", "--clearenv", "--setenv", "PATH", "/usr/bin",
                  "--setenv", "VEIL_ENCLAVE_SIMULATED", "1", "--ro-bind", "/usr", "/usr",
                  "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink",
                  "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                  "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
                  "--ro-bind", "/run/d/image/veil-enclave", "/enclave/bin/veil-enclave",
                  "--ro-bind", "/run/d/image/model.onnx", "/enclave/app/model.onnx", "--ro-bind",
                  "/run/d/image/enclave.json", "/enclave/app/enclave.json", "--bind",
                  "/run/d/sock", "/run/veil", "--remount-ro", "/", "--chdir", "/enclave", "--",
                  "/enclave/bin/veil-enclave", "--config", "/enclave/app/enclave.json"));
  const std::vector<std::string> check = SandboxArguments(layout, {"/usr/bin/true"});
  EXPECT_EQ(check.back(), "/usr/bin/true");
  EXPECT_EQ(check[check.size() - 2], "--");
}

TEST(DescribeImageTest, MeasuresLikeVeilMeasureAndListsParts) {
  TempDir dir;
  const std::string bin = dir.Write("enclave", "binary bytes");
  const std::string model = dir.Write("model.onnx", std::string(200000, 'm'));
  const std::string config = dir.Write("enclave.json", "{}");
  const std::string desc = dir.Write(
      "image.json",
      R"({"format": "veil-enclave-image/1", "name": "probe", "version": "1",
          "binary": "enclave", "files": ["model.onnx", "enclave.json"], "config": "enclave.json"})");
  VEIL_ASSERT_OK_AND_ASSIGN(EnclaveImageDescription image, LoadImageDescription(desc));
  VEIL_ASSERT_OK_AND_ASSIGN(MeasuredImage measured, MeasureImage(image));
  VEIL_ASSERT_OK_AND_ASSIGN(attestation::nsm::ImageMeasurement want,
                            attestation::nsm::MeasureImageFiles({bin, model, config}));
  EXPECT_EQ(measured.measurement.pcr0, want.pcr0);
  EXPECT_EQ(measured.measurement.pcr1, want.pcr1);
  EXPECT_EQ(measured.measurement.pcr2, want.pcr2);

  const nlohmann::json j = DescribeImageJson(image, measured, "", "i-0123456789abcdef0");
  EXPECT_EQ(j["EifVersion"], 4);
  EXPECT_EQ(j["IsSigned"], false);
  EXPECT_EQ(j["CheckCRC"], true);
  EXPECT_EQ(j["ImageName"], "probe");
  EXPECT_EQ(j["ImageVersion"], "1");
  EXPECT_EQ(j["Measurements"]["HashAlgorithm"], "Sha384 { ... }");
  EXPECT_EQ(j["Measurements"]["PCR0"], HexEncode(want.pcr0));
  EXPECT_FALSE(j["Measurements"].contains("PCR3"));
  EXPECT_EQ(j["Measurements"]["PCR4"],
            HexEncode(attestation::nsm::MeasureInstanceId("i-0123456789abcdef0")));
  EXPECT_EQ(j["Metadata"]["BuildTool"], "veil-nitro-run");
  const nlohmann::json& parts = j["Metadata"]["Parts"];
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]["Name"], "enclave");
  EXPECT_EQ(parts[0]["Role"], "binary");
  EXPECT_EQ(parts[1]["Role"], "file");
  EXPECT_EQ(parts[2]["Role"], "config");
  // SHA-384("binary bytes"), by the same hash the PCRs extend with.
  EXPECT_EQ(attestation::nsm::PcrExtend(attestation::nsm::ZeroPcr(),
                                        HexDecode(parts[0]["Sha384"].get<std::string>()).value()),
            want.pcr1);
}

TEST(LauncherProcessTest, SpawnReportsAnExecFailure) {
  SpawnSpec spec;
  spec.argv = {"/nonexistent/veil-nsm-sim"};
  EXPECT_THAT(Spawn(spec), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(LauncherProcessTest, StopChildEscalatesToSigkill) {
  SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"};
  VEIL_ASSERT_OK_AND_ASSIGN(Child child, Spawn(spec));
  EXPECT_THAT(ChildPidsOf(getpid()), Contains(child.pid));
  usleep(100 * 1000);  // let the shell install its trap
  const int status = StopChild(child, absl::Milliseconds(200));
  ASSERT_TRUE(WIFSIGNALED(status)) << WaitStatusText(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_EQ(child.pid, -1);
}

TEST(LauncherProcessTest, StopChildEndsAChildThatHonoursSigterm) {
  SpawnSpec spec;
  spec.argv = {"/bin/sleep", "30"};
  VEIL_ASSERT_OK_AND_ASSIGN(Child child, Spawn(spec));
  const int status = StopChild(child, absl::Seconds(10));
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(WaitStatusText(status), "killed by signal 15 (SIGTERM)");
}

TEST(LauncherProcessTest, WaitExitTimesOut) {
  SpawnSpec spec;
  spec.argv = {"/bin/sleep", "30"};
  VEIL_ASSERT_OK_AND_ASSIGN(Child child, Spawn(spec));
  EXPECT_FALSE(WaitExit(child, absl::Milliseconds(50)).has_value());
  StopChild(child, absl::Seconds(5));
}

TEST(EnclaveEndTest, Description) {
  EnclaveEnd end;
  end.exit_code = 3;
  EXPECT_EQ(end.Description(), "exited with status 3");
  end.exit_code = -1;
  end.signal = SIGKILL;
  EXPECT_EQ(end.Description(), "killed by signal 9 (SIGKILL)");
}

}  // namespace
}  // namespace veil::nitro_sim
