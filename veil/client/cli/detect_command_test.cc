// Tests of `veil detect` and `veil model manifest` as functions (the real
// binary is tested end to end by veil_detect_test.sh). The tests that run a
// network use the small pretrained models in ../shared/models.
#include "veil/client/cli/detect_command.h"

#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/command_table.h"
#include "veil/client/cli/model_command.h"
#include "veil/inference/model.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::client {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using ::veil::testing::StatusIs;

constexpr char kV5Lite[] = "/models/v5lite-e-320-decoded.onnx";
constexpr char kYolox[] = "/models/yolox_nano.onnx";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::set<std::string> Labels(const nlohmann::json& detections) {
  std::set<std::string> labels;
  for (const auto& d : detections) labels.insert(d["label"].get<std::string>());
  return labels;
}

// ScopedEnv sets or unsets an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class DetectCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/veil_detect_XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void Write(const std::string& name, const std::string& data) const {
    fs::create_directories(fs::path(Path(name)).parent_path());
    std::ofstream(Path(name), std::ios::binary) << data;
  }

  // A search that finds nothing unless the test puts files under dir_.
  ModelSearch EmptySearch() const {
    return ModelSearch{std::nullopt, Path("repo"), Path("shared")};
  }

  // Run runs `veil detect` with the output captured.
  absl::Status Run(const DetectCommandOptions& options, const ModelSearch& search) {
    out_.str("");
    err_.str("");
    return RunDetect(options, search, out_, err_);
  }
  absl::Status Run(const DetectCommandOptions& options) { return Run(options, EmptySearch()); }

  // ManifestBeside links `onnx` into dir_ as `name`.onnx and writes
  // `name`.json beside it with `veil model manifest`.
  std::string ManifestBeside(const std::string& onnx, const std::string& name,
                             const std::string& family = "yolov5") {
    fs::create_symlink(onnx, Path(name + ".onnx"));
    ModelManifestCommandOptions m;
    m.onnx = Path(name + ".onnx");
    m.family = family;
    m.output = Path(name + ".json");
    std::ostringstream unused;
    EXPECT_TRUE(RunModelManifest(m, unused).ok());
    return m.output;
  }

  std::string dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(DetectCommandTest, JsonLineHasTheExpectedLabels) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(std::string expected_text,
                            testing::ReadFileString(shared + "/testdata/images/expected.json"));
  const nlohmann::json expected = nlohmann::json::parse(expected_text);
  DetectCommandOptions o;
  o.images = {shared + "/testdata/images/dog.jpg"};
  o.model = shared + kV5Lite;
  o.json = true;
  VEIL_ASSERT_OK(Run(o));
  EXPECT_EQ(err_.str(), "");  // --json describes the model in the document only
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 1u);
  const nlohmann::json doc = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(doc["source"], o.images[0]);
  EXPECT_EQ(doc["model"]["family"], "yolov5");
  EXPECT_EQ(doc["image"]["width"], 768);
  EXPECT_EQ(doc["image"]["height"], 576);
  const std::set<std::string> want =
      Labels(expected["models"]["v5lite-e-320-decoded.onnx"]["dog.jpg"]["detections"]);
  EXPECT_EQ(want, (std::set<std::string>{"dog", "bicycle", "car", "truck"}));
  EXPECT_EQ(Labels(doc["detections"]), want);
}

TEST_F(DetectCommandTest, TextOutputNamesTheModelAndListsDetections) {
  VEIL_REQUIRE_SHARED(shared);
  DetectCommandOptions o;
  o.images = {shared + "/testdata/images/dog.jpg"};
  o.model = shared + kV5Lite;
  VEIL_ASSERT_OK(Run(o));
  EXPECT_THAT(err_.str(), AllOf(StartsWith("veil detect: model v5lite-e-320-decoded unversioned, "
                                           "yolov5, 320x320, sha256 0c38c8da926f98bb..."),
                                HasSubstr("derived from"), HasSubstr("(--model)")));
  EXPECT_EQ(Lines(err_.str()).size(), 1u);
  const std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 5u) << out_.str();
  EXPECT_THAT(lines[0], AllOf(StartsWith(o.images[0] + ": 768x576 jpeg, 4 detections in "),
                              ::testing::EndsWith(" ms")));
  // expected.json: dog 0.695 at [135, 204, 194, 333]; within 0.02 and a
  // few pixels.
  EXPECT_THAT(lines[1],
              ::testing::ContainsRegex(
                  "^  dog        0\\.[67][0-9]  \\[13[3-7], 20[2-6], 19[2-6], 33[1-5]\\]$"));
}

TEST_F(DetectCommandTest, YoloxFamilyForAnOnnxWithoutManifest) {
  VEIL_REQUIRE_SHARED(shared);
  DetectCommandOptions o;
  o.images = {shared + "/testdata/images/dog.jpg"};
  o.model = shared + kYolox;
  o.family = "yolox";
  o.json = true;
  VEIL_ASSERT_OK(Run(o));
  const nlohmann::json doc = nlohmann::json::parse(out_.str());
  EXPECT_EQ(doc["model"]["family"], "yolox");
  EXPECT_TRUE(Labels(doc["detections"]).count("dog")) << out_.str();
}

TEST_F(DetectCommandTest, AModelFileNameThatIsNotUtf8IsRefused) {
  VEIL_REQUIRE_SHARED(shared);
  fs::create_symlink(shared + kV5Lite, Path("m\xff.onnx"));
  DetectCommandOptions o;
  o.images = {shared + "/testdata/images/dog.jpg"};
  o.model = Path("m\xff.onnx");
  o.json = true;
  const absl::Status s = Run(o);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(s.message()), HasSubstr("not valid UTF-8"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(DetectCommandTest, ModelResolutionOrder) {
  const ModelSearch empty = EmptySearch();
  Write("shared/models/v5lite-e-320-decoded.onnx", "x");
  VEIL_ASSERT_OK_AND_ASSIGN(ModelChoice c, ChooseModel("", empty));
  EXPECT_EQ(c.path, Path("shared/models/v5lite-e-320-decoded.onnx"));
  EXPECT_EQ(c.family, inference::ModelFamily::kYolov5);

  Write("repo/models/yolov5s.onnx", "x");
  VEIL_ASSERT_OK_AND_ASSIGN(c, ChooseModel("", empty));
  EXPECT_EQ(c.path, Path("repo/models/yolov5s.onnx"));
  EXPECT_EQ(c.family, std::nullopt);  // --family (default yolov5) decides

  Write("repo/models/yolov5s.json", "{}");
  VEIL_ASSERT_OK_AND_ASSIGN(c, ChooseModel("", empty));
  EXPECT_EQ(c.path, Path("repo/models/yolov5s.json"));

  Write("env.onnx", "x");
  ModelSearch with_env = empty;
  with_env.env_model = Path("env.onnx");
  VEIL_ASSERT_OK_AND_ASSIGN(c, ChooseModel("", with_env));
  EXPECT_EQ(c.path, Path("env.onnx"));
  EXPECT_EQ(c.origin, "$VEIL_MODEL");

  VEIL_ASSERT_OK_AND_ASSIGN(c, ChooseModel("flag.onnx", with_env));
  EXPECT_EQ(c.path, "flag.onnx");
  EXPECT_EQ(c.origin, "--model");

  // $VEIL_MODEL is an explicit choice: a wrong one is an error, not a
  // reason to use something else.
  with_env.env_model = Path("missing.onnx");
  EXPECT_THAT(ChooseModel("", with_env), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(std::string(ChooseModel("", with_env).status().message()),
              HasSubstr("$VEIL_MODEL names " + Path("missing.onnx")));
}

TEST_F(DetectCommandTest, DefaultSearchReadsVeilModelFromTheEnvironment) {
  {
    ScopedEnv env("VEIL_MODEL", "/some/model.json");
    EXPECT_EQ(DefaultModelSearch().env_model, "/some/model.json");
  }
  {
    ScopedEnv env("VEIL_MODEL", "");
    EXPECT_EQ(DefaultModelSearch().env_model, std::nullopt);
  }
  ScopedEnv env("VEIL_MODEL", nullptr);
  const ModelSearch search = DefaultModelSearch();
  EXPECT_EQ(search.env_model, std::nullopt);
  EXPECT_EQ(search.repo_dir, testing::SourceDir());
}

TEST_F(DetectCommandTest, MissingModelListsEveryPathTried) {
  Write("dog.jpg", "not read: the model is resolved first");
  DetectCommandOptions o;
  o.images = {Path("dog.jpg")};
  const absl::Status s = Run(o);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_FALSE(IsUsageError(s));
  const std::string message(s.message());
  EXPECT_THAT(message, HasSubstr("$VEIL_MODEL (not set)"));
  EXPECT_THAT(message, HasSubstr(Path("repo/models/yolov5s.json")));
  EXPECT_THAT(message, HasSubstr(Path("repo/models/yolov5s.onnx")));
  EXPECT_THAT(message, HasSubstr(Path("shared/models/v5lite-e-320-decoded.onnx")));
  EXPECT_THAT(message, HasSubstr("python export.py --weights yolov5s.pt --include onnx"));
  EXPECT_THAT(message, HasSubstr("veil model manifest"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(DetectCommandTest, FlagsAreValidatedBeforeAnythingRuns) {
  Write("a.jpg", "");
  Write("b.jpg", "");
  Write("not-a-dir", "");
  DetectCommandOptions base;
  base.images = {Path("a.jpg")};
  base.model = Path("no-such-model.onnx");
  auto usage = [&](DetectCommandOptions o) {
    const absl::Status s = Run(o);
    EXPECT_TRUE(IsUsageError(s)) << s;
    EXPECT_EQ(ExitCode(s), kExitUsage);
    return std::string(s.message());
  };
  DetectCommandOptions o = base;
  o.images.clear();
  usage(o);
  for (double bad : {0.0, -0.1, 1.5, std::nan("")}) {
    o = base;
    o.conf = bad;
    EXPECT_THAT(usage(o), HasSubstr("--conf"));
    o = base;
    o.iou = bad;
    EXPECT_THAT(usage(o), HasSubstr("--iou"));
  }
  o = base;
  o.family = "yolov8";
  EXPECT_THAT(usage(o), HasSubstr("--family yolov8"));
  o = base;
  o.images = {Path("a.jpg"), Path("b.jpg")};
  o.annotate = Path("not-a-dir");
  EXPECT_THAT(usage(o), HasSubstr("must name an existing directory"));
  o = base;
  o.annotate = "-";
  EXPECT_THAT(usage(o), HasSubstr("--annotate -"));
  o = base;
  o.annotate = Path("a.jpg");
  EXPECT_THAT(usage(o), HasSubstr("overwrite the input image"));
  o = base;
  o.images = {Path("a.jpg"), Path("sub/a.png")};
  o.annotate = dir_;
  EXPECT_THAT(usage(o), HasSubstr("would both be written to"));

  // With valid flags the missing model is the (non-usage) error.
  EXPECT_THAT(Run(base), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DetectCommandTest, FamilyContradictingAManifestIsAUsageError) {
  VEIL_REQUIRE_SHARED(shared);
  const std::string manifest = ManifestBeside(shared + kV5Lite, "v5");
  DetectCommandOptions o;
  o.images = {shared + "/testdata/images/dog.jpg"};
  o.json = true;
  for (const std::string& model : {manifest, Path("v5.onnx")}) {
    o.model = model;
    o.family = "yolox";
    const absl::Status s = Run(o);
    EXPECT_TRUE(IsUsageError(s)) << s;
    EXPECT_THAT(std::string(s.message()),
                AllOf(HasSubstr("--family yolox contradicts the manifest"), HasSubstr("yolov5")));
    o.family = "yolov5";  // agreeing is fine
    VEIL_EXPECT_OK(Run(o));
    EXPECT_EQ(Lines(out_.str()).size(), 1u);
  }
  // Nor may --family contradict the shared fallback, which is YOLOv5.
  o.model.clear();
  o.family = "yolox";
  const absl::Status s = Run(o, ModelSearch{std::nullopt, Path("repo"), shared});
  EXPECT_TRUE(IsUsageError(s)) << s;
}

TEST_F(DetectCommandTest, ManifestWithAWrongDigestIsRefused) {
  VEIL_REQUIRE_SHARED(shared);
  const std::string manifest = ManifestBeside(shared + kV5Lite, "v5");
  VEIL_ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFileString(manifest));
  nlohmann::json doc = nlohmann::json::parse(text);
  std::string digest = doc["weights_sha256"];
  digest[10] = digest[10] == '0' ? '1' : '0';
  doc["weights_sha256"] = digest;
  std::ofstream(manifest, std::ios::trunc) << doc.dump(2);

  DetectCommandOptions o;
  o.images = {shared + "/testdata/images/dog.jpg"};
  for (const std::string& model : {manifest, Path("v5.onnx")}) {
    o.model = model;
    const absl::Status s = Run(o);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(s.message()), AllOf(HasSubstr("do not match the manifest"),
                                                HasSubstr("SHA-256"), HasSubstr(digest)));
    EXPECT_EQ(out_.str(), "");
  }
}

TEST_F(DetectCommandTest, ABadImageIsReportedAndTheOthersStillRun) {
  VEIL_REQUIRE_SHARED(shared);
  const std::string images = shared + "/testdata/images/";
  VEIL_ASSERT_OK_AND_ASSIGN(std::string dog, testing::ReadFileString(images + "dog.jpg"));
  Write("empty.jpg", "");
  Write("x.jpg", "this is a text file\n");
  Write("truncated.jpg", dog.substr(0, 5000));
  DetectCommandOptions o;
  o.images = {images + "dog.jpg",    Path("empty.jpg"),   Path("x.jpg"),
              Path("truncated.jpg"), Path("missing.jpg"), images + "horses.jpg"};
  o.model = shared + kV5Lite;
  o.json = true;
  const absl::Status s = Run(o);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(IsUsageError(s));
  EXPECT_EQ(ExitCode(s), kExitFailure);
  EXPECT_EQ(s.message(), "4 of 6 images failed");

  const std::vector<std::string> out = Lines(out_.str());
  ASSERT_EQ(out.size(), 2u) << out_.str();
  EXPECT_EQ(nlohmann::json::parse(out[0])["source"], images + "dog.jpg");
  EXPECT_EQ(nlohmann::json::parse(out[1])["source"], images + "horses.jpg");

  const std::vector<std::string> err = Lines(err_.str());
  ASSERT_EQ(err.size(), 4u) << err_.str();
  for (size_t i = 0; i < err.size(); ++i) {
    EXPECT_THAT(err[i], StartsWith("veil detect: " + o.images[i + 1] + ": ")) << err[i];
  }
  // Each failure says what is wrong with that file.
  EXPECT_THAT(err[0], HasSubstr("empty"));
  EXPECT_THAT(err[1], ::testing::Not(HasSubstr("this is a text file")));
  EXPECT_NE(err[1], err[2]);
  EXPECT_THAT(err[3], HasSubstr("No such file"));
}

// PngSize reads the width and height from a PNG's IHDR chunk.
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  auto be32 = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(png[at])} << 24) |
           (uint32_t{static_cast<uint8_t>(png[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(png[at + 2])} << 8) |
           uint32_t{static_cast<uint8_t>(png[at + 3])};
  };
  if (png.size() < 24 || png.compare(12, 4, "IHDR") != 0) return {0, 0};
  return {be32(16), be32(20)};
}

TEST_F(DetectCommandTest, AnnotateWritesPngsOfTheImagesSize) {
  VEIL_REQUIRE_SHARED(shared);
  const std::string images = shared + "/testdata/images/";
  DetectCommandOptions o;
  o.images = {images + "dog.jpg"};
  o.model = shared + kV5Lite;
  o.annotate = Path("out.png");
  VEIL_ASSERT_OK(Run(o));
  EXPECT_THAT(out_.str(), HasSubstr("  annotated: " + Path("out.png") + "\n"));
  VEIL_ASSERT_OK_AND_ASSIGN(std::string png, testing::ReadFileString(Path("out.png")));
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(PngSize(png), std::make_pair(768u, 576u));

  fs::create_directory(Path("annotated"));
  o.images = {images + "dog.jpg", images + "horses.jpg"};
  o.annotate = Path("annotated");
  o.json = true;
  VEIL_ASSERT_OK(Run(o));
  EXPECT_EQ(Lines(out_.str()).size(), 2u);
  VEIL_ASSERT_OK_AND_ASSIGN(png, testing::ReadFileString(Path("annotated/dog.annotated.png")));
  EXPECT_EQ(PngSize(png), std::make_pair(768u, 576u));
  VEIL_ASSERT_OK_AND_ASSIGN(png, testing::ReadFileString(Path("annotated/horses.annotated.png")));
  EXPECT_NE(PngSize(png), std::make_pair(0u, 0u));
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(Path("annotated"))) ++files;
  EXPECT_EQ(files, 2u);  // no temporary files left behind
}

TEST_F(DetectCommandTest, ModelManifestDescribesTheOnnxFile) {
  VEIL_REQUIRE_SHARED(shared);
  ModelManifestCommandOptions m;
  m.onnx = shared + kV5Lite;
  std::ostringstream out;
  VEIL_ASSERT_OK(RunModelManifest(m, out));
  VEIL_ASSERT_OK_AND_ASSIGN(inference::ModelManifest manifest, inference::ParseManifest(out.str()));
  EXPECT_EQ(manifest.id, "v5lite-e-320-decoded");
  EXPECT_EQ(manifest.version, "unversioned");
  EXPECT_EQ(manifest.family, inference::ModelFamily::kYolov5);
  EXPECT_EQ(manifest.weights, "v5lite-e-320-decoded.onnx");
  EXPECT_EQ(manifest.weights_sha256,
            "0c38c8da926f98bb9b37bb01bc2f379f98128c0f83a032677b34cbef1aefd325");
  EXPECT_EQ(manifest.input_width, 320);
  EXPECT_EQ(manifest.class_names, inference::CocoClassNames());

  m.onnx = shared + kYolox;
  m.family = "yolox";
  m.id = "yolox-nano";
  m.version = "0.1.1";
  m.output = Path("yolox.json");
  out.str("");
  VEIL_ASSERT_OK(RunModelManifest(m, out));
  EXPECT_EQ(out.str(), "");
  VEIL_ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFileString(m.output));
  VEIL_ASSERT_OK_AND_ASSIGN(manifest, inference::ParseManifest(text));
  EXPECT_EQ(manifest.id, "yolox-nano");
  EXPECT_EQ(manifest.version, "0.1.1");
  EXPECT_EQ(manifest.family, inference::ModelFamily::kYolox);
  EXPECT_EQ(manifest.input_width, 416);
}

TEST_F(DetectCommandTest, ModelManifestUsageErrors) {
  Write("m.onnx", "not onnx");
  ModelManifestCommandOptions m;
  m.onnx = Path("m.onnx");
  std::ostringstream out;
  m.family = "yolov8";
  EXPECT_TRUE(IsUsageError(RunModelManifest(m, out)));
  m.family = "yolov5";
  m.version = "";
  EXPECT_TRUE(IsUsageError(RunModelManifest(m, out)));
  m.version = "1";
  m.id = "tab\tid";
  EXPECT_TRUE(IsUsageError(RunModelManifest(m, out)));
  m.id = "";
  m.output = Path("m.onnx");
  EXPECT_TRUE(IsUsageError(RunModelManifest(m, out)));
  m.output = "-";
  const absl::Status s = RunModelManifest(m, out);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(IsUsageError(s));
  m.onnx = Path("missing.onnx");
  EXPECT_THAT(RunModelManifest(m, out), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(out.str(), "");
}

TEST(DetectCommandTableTest, DetectAndModelAreCommands) {
  std::vector<std::string> names;
  for (const Subcommand& c : Subcommands()) names.push_back(c.name);
  EXPECT_THAT(names, ::testing::IsSupersetOf({"detect", "model"}));
  const char* detect[] = {"veil", "detect", "a.jpg", "b.png", "--json", "--conf", "0.5"};
  VEIL_EXPECT_OK(ParseCommandLine(7, detect).status());
  const char* no_images[] = {"veil", "detect", "--json"};
  auto r = ParseCommandLine(3, no_images);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(IsUsageError(r.status()));
  const char* manifest[] = {"veil", "model", "manifest", "m.onnx", "--version", "7.0"};
  VEIL_EXPECT_OK(ParseCommandLine(6, manifest).status());
  const char* no_sub[] = {"veil", "model"};
  EXPECT_FALSE(ParseCommandLine(2, no_sub).ok());
}

}  // namespace
}  // namespace veil::client
