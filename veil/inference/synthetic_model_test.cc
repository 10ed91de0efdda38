// The whole detection path, checked exactly.
//
// testdata/make_synthetic_yolo.py builds (at build time) ONNX models with
// yolov5s.onnx's input and output layout whose output is a fixed table of
// rows, and writes the table beside them (.rows.json). The tests here run
// those models through the real OpenCV runner and Detector on PNG images of
// several shapes, and compare the detections with an independent
// computation from the table (Ultralytics' letterbox, obj x best class
// probability, class-aware NMS, unletterbox, clip, order) to 1e-3 px.
//
// Also here: the Detector over FakeModelRunner (errors, the blob the network
// receives), concurrency, and, when $VEIL_YOLOV5S names a real Ultralytics
// yolov5s.onnx, a check of that model on dog.jpg.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"
#include "veil/inference/detector.h"
#include "veil/inference/model.h"
#include "veil/inference/model_runner.h"
#include "veil/inference/postprocess.h"
#include "veil/inference/testing/fake_model_runner.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::inference {
namespace {

using ::testing::ElementsAreArray;
using ::veil::testing::StatusIs;
using testing::FakeModelRunner;

constexpr int kCols = 85;

// ---------------------------------------------------------------------------
// The row table and an independent expectation computed from it.

struct TableRow {
  std::string name;
  int index = 0;
  std::array<float, kCols> v{};
};

struct Table {
  int input = 0;
  int rows = 0;
  std::vector<TableRow> entries;  // in the sidecar's order
};

float JsonFloat(const nlohmann::json& j) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "nan") return std::numeric_limits<float>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
    ADD_FAILURE() << "unknown value " << s;
    return 0;
  }
  return static_cast<float>(j.get<double>());
}

absl::StatusOr<Table> ReadTable(const std::string& model_path) {
  std::string path = model_path;
  path.replace(path.size() - std::string(".onnx").size(), std::string::npos, ".rows.json");
  VEIL_ASSIGN_OR_RETURN(std::string text, veil::testing::ReadFileString(path));
  const nlohmann::json doc = nlohmann::json::parse(text);
  Table t;
  t.input = doc.at("input").get<int>();
  t.rows = doc.at("rows").get<int>();
  if (doc.at("cols").get<int>() != kCols) return absl::InternalError("unexpected column count");
  for (const auto& e : doc.at("table")) {
    TableRow r;
    r.name = e.at("name").get<std::string>();
    r.index = e.at("index").get<int>();
    for (const auto& [col, value] : e.at("values").items()) {
      r.v.at(static_cast<size_t>(std::stoi(col))) = JsonFloat(value);
    }
    t.entries.push_back(std::move(r));
  }
  return t;
}

struct Expected {
  std::string name;
  int class_id = 0;
  float confidence = 0;
  double x = 0, y = 0, w = 0, h = 0;
};

// UltralyticsLetterbox is utils/augmentations.py letterbox(auto=False) for a
// square input: r = min(S/h, S/w), new = round(w*r) (Python: ties to even),
// pad before = round((S - new)/2 - 0.1).
struct Placement {
  double r;
  double pad_x, pad_y;
};
Placement UltralyticsLetterbox(int width, int height, int s) {
  const double r = std::min(static_cast<double>(s) / height, static_cast<double>(s) / width);
  const double new_w = std::nearbyint(width * r), new_h = std::nearbyint(height * r);
  return {r, std::nearbyint((s - new_w) / 2 - 0.1), std::nearbyint((s - new_h) / 2 - 0.1)};
}

// ExpectedDetections follows the documented pipeline step by step in
// double precision, from the table alone. Only the score is float (it is a
// float product in any implementation), and IoU is compared with the float
// threshold after rounding to float, so "exactly 0.45" means the same here.
std::vector<Expected> ExpectedDetections(const Table& table, int width, int height,
                                         const PostprocessOptions& o) {
  struct Cand {
    const TableRow* row;
    int class_id;
    float score;
    double x0, y0, x1, y1;
  };
  std::vector<TableRow> rows = table.entries;
  std::sort(rows.begin(), rows.end(),
            [](const TableRow& a, const TableRow& b) { return a.index < b.index; });
  std::vector<Cand> cands;
  for (const TableRow& r : rows) {
    if (!std::all_of(r.v.begin(), r.v.end(), [](float f) { return std::isfinite(f); })) continue;
    const auto best = std::max_element(r.v.begin() + 5, r.v.end());  // first of equals
    const int class_id = static_cast<int>(best - (r.v.begin() + 5));
    const float score = r.v[4] * *best;
    if (r.v[4] < o.conf_threshold || score < o.conf_threshold) continue;
    if (r.v[2] <= 0 || r.v[3] <= 0) continue;
    cands.push_back({&r, class_id, score, r.v[0] - r.v[2] / 2.0, r.v[1] - r.v[3] / 2.0,
                     r.v[0] + r.v[2] / 2.0, r.v[1] + r.v[3] / 2.0});
  }
  std::stable_sort(cands.begin(), cands.end(),
                   [](const Cand& a, const Cand& b) { return a.score > b.score; });
  std::vector<const Cand*> kept;
  for (const Cand& c : cands) {
    if (kept.size() >= static_cast<size_t>(o.max_detections)) break;
    const bool suppressed = std::any_of(kept.begin(), kept.end(), [&](const Cand* k) {
      if (k->class_id != c.class_id) return false;
      const double iw = std::min(k->x1, c.x1) - std::max(k->x0, c.x0);
      const double ih = std::min(k->y1, c.y1) - std::max(k->y0, c.y0);
      if (iw <= 0 || ih <= 0) return false;
      const double inter = iw * ih;
      const double iou = inter / ((k->x1 - k->x0) * (k->y1 - k->y0) +
                                  (c.x1 - c.x0) * (c.y1 - c.y0) - inter);
      return static_cast<float>(iou) > o.iou_threshold;
    });
    if (!suppressed) kept.push_back(&c);
  }
  const Placement p = UltralyticsLetterbox(width, height, table.input);
  std::vector<Expected> out;
  for (const Cand* c : kept) {
    const double x0 = std::clamp((c->x0 - p.pad_x) / p.r, 0.0, static_cast<double>(width));
    const double y0 = std::clamp((c->y0 - p.pad_y) / p.r, 0.0, static_cast<double>(height));
    const double x1 = std::clamp((c->x1 - p.pad_x) / p.r, 0.0, static_cast<double>(width));
    const double y1 = std::clamp((c->y1 - p.pad_y) / p.r, 0.0, static_cast<double>(height));
    if (x1 <= x0 || y1 <= y0) continue;
    out.push_back({c->row->name, c->class_id, c->score, x0, y0, x1 - x0, y1 - y0});
  }
  std::stable_sort(out.begin(), out.end(), [](const Expected& a, const Expected& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.class_id != b.class_id) return a.class_id < b.class_id;
    if (a.x != b.x) return a.x < b.x;
    return a.y < b.y;
  });
  return out;
}

std::vector<std::string> Names(const std::vector<Expected>& e) {
  std::vector<std::string> names;
  for (const Expected& x : e) names.push_back(x.name);
  return names;
}

void ExpectMatches(const std::vector<Detection>& got, const std::vector<Expected>& want) {
  std::string got_labels, want_names;
  for (const Detection& d : got) got_labels += d.label + " ";
  for (const Expected& e : want) want_names += e.name + " ";
  ASSERT_EQ(got.size(), want.size()) << "got: " << got_labels << "\nwant: " << want_names;
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(got[i].class_id, want[i].class_id);
    EXPECT_EQ(got[i].label, CocoClassNames()[static_cast<size_t>(want[i].class_id)]);
    EXPECT_NEAR(got[i].confidence, want[i].confidence, 1e-6);
    EXPECT_NEAR(got[i].x, want[i].x, 1e-3);
    EXPECT_NEAR(got[i].y, want[i].y, 1e-3);
    EXPECT_NEAR(got[i].w, want[i].w, 1e-3);
    EXPECT_NEAR(got[i].h, want[i].h, 1e-3);
  }
}

// ---------------------------------------------------------------------------
// Fixtures: a temp dir with a copy of a synthetic model and its manifest.

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/veil-synthetic-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string SyntheticModelPath(int size) {
  return size == 320 ? VEIL_SYNTHETIC_YOLOV5_320 : VEIL_SYNTHETIC_YOLOV5_640;
}

// WriteModel copies the synthetic model into `dir` with a manifest pinning
// its SHA-256 and returns the manifest's path.
absl::StatusOr<std::string> WriteModel(const std::string& dir, int size,
                                       const std::string& sha256_override = "") {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> weights,
                        veil::testing::ReadFile(SyntheticModelPath(size)));
  const std::string name = "synthetic" + std::to_string(size);
  std::ofstream(dir + "/" + name + ".onnx", std::ios::binary)
      .write(reinterpret_cast<const char*>(weights.data()),
             static_cast<std::streamsize>(weights.size()));
  const nlohmann::json manifest = {
      {"format", "veil-model-manifest/1"},
      {"id", name},
      {"version", "1"},
      {"family", "yolov5"},
      {"weights", name + ".onnx"},
      {"weights_sha256",
       sha256_override.empty()
           ? HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, weights))
           : sha256_override},
      {"input", {{"width", size}, {"height", size}}},
      {"classes", "coco80"},
  };
  const std::string path = dir + "/" + name + ".json";
  std::ofstream(path) << manifest.dump(2) << "\n";
  return path;
}

// Png returns a PNG (lossless, so the pixels are exact) of a gradient.
std::vector<uint8_t> Png(int width, int height) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(x * 7), static_cast<uint8_t>(y * 3),
                                          static_cast<uint8_t>(x + y));
    }
  }
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(".png", img, out));
  return out;
}

struct Synthetic {
  Table table;
  LoadedModel model;
  std::unique_ptr<Detector> detector;
};

// LoadSynthetic loads the model of one size once for the whole binary (from
// the test thread; never destroyed, so no network outlives OpenCV at exit).
const Synthetic& LoadSynthetic(int size) {
  static auto* cache = new std::map<int, Synthetic>();
  auto it = cache->find(size);
  if (it != cache->end()) return it->second;
  Synthetic s;
  TempDir dir;
  absl::StatusOr<Table> table = ReadTable(SyntheticModelPath(size));
  EXPECT_TRUE(table.ok()) << table.status();
  absl::StatusOr<std::string> manifest = WriteModel(dir.path(), size);
  EXPECT_TRUE(manifest.ok()) << manifest.status();
  if (table.ok() && manifest.ok()) {
    s.table = *std::move(table);
    absl::StatusOr<LoadedModel> model = LoadModel(*manifest);
    EXPECT_TRUE(model.ok()) << model.status();
    if (model.ok()) {
      s.model = *std::move(model);
      RunnerOptions ro;
      ro.networks = 2;
      auto runner = NewOpenCvModelRunner(s.model, ro);
      EXPECT_TRUE(runner.ok()) << runner.status();
      if (runner.ok()) {
        auto detector = Detector::Create(s.model.manifest, *std::move(runner));
        EXPECT_TRUE(detector.ok()) << detector.status();
        if (detector.ok()) s.detector = *std::move(detector);
      }
    }
  }
  return cache->emplace(size, std::move(s)).first->second;
}

#define VEIL_ASSERT_SYNTHETIC(var, size)    \
  const Synthetic& var = LoadSynthetic(size); \
  ASSERT_NE(var.detector, nullptr)

// ---------------------------------------------------------------------------
// The synthetic models themselves.

class SyntheticModelTest : public ::testing::TestWithParam<int> {};

TEST_P(SyntheticModelTest, ManifestPinsTheGeneratedWeights) {
  VEIL_ASSERT_SYNTHETIC(s, GetParam());
  const int n = 3 * ((GetParam() / 8) * (GetParam() / 8) + (GetParam() / 16) * (GetParam() / 16) +
                     (GetParam() / 32) * (GetParam() / 32));
  EXPECT_EQ(s.table.rows, n);
  EXPECT_EQ(n, GetParam() == 320 ? 6300 : 25200);
  EXPECT_FALSE(s.model.derived);
  EXPECT_EQ(s.model.manifest.input_width, GetParam());
  EXPECT_EQ(s.model.manifest.family, ModelFamily::kYolov5);

  // The same file under a manifest pinning other bytes is refused.
  TempDir dir;
  VEIL_ASSERT_OK_AND_ASSIGN(std::string manifest,
                            WriteModel(dir.path(), GetParam(), std::string(64, '0')));
  EXPECT_THAT(LoadModel(manifest), StatusIs(absl::StatusCode::kFailedPrecondition));
}

// The network's output is the table: every listed row as written (NaN where
// NaN), every other row zero, whatever the input.
TEST_P(SyntheticModelTest, OutputIsTheTable) {
  VEIL_ASSERT_SYNTHETIC(s, GetParam());
  VEIL_ASSERT_OK_AND_ASSIGN(auto runner, NewOpenCvModelRunner(s.model, RunnerOptions()));
  const int dims[] = {1, 3, GetParam(), GetParam()};
  cv::Mat blob(4, dims, CV_32F);
  cv::randu(blob, 0.0, 1.0);
  std::map<int, const TableRow*> by_index;
  for (const TableRow& r : s.table.entries) by_index[r.index] = &r;
  VEIL_ASSERT_OK(runner->Run(blob, [&](const cv::Mat& out) -> absl::Status {
    EXPECT_EQ(out.dims, 3);
    EXPECT_EQ(out.size[0], 1);
    EXPECT_EQ(out.size[1], s.table.rows);
    EXPECT_EQ(out.size[2], kCols);
    if (out.dims != 3 || out.size[1] != s.table.rows || out.size[2] != kCols) {
      return absl::OkStatus();
    }
    int mismatches = 0;
    for (int i = 0; i < s.table.rows; ++i) {
      const float* row = out.ptr<float>() + static_cast<size_t>(i) * kCols;
      const auto it = by_index.find(i);
      for (int c = 0; c < kCols; ++c) {
        const float want = it == by_index.end() ? 0.0f : it->second->v[static_cast<size_t>(c)];
        const bool same = std::isnan(want) ? std::isnan(row[c]) : row[c] == want;
        if (!same && ++mismatches <= 5) {
          ADD_FAILURE() << "row " << i << " col " << c << ": " << row[c] << " != " << want;
        }
      }
    }
    EXPECT_EQ(mismatches, 0);
    return absl::OkStatus();
  }));
}

// With no letterbox (an S x S image) the mapping is the identity, so the
// outcome can be written down by hand from the table's comments.
TEST_P(SyntheticModelTest, UnpaddedImageKeepsExactlyTheDesignedRows) {
  VEIL_ASSERT_SYNTHETIC(s, GetParam());
  const int size = GetParam();
  const std::vector<Expected> want = ExpectedDetections(s.table, size, size, PostprocessOptions());
  EXPECT_THAT(Names(want), ElementsAreArray({
                               "A_person",                 // 0.855; suppresses B
                               "C_person_iou045",          // 0.72
                               "Q_class_tie",              // 0.64, motorcycle (not 7)
                               "D_dog_same_box_as_A",      // 0.63
                               "N_bicycle_tie_x210_y230",  // 0.6, bicycle, x 210, y 230
                               "M_bicycle_tie_x210_y270",  // 0.6, bicycle, x 210, y 270
                               "L_bicycle_tie_x250",       // 0.6, bicycle, x 250
                               "K_car_tie",                // 0.6, car
                               "H_bird_top_strip",         // 0.56
                               "J_chair_right_edge",       // 0.54
                               "I_cup_left_strip",         // 0.48
                               "Z_toothbrush_last_row",    // 0.45
                               "O_table_first",            // 0.4; suppresses P
                               "G_score_exactly_025",      // 0.25
                           }));
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult got, s.detector->Detect(Png(size, size)));
  ExpectMatches(got.detections, want);
  // Spot checks by hand: A is [110, 70, 100, 100] at 320; J is clipped at
  // the right edge (x 270..320 of 330); I at the left (0..20 of -10..20).
  const double k = size / 320.0;
  ASSERT_FALSE(got.detections.empty());
  EXPECT_NEAR(got.detections[0].x, 110 * k, 1e-3);
  EXPECT_NEAR(got.detections[0].y, 70 * k, 1e-3);
  EXPECT_NEAR(got.detections[0].w, 100 * k, 1e-3);
  EXPECT_NEAR(got.detections[0].confidence, 0.95f * 0.9f, 1e-6);
  for (const Detection& d : got.detections) {
    if (d.label == "chair") {
      EXPECT_NEAR(d.x, 270 * k, 1e-3);
      EXPECT_NEAR(d.w, 50 * k, 1e-3);
    }
    if (d.label == "cup") {
      EXPECT_NEAR(d.x, 0, 1e-3);
      EXPECT_NEAR(d.w, 20 * k, 1e-3);
    }
  }
}

TEST_P(SyntheticModelTest, BoxesWhollyInThePaddingAreDropped) {
  VEIL_ASSERT_SYNTHETIC(s, GetParam());
  // Landscape: the top strip (y 5..25 at 320) is padding.
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult landscape, s.detector->Detect(Png(640, 480)));
  // Portrait: the left strip (x -10..20 at 320) is padding.
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult portrait, s.detector->Detect(Png(480, 640)));
  const auto labels = [](const DetectionResult& r) {
    std::set<std::string> out;
    for (const Detection& d : r.detections) out.insert(d.label);
    return out;
  };
  EXPECT_EQ(labels(landscape).count("bird"), 0u);
  EXPECT_EQ(labels(landscape).count("cup"), 1u);
  EXPECT_EQ(labels(portrait).count("bird"), 1u);
  EXPECT_EQ(labels(portrait).count("cup"), 0u);
}

TEST_P(SyntheticModelTest, HonoursMaxDetections) {
  VEIL_ASSERT_SYNTHETIC(s, GetParam());
  const int size = GetParam();
  DetectOptions options;
  options.postprocess.max_detections = 3;
  const std::vector<Expected> want =
      ExpectedDetections(s.table, size, size, options.postprocess);
  EXPECT_THAT(Names(want),
              ElementsAreArray({"A_person", "C_person_iou045", "Q_class_tie"}));
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult got, s.detector->Detect(Png(size, size), options));
  ExpectMatches(got.detections, want);
}

TEST_P(SyntheticModelTest, CustomThresholds) {
  VEIL_ASSERT_SYNTHETIC(s, GetParam());
  const int size = GetParam();
  // conf 0.5, iou 0.6: B (IoU 0.54 with A) now survives and suppresses C
  // (IoU 0.83 with B); everything under 0.5 goes.
  DetectOptions strict;
  strict.postprocess.conf_threshold = 0.5f;
  strict.postprocess.iou_threshold = 0.6f;
  std::vector<Expected> want = ExpectedDetections(s.table, 640, 480, strict.postprocess);
  EXPECT_THAT(Names(want), ElementsAreArray({
                               "A_person", "B_person_iou054", "Q_class_tie",
                               "D_dog_same_box_as_A", "N_bicycle_tie_x210_y230",
                               "M_bicycle_tie_x210_y270", "L_bicycle_tie_x250", "K_car_tie",
                               "J_chair_right_edge",  // H (0.56) is in the padding
                           }));
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult got, s.detector->Detect(Png(640, 480), strict));
  ExpectMatches(got.detections, want);

  // conf 0.1: the obj-0.2 row (0.2) and the 0.18 row come in.
  DetectOptions loose;
  loose.postprocess.conf_threshold = 0.1f;
  want = ExpectedDetections(s.table, size, size, loose.postprocess);
  const std::vector<std::string> names = Names(want);
  EXPECT_EQ(names[names.size() - 3], "G_score_exactly_025");
  EXPECT_EQ(names[names.size() - 2], "E_low_obj");
  EXPECT_EQ(names[names.size() - 1], "F_low_score");
  VEIL_ASSERT_OK_AND_ASSIGN(got, s.detector->Detect(Png(size, size), loose));
  ExpectMatches(got.detections, want);
}

INSTANTIATE_TEST_SUITE_P(Sizes, SyntheticModelTest, ::testing::Values(320, 640),
                         [](const auto& info) { return "S" + std::to_string(info.param); });

// Every size class of letterbox: pad on y, pad on x, none, a wide strip, a
// tiny image scaled up.
struct ImageCase {
  int input;
  int width, height;
};

void PrintTo(const ImageCase& c, std::ostream* os) {
  *os << c.width << "x" << c.height << " in " << c.input;
}

class SyntheticDetectTest : public ::testing::TestWithParam<ImageCase> {};

TEST_P(SyntheticDetectTest, MatchesTheIndependentComputation) {
  const ImageCase& c = GetParam();
  VEIL_ASSERT_SYNTHETIC(s, c.input);
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult got, s.detector->Detect(Png(c.width, c.height)));
  EXPECT_EQ(got.image.width, static_cast<uint32_t>(c.width));
  EXPECT_EQ(got.image.height, static_cast<uint32_t>(c.height));
  EXPECT_EQ(got.engine, "opencv-dnn");
  EXPECT_EQ(got.model_sha256, s.model.manifest.weights_sha256);
  const std::vector<Expected> want =
      ExpectedDetections(s.table, c.width, c.height, PostprocessOptions());
  ExpectMatches(got.detections, want);
}

INSTANTIATE_TEST_SUITE_P(
    Images, SyntheticDetectTest,
    ::testing::ValuesIn(std::vector<ImageCase>{
        {320, 640, 480}, {320, 480, 640}, {320, 320, 320}, {320, 1000, 300}, {320, 17, 9},
        {320, 640, 481}, {640, 640, 480}, {640, 480, 640}, {640, 640, 640}, {640, 1000, 300},
        {640, 17, 9}, {640, 1280, 853}}),
    [](const auto& info) {
      return "S" + std::to_string(info.param.input) + "_" + std::to_string(info.param.width) +
             "x" + std::to_string(info.param.height);
    });

// Parallel Detect calls share the runner's two networks and give exactly the
// single-threaded result.
TEST(SyntheticConcurrencyTest, ParallelCallsGiveIdenticalResults) {
  VEIL_ASSERT_SYNTHETIC(s, 320);
  const std::vector<uint8_t> image = Png(640, 480);
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult reference, s.detector->Detect(image));
  ASSERT_FALSE(reference.detections.empty());
  constexpr int kThreads = 4, kCalls = 10;
  std::vector<std::vector<DetectionResult>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCalls; ++i) {
        absl::StatusOr<DetectionResult> r = s.detector->Detect(image);
        if (!r.ok()) {
          errors[t] = r.status().ToString();
          return;
        }
        results[t].push_back(*std::move(r));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "");
    ASSERT_EQ(results[t].size(), static_cast<size_t>(kCalls));
    for (const DetectionResult& r : results[t]) {
      ASSERT_EQ(r.detections.size(), reference.detections.size());
      for (size_t i = 0; i < r.detections.size(); ++i) {
        const Detection& a = r.detections[i];
        const Detection& b = reference.detections[i];
        EXPECT_TRUE(a.class_id == b.class_id && a.label == b.label &&
                    a.confidence == b.confidence && a.x == b.x && a.y == b.y && a.w == b.w &&
                    a.h == b.h)
            << "thread " << t << " detection " << i;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Detector over FakeModelRunner.

ModelManifest FakeManifest(ModelFamily family, int width, int height) {
  ModelManifest m;
  m.id = "fake";
  m.version = "1";
  m.family = family;
  m.weights = "fake.onnx";
  m.weights_sha256 = std::string(64, 'a');
  m.input_width = width;
  m.input_height = height;
  m.class_names = CocoClassNames();
  m.preprocessing = DefaultPreprocessing(family);
  return m;
}

std::vector<uint8_t> SolidPng(int width, int height, cv::Scalar bgr) {
  cv::Mat img(height, width, CV_8UC3, bgr);
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(".png", img, out));
  return out;
}

// BlobAt returns blob[0, channel, y, x].
float BlobAt(const cv::Mat& blob, int channel, int y, int x) {
  const int idx[] = {0, channel, y, x};
  return blob.at<float>(idx);
}

TEST(DetectorFakeRunnerTest, RunnerErrorPropagates) {
  auto fake = std::make_unique<FakeModelRunner>(cv::Mat(),
                                                absl::UnavailableError("engine is gone"));
  VEIL_ASSERT_OK_AND_ASSIGN(auto detector, Detector::Create(FakeManifest(ModelFamily::kYolov5,
                                                                         320, 320),
                                                            std::move(fake)));
  const absl::StatusOr<DetectionResult> r = detector->Detect(Png(64, 48));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(r.status().message(), "engine is gone");
}

TEST(DetectorFakeRunnerTest, OutputOfTheWrongShapeIsFailedPrecondition) {
  auto fake = std::make_unique<FakeModelRunner>(FakeModelRunner::Rows({{1, 1, 1, 1, 1}}, 79));
  VEIL_ASSERT_OK_AND_ASSIGN(auto detector, Detector::Create(FakeManifest(ModelFamily::kYolov5,
                                                                         320, 320),
                                                            std::move(fake)));
  EXPECT_THAT(detector->Detect(Png(64, 48)), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(DetectorFakeRunnerTest, Yolov5BlobIsRgbScaledAndCentred) {
  auto fake = std::make_unique<FakeModelRunner>(FakeModelRunner::Rows({{}}, 80));
  FakeModelRunner* runner = fake.get();
  VEIL_ASSERT_OK_AND_ASSIGN(auto detector, Detector::Create(FakeManifest(ModelFamily::kYolov5,
                                                                         320, 256),
                                                            std::move(fake)));
  // 640x480 in a 320x256 (w x h) input: r = min(320/640, 256/480) = 0.5,
  // 320x240, pad_y = round(8 - 0.1) = 8, so image rows are 8..247.
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult r,
                            detector->Detect(SolidPng(640, 480, cv::Scalar(10, 20, 30))));
  EXPECT_TRUE(r.detections.empty());
  EXPECT_EQ(r.engine, "fake");
  ASSERT_EQ(runner->seen_shapes().size(), 1u);
  EXPECT_THAT(runner->seen_shapes()[0], ElementsAreArray({1, 3, 256, 320}));
  const cv::Mat blob = runner->last_blob();
  ASSERT_EQ(blob.type(), CV_32F);
  // Inside the image: R, G, B = 30, 20, 10, each / 255.
  EXPECT_FLOAT_EQ(BlobAt(blob, 0, 128, 160), 30 / 255.0f);
  EXPECT_FLOAT_EQ(BlobAt(blob, 1, 128, 160), 20 / 255.0f);
  EXPECT_FLOAT_EQ(BlobAt(blob, 2, 128, 160), 10 / 255.0f);
  // Padding (rows 0..7 and 248..255): 114 / 255.
  for (int c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(BlobAt(blob, c, 7, 0), 114 / 255.0f);
    EXPECT_FLOAT_EQ(BlobAt(blob, c, 248, 319), 114 / 255.0f);
    EXPECT_FLOAT_EQ(BlobAt(blob, c, 8, 0), BlobAt(blob, c, 128, 160));
    EXPECT_FLOAT_EQ(BlobAt(blob, c, 247, 319), BlobAt(blob, c, 128, 160));
  }
}

TEST(DetectorFakeRunnerTest, YoloxBlobIsBgrUnscaledTopLeft) {
  const int rows = 52 * 52 + 26 * 26 + 13 * 13;
  auto fake = std::make_unique<FakeModelRunner>(
      FakeModelRunner::Rows(std::vector<std::vector<float>>(rows), 80));
  FakeModelRunner* runner = fake.get();
  VEIL_ASSERT_OK_AND_ASSIGN(auto detector, Detector::Create(FakeManifest(ModelFamily::kYolox,
                                                                         416, 416),
                                                            std::move(fake)));
  // 640x480 -> r 0.65, 416x312 at the top left; rows 312.. are padding.
  VEIL_ASSERT_OK(detector->Detect(SolidPng(640, 480, cv::Scalar(10, 20, 30))).status());
  EXPECT_THAT(runner->seen_shapes().at(0), ElementsAreArray({1, 3, 416, 416}));
  const cv::Mat blob = runner->last_blob();
  EXPECT_FLOAT_EQ(BlobAt(blob, 0, 0, 0), 10);
  EXPECT_FLOAT_EQ(BlobAt(blob, 1, 0, 0), 20);
  EXPECT_FLOAT_EQ(BlobAt(blob, 2, 0, 0), 30);
  EXPECT_FLOAT_EQ(BlobAt(blob, 0, 311, 415), 10);
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(BlobAt(blob, c, 312, 0), 114);
}

TEST(DetectorFakeRunnerTest, DecodesTheFakeOutput) {
  // A 640x480 image in a 320 input (r 0.5, pad_y 40): a box at input
  // [110, 70]-[210, 170] is image [220, 60] 200x200.
  auto fake = std::make_unique<FakeModelRunner>(
      FakeModelRunner::Rows({{160, 120, 100, 100, 0.9f, 0, 0.8f}}, 80));
  FakeModelRunner* runner = fake.get();
  VEIL_ASSERT_OK_AND_ASSIGN(auto detector, Detector::Create(FakeManifest(ModelFamily::kYolov5,
                                                                         320, 320),
                                                            std::move(fake)));
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult r, detector->Detect(Png(640, 480)));
  VEIL_ASSERT_OK(detector->Detect(Png(17, 9)).status());
  const std::vector<int> input = {1, 3, 320, 320};
  EXPECT_THAT(runner->seen_shapes(), ElementsAreArray({input, input}));
  ASSERT_EQ(r.detections.size(), 1u);
  EXPECT_EQ(r.detections[0].label, "bicycle");
  EXPECT_FLOAT_EQ(r.detections[0].confidence, 0.9f * 0.8f);
  EXPECT_FLOAT_EQ(r.detections[0].x, 220);
  EXPECT_FLOAT_EQ(r.detections[0].y, 60);
  EXPECT_FLOAT_EQ(r.detections[0].w, 200);
  EXPECT_FLOAT_EQ(r.detections[0].h, 200);
}

// ---------------------------------------------------------------------------
// A real Ultralytics yolov5s.onnx, when one is provided.

TEST(RealYolov5sTest, FindsTheDogTheBicycleAndTheCar) {
  const char* path = std::getenv("VEIL_YOLOV5S");
  if (path == nullptr || *path == '\0') {
    GTEST_SKIP() << "set VEIL_YOLOV5S to an Ultralytics yolov5s.onnx (640x640 export, "
                    "output 1x25200x85) to run this test";
  }
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(LoadedModel model, LoadModel(path));
  EXPECT_EQ(model.manifest.input_width, 640) << "not the 640x640 export";
  VEIL_ASSERT_OK_AND_ASSIGN(auto runner, NewOpenCvModelRunner(model, RunnerOptions()));
  VEIL_ASSERT_OK_AND_ASSIGN(auto detector, Detector::Create(model.manifest, std::move(runner)));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> image,
                            veil::testing::ReadFile(shared + "/testdata/images/dog.jpg"));
  VEIL_ASSERT_OK_AND_ASSIGN(DetectionResult r, detector->Detect(image));
  std::set<std::string> labels;
  for (const Detection& d : r.detections) labels.insert(d.label);
  EXPECT_EQ(labels.count("dog"), 1u) << ToJson(r);
  EXPECT_EQ(labels.count("bicycle"), 1u) << ToJson(r);
  EXPECT_TRUE(labels.count("car") + labels.count("truck") > 0) << ToJson(r);
}

}  // namespace
}  // namespace veil::inference
