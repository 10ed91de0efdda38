#include "veil/attestation/nsm/measurement.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::attestation::nsm {
namespace {

using ::veil::testing::StatusIs;

std::string Hex(const PcrValue& v) { return HexEncode(v); }

absl::Span<const uint8_t> View(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// A scratch directory that is removed with its files.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/veil-measure-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    for (const std::string& f : files_) std::remove(f.c_str());
    ::rmdir(path_.c_str());
  }
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = path_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// Expected values computed independently (Python hashlib) from the layout in
// measurement.h: PCR = SHA-384(PCR || SHA-384(part)), per part, from 0^48.
constexpr char kBinary[] = "veil-enclave binary";
constexpr char kModel[] = "yolov5s model bytes";
constexpr char kConfig[] = "{\"tenant\":\"acme\"}";
constexpr char kPcr0[] =
    "8e77d9bd99da67a37e1e0d7767a9a955cfbf2ee5a21c3b4c0f73e70c9cafe5968afd75e00203c6fdd9622b3d54128c53";
constexpr char kPcr1[] =
    "9e1522006931012bb26b2914d93632169f254dd160bec04de2893815f0843c8d3ddcb0ef28c33298d146bc62459fba66";
constexpr char kPcr2[] =
    "998d81cb8bfe026cb1b0d4e74eef96f8c77fcb8098f6cce440588294fbded137aa5bf5799306c63f8fdfc4cc052e0064";

TEST(MeasurementTest, ExtendIsSha384OfPcrAndData) {
  EXPECT_EQ(Hex(PcrExtend(ZeroPcr(), View("abc"))),
            "b1c16eb7634112b7c9d5ebd27e62a2d4528bbfcfd68b62d3afd9ecf98e0f413a84314acce78317fb69fd895155"
            "343e09");
}

TEST(MeasurementTest, ImagePartsKnownAnswer) {
  const std::string parts[] = {kBinary, kModel, kConfig};
  const absl::Span<const uint8_t> views[] = {View(parts[0]), View(parts[1]), View(parts[2])};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement m, MeasureImageParts(views));
  EXPECT_EQ(Hex(m.pcr0), kPcr0);
  EXPECT_EQ(Hex(m.pcr1), kPcr1);
  EXPECT_EQ(Hex(m.pcr2), kPcr2);
}

TEST(MeasurementTest, FilesMeasureLikeParts) {
  TempDir dir;
  const std::vector<std::string> paths = {dir.Write("enclave", kBinary), dir.Write("model", kModel),
                                          dir.Write("config", kConfig)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement m, MeasureImageFiles(paths));
  EXPECT_EQ(Hex(m.pcr0), kPcr0);
  EXPECT_EQ(Hex(m.pcr1), kPcr1);
  EXPECT_EQ(Hex(m.pcr2), kPcr2);
}

TEST(MeasurementTest, LargeFilesAreStreamedToTheSameValue) {
  TempDir dir;
  std::string big(3 * 65536 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + 3);
  const std::vector<std::string> paths = {dir.Write("enclave", kBinary), dir.Write("model", big)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement from_files, MeasureImageFiles(paths));
  const std::string binary = kBinary;
  const absl::Span<const uint8_t> views[] = {View(binary), View(big)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement from_memory, MeasureImageParts(views));
  EXPECT_EQ(from_files.pcr0, from_memory.pcr0);
  EXPECT_EQ(from_files.pcr2, from_memory.pcr2);
}

TEST(MeasurementTest, OneChangedModelByteChangesPcr0AndPcr2NotPcr1) {
  std::string model = kModel;
  const std::string binary = kBinary;
  const std::string config = kConfig;
  const absl::Span<const uint8_t> a[] = {View(binary), View(model), View(config)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement before, MeasureImageParts(a));
  model[5] ^= 0x01;
  const absl::Span<const uint8_t> b[] = {View(binary), View(model), View(config)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement after, MeasureImageParts(b));
  EXPECT_NE(before.pcr0, after.pcr0);
  EXPECT_NE(before.pcr2, after.pcr2);
  EXPECT_EQ(before.pcr1, after.pcr1);
}

TEST(MeasurementTest, MovingBytesAcrossAPartBoundaryChangesTheMeasurement) {
  const std::string binary = kBinary;
  const std::string a1 = "model-", a2 = "config";
  const std::string b1 = "model-c", b2 = "onfig";
  const absl::Span<const uint8_t> a[] = {View(binary), View(a1), View(a2)};
  const absl::Span<const uint8_t> b[] = {View(binary), View(b1), View(b2)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement ma, MeasureImageParts(a));
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement mb, MeasureImageParts(b));
  EXPECT_NE(ma.pcr0, mb.pcr0);
  EXPECT_NE(ma.pcr2, mb.pcr2);
}

TEST(MeasurementTest, BinaryAloneHasZeroPcr2) {
  const std::string binary = kBinary;
  const absl::Span<const uint8_t> parts[] = {View(binary)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement m, MeasureImageParts(parts));
  EXPECT_EQ(m.pcr0, m.pcr1);
  EXPECT_EQ(m.pcr2, ZeroPcr());
}

TEST(MeasurementTest, ErrorsAreReported) {
  EXPECT_THAT(MeasureImageFiles({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MeasureImageParts({}), StatusIs(absl::StatusCode::kInvalidArgument));
  const std::vector<std::string> missing = {"/nonexistent/veil/enclave"};
  EXPECT_THAT(MeasureImageFiles(missing), StatusIs(absl::StatusCode::kNotFound));
}

TEST(MeasurementTest, BootPcrsFollowTheLayout) {
  const std::string parts[] = {kBinary, kModel, kConfig};
  const absl::Span<const uint8_t> views[] = {View(parts[0]), View(parts[1]), View(parts[2])};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement m, MeasureImageParts(views));
  const std::string role = "arn:aws:iam::123456789012:role/veil-enclave";
  const auto pcrs = BootPcrs(m, "i-0bee92034f3d60691", role, /*debug=*/false);
  EXPECT_EQ(Hex(pcrs[0]), kPcr0);
  EXPECT_EQ(Hex(pcrs[1]), kPcr1);
  EXPECT_EQ(Hex(pcrs[2]), kPcr2);
  EXPECT_EQ(Hex(pcrs[3]),
            "fd026cb72894041f504426c4e74c943a5d651b16f811ab93aa88e1c29c726d994417dc31aa107faf0a20b781"
            "25e020a0");
  // doc1's parent instance (see the real-document test below).
  EXPECT_EQ(Hex(pcrs[4]),
            "5ecf4fb14c100ccc62999e094c99819ce9e51dd7c9497602d1cdf68b98cba25c153406046d9f9096f9d05921"
            "1c7cbca3");
  for (int i : {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}) EXPECT_EQ(pcrs[i], ZeroPcr()) << i;

  const auto no_role = BootPcrs(m, "i-0bee92034f3d60691", std::nullopt, false);
  EXPECT_EQ(no_role[3], ZeroPcr());
}

// Brief 0.5: debug mode zeroes PCR0, 1, 2 and 8 but keeps PCR3 and PCR4.
TEST(MeasurementTest, DebugZeroesImagePcrsButKeepsRoleAndInstance) {
  const std::string binary = kBinary;
  const absl::Span<const uint8_t> parts[] = {View(binary)};
  VEIL_ASSERT_OK_AND_ASSIGN(ImageMeasurement m, MeasureImageParts(parts));
  const auto pcrs = BootPcrs(m, "i-0bee92034f3d60691", "arn:aws:iam::1:role/r", /*debug=*/true);
  for (int i : {0, 1, 2, 8}) EXPECT_EQ(pcrs[i], ZeroPcr()) << i;
  EXPECT_NE(pcrs[3], ZeroPcr());
  EXPECT_NE(pcrs[4], ZeroPcr());
}

// Brief 0.6 and 1.5: PCR4 = SHA-384(0^48 || ASCII instance id), where the id
// is module_id up to "-enc" -- checked against all four real documents.
TEST(MeasurementTest, Pcr4MatchesTheRealDocuments) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(std::string text,
                            veil::testing::ReadFileString(shared + "/testdata/nitro/expected.json"));
  const nlohmann::json expected = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(expected.is_discarded());
  ASSERT_TRUE(expected.contains("documents"));
  int checked = 0;
  for (const nlohmann::json& doc : expected["documents"]) {
    const std::string module_id = doc["module_id"].get<std::string>();
    const std::optional<std::string> instance = InstanceIdOfModuleId(module_id);
    ASSERT_TRUE(instance.has_value()) << module_id;
    EXPECT_EQ(Hex(MeasureInstanceId(*instance)), doc["pcrs"]["4"].get<std::string>()) << module_id;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(MeasurementTest, InstanceIdOfModuleId) {
  EXPECT_EQ(InstanceIdOfModuleId("i-0bee92034f3d60691-enc01943c5eaab3ad6a"), "i-0bee92034f3d60691");
  EXPECT_EQ(InstanceIdOfModuleId("mock-i-00000000000000000-enc0000000000000000"),
            "mock-i-00000000000000000");
  EXPECT_FALSE(InstanceIdOfModuleId("i-0bee92034f3d60691").has_value());
}

}  // namespace
}  // namespace veil::attestation::nsm
