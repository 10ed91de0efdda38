// Model manifests: strict parsing, the digest pin, and the declared tensor
// shapes read from the ONNX encoding.
#include "veil/inference/model.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/inference/internal/onnx_shape.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::inference {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

constexpr char kV5Lite[] = "v5lite-e-320-decoded.onnx";
constexpr char kV5LiteSha[] = "0c38c8da926f98bb9b37bb01bc2f379f98128c0f83a032677b34cbef1aefd325";

nlohmann::json ValidManifest() {
  return {{"format", "veil-model-manifest/1"},
          {"id", "v5lite-e"},
          {"version", "1.4"},
          {"family", "yolov5"},
          {"weights", kV5Lite},
          {"weights_sha256", kV5LiteSha},
          {"input", {{"width", 320}, {"height", 320}}}};
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(ManifestTest, ParsesWithFamilyDefaults) {
  VEIL_ASSERT_OK_AND_ASSIGN(ModelManifest m, ParseManifest(ValidManifest().dump()));
  EXPECT_EQ(m.id, "v5lite-e");
  EXPECT_EQ(m.family, ModelFamily::kYolov5);
  EXPECT_EQ(m.input_width, 320);
  EXPECT_EQ(m.class_names.size(), 80u);
  EXPECT_EQ(m.class_names[0], "person");
  EXPECT_EQ(m.class_names[79], "toothbrush");
  EXPECT_EQ(m.preprocessing.placement, LetterboxPlacement::kCenter);
  EXPECT_TRUE(m.preprocessing.swap_rb);

  nlohmann::json x = ValidManifest();
  x["family"] = "yolox";
  x["classes"] = {"cat", "dog"};
  x["preprocess"] = {{"pad_value", 0}, {"channel_order", "rgb"}};
  VEIL_ASSERT_OK_AND_ASSIGN(m, ParseManifest(x.dump()));
  EXPECT_EQ(m.preprocessing.placement, LetterboxPlacement::kTopLeft);
  EXPECT_EQ(m.preprocessing.pad_value, 0);
  EXPECT_TRUE(m.preprocessing.swap_rb);
  EXPECT_EQ(m.preprocessing.scale, 1.0);
  EXPECT_THAT(m.class_names, ElementsAre("cat", "dog"));
}

TEST(ManifestTest, RoundTripsThroughJson) {
  nlohmann::json x = ValidManifest();
  x["classes"] = {"a", "b", "c"};
  VEIL_ASSERT_OK_AND_ASSIGN(ModelManifest m, ParseManifest(x.dump()));
  VEIL_ASSERT_OK_AND_ASSIGN(ModelManifest again, ParseManifest(ManifestToJson(m)));
  EXPECT_EQ(ManifestToJson(again), ManifestToJson(m));
  EXPECT_EQ(again.class_names, m.class_names);
  VEIL_ASSERT_OK_AND_ASSIGN(m, ParseManifest(ValidManifest().dump()));
  EXPECT_THAT(ManifestToJson(m), HasSubstr("\"classes\": \"coco80\""));
}

TEST(ManifestTest, EachBadFieldIsNamed) {
  struct Case {
    std::string key;
    nlohmann::json value;  // null = remove the key
  };
  const std::vector<Case> cases = {
      {"format", nullptr},          {"format", "other/1"},   {"id", nullptr},
      {"id", ""},                   {"version", 7},          {"family", "yolov8"},
      {"weights", "../x.onnx"},     {"weights_sha256", "AB"}, {"weights_sha256", std::string(64, 'G')},
      {"input", nullptr},           {"input", {{"width", 320}, {"height", 300}}},
      {"classes", nlohmann::json::array()}, {"classes", "voc20"},
      {"preprocess", {{"letterbox", "bottom"}}}, {"preprocess", {{"scale", -1}}},
      {"unexpected", 1},
  };
  for (const Case& c : cases) {
    nlohmann::json x = ValidManifest();
    if (c.value.is_null()) {
      x.erase(c.key);
    } else {
      x[c.key] = c.value;
    }
    const auto parsed = ParseManifest(x.dump());
    EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument)) << c.key;
    EXPECT_THAT(Message(parsed.status()), HasSubstr(c.key)) << x.dump();
  }
  EXPECT_THAT(ParseManifest("not json"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseManifest("[1]"), StatusIs(absl::StatusCode::kInvalidArgument));
}

class ModelDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("veil-model-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(ModelDirTest, ManifestPinsTheWeights) {
  VEIL_REQUIRE_SHARED(shared);
  fs::copy_file(shared + "/models/" + std::string(kV5Lite), dir_ / kV5Lite);
  Write("v5lite.json", ValidManifest().dump());
  VEIL_ASSERT_OK_AND_ASSIGN(LoadedModel model, LoadModel((dir_ / "v5lite.json").string()));
  EXPECT_FALSE(model.derived);
  EXPECT_EQ(model.manifest.weights_sha256, kV5LiteSha);
  EXPECT_EQ(model.weights.size(), 3300205u);

  // One changed byte of the weights: refused, naming both digests.
  std::vector<uint8_t> bytes = model.weights;
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(dir_ / kV5Lite, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  const auto tampered = LoadModel((dir_ / "v5lite.json").string());
  EXPECT_THAT(tampered, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Message(tampered.status()), HasSubstr("do not match the manifest"));
  EXPECT_THAT(Message(tampered.status()), HasSubstr(kV5LiteSha));
}

TEST_F(ModelDirTest, ManifestBesideTheOnnxIsUsed) {
  VEIL_REQUIRE_SHARED(shared);
  fs::copy_file(shared + "/models/" + std::string(kV5Lite), dir_ / kV5Lite);
  Write("v5lite-e-320-decoded.json", ValidManifest().dump());
  VEIL_ASSERT_OK_AND_ASSIGN(LoadedModel model, LoadModel((dir_ / kV5Lite).string()));
  EXPECT_FALSE(model.derived);
  EXPECT_EQ(model.manifest.id, "v5lite-e");
  EXPECT_EQ(model.manifest.version, "1.4");
}

TEST_F(ModelDirTest, ShapesMustAgreeWithTheManifest) {
  VEIL_REQUIRE_SHARED(shared);
  fs::copy_file(shared + "/models/" + std::string(kV5Lite), dir_ / kV5Lite);
  nlohmann::json wrong_size = ValidManifest();
  wrong_size["input"] = {{"width", 640}, {"height", 640}};
  Write("size.json", wrong_size.dump());
  auto status = LoadModel((dir_ / "size.json").string());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Message(status.status()), HasSubstr("1x3x320x320"));

  nlohmann::json wrong_classes = ValidManifest();
  wrong_classes["classes"] = {"cat", "dog"};
  Write("classes.json", wrong_classes.dump());
  status = LoadModel((dir_ / "classes.json").string());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Message(status.status()), HasSubstr("1x6300x85"));
}

TEST_F(ModelDirTest, MissingFilesAreNotFound) {
  EXPECT_THAT(LoadModel((dir_ / "none.onnx").string()), StatusIs(absl::StatusCode::kNotFound));
  Write("m.json", ValidManifest().dump());
  const auto status = LoadModel((dir_ / "m.json").string());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(Message(status.status()), HasSubstr(kV5Lite));
}

TEST(OnnxSignatureTest, ReadsTheSharedModels) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> v5,
                            testing::ReadFile(shared + "/models/" + std::string(kV5Lite)));
  VEIL_ASSERT_OK_AND_ASSIGN(internal::OnnxSignature sig, internal::ReadOnnxSignature(v5));
  EXPECT_EQ(sig.input.name, "images");
  EXPECT_THAT(sig.input.dims, ElementsAre(1, 3, 320, 320));
  EXPECT_EQ(sig.output.name, "output");
  EXPECT_THAT(sig.output.dims, ElementsAre(1, 6300, 85));

  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> yolox,
                            testing::ReadFile(shared + "/models/yolox_nano.onnx"));
  VEIL_ASSERT_OK_AND_ASSIGN(sig, internal::ReadOnnxSignature(yolox));
  EXPECT_THAT(sig.input.dims, ElementsAre(1, 3, 416, 416));
  EXPECT_THAT(sig.output.dims, ElementsAre(1, 3549, 85));

  // Described without a manifest: family from the caller, size from the model.
  VEIL_ASSERT_OK_AND_ASSIGN(ModelManifest m,
                            DescribeOnnx(yolox, ModelFamily::kYolox, "yolox_nano", "yolox_nano.onnx"));
  EXPECT_EQ(m.input_width, 416);
  EXPECT_EQ(m.weights_sha256, "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14");
  EXPECT_EQ(m.preprocessing.placement, LetterboxPlacement::kTopLeft);
}

TEST(OnnxSignatureTest, FamilyMustFitTheRowCount) {
  VEIL_REQUIRE_SHARED(shared);
  // YOLOX and YOLOv5 rows are both 85 wide; only the row count tells them apart.
  LoadOptions as_v5;
  as_v5.family = ModelFamily::kYolov5;
  auto status = LoadModel(shared + "/models/yolox_nano.onnx", as_v5);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Message(status.status()), HasSubstr("use family yolox"));
  LoadOptions as_x;
  as_x.family = ModelFamily::kYolox;
  status = LoadModel(shared + "/models/" + std::string(kV5Lite), as_x);
  EXPECT_THAT(Message(status.status()), HasSubstr("use family yolov5"));
}

TEST(OnnxSignatureTest, TruncatedOrGarbageIsAnError) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> v5,
                            testing::ReadFile(shared + "/models/" + std::string(kV5Lite)));
  // Truncations inside the graph's framing: the length-delimited graph
  // field cannot be complete, so every prefix is refused.
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{10}, size_t{100}, size_t{4096},
                   v5.size() / 2, v5.size() - 1}) {
    EXPECT_FALSE(internal::ReadOnnxSignature(absl::MakeConstSpan(v5.data(), n)).ok()) << n;
  }
  const std::string text = "definitely not protobuf \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
  EXPECT_FALSE(internal::ReadOnnxSignature(
                   absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()))
                   .ok());
}

}  // namespace
}  // namespace veil::inference
