// Unit tests of the letterbox and post-processing arithmetic on small
// hand-made network outputs: every expected number below is worked out by
// hand in the comment beside it.
#include "veil/inference/postprocess.h"

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/inference/model.h"
#include "veil/inference/preprocess.h"
#include "veil/inference/testing/fake_model_runner.h"
#include "veil/testing/status_matchers.h"

namespace veil::inference {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::veil::testing::StatusIs;
using testing::FakeModelRunner;

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int kCoco = 80;

ModelManifest Manifest(ModelFamily family, int width, int height) {
  ModelManifest m;
  m.id = "unit";
  m.version = "1";
  m.family = family;
  m.weights = "unit.onnx";
  m.input_width = width;
  m.input_height = height;
  m.class_names = CocoClassNames();
  m.preprocessing = DefaultPreprocessing(family);
  return m;
}

// A row [cx, cy, w, h, obj] with probability `p` for `class_id`.
std::vector<float> Row(float cx, float cy, float w, float h, float obj, int class_id, float p) {
  std::vector<float> r = {cx, cy, w, h, obj};
  r.resize(5 + kCoco, 0.0f);
  r[5 + class_id] = p;
  return r;
}

Candidate Box(float x0, float y0, float x1, float y1, float score = 0.9f, int class_id = 0) {
  return Candidate{x0, y0, x1, y1, score, class_id};
}

// ---------------------------------------------------------------------------
// ComputeLetterbox

struct LetterboxCase {
  int width, height, input_width, input_height;
  LetterboxPlacement placement;
  double scale;
  int resized_width, resized_height, pad_x, pad_y;
};

void PrintTo(const LetterboxCase& c, std::ostream* os) {
  *os << c.width << "x" << c.height << " in " << c.input_width << "x" << c.input_height
      << (c.placement == LetterboxPlacement::kCenter ? " centre" : " top-left");
}

class ComputeLetterboxTest : public ::testing::TestWithParam<LetterboxCase> {};

TEST_P(ComputeLetterboxTest, MatchesReferencePlacement) {
  const LetterboxCase& c = GetParam();
  const Letterbox lb =
      ComputeLetterbox(c.width, c.height, c.input_width, c.input_height, c.placement);
  EXPECT_DOUBLE_EQ(lb.scale, c.scale);
  EXPECT_EQ(lb.resized_width, c.resized_width);
  EXPECT_EQ(lb.resized_height, c.resized_height);
  EXPECT_EQ(lb.pad_x, c.pad_x);
  EXPECT_EQ(lb.pad_y, c.pad_y);
}

// Centre: Ultralytics' letterbox(auto=False): r = min(S/w, S/h),
// new = round(w*r) with Python's round (half to even), pad before =
// round((S - new)/2 - 0.1). Top-left: YOLOX's placement, no pad.
INSTANTIATE_TEST_SUITE_P(
    Cases, ComputeLetterboxTest,
    ::testing::Values(
        // 640x480 -> 320: r 0.5, 320x240, dh 40 -> round(39.9) = 40.
        LetterboxCase{640, 480, 320, 320, LetterboxPlacement::kCenter, 0.5, 320, 240, 0, 40},
        LetterboxCase{480, 640, 320, 320, LetterboxPlacement::kCenter, 0.5, 240, 320, 40, 0},
        LetterboxCase{320, 320, 320, 320, LetterboxPlacement::kCenter, 1.0, 320, 320, 0, 0},
        LetterboxCase{640, 640, 640, 640, LetterboxPlacement::kCenter, 1.0, 640, 640, 0, 0},
        // 1000x300 -> 320: r 0.32, 320x96, dh 112 -> round(111.9) = 112.
        LetterboxCase{1000, 300, 320, 320, LetterboxPlacement::kCenter, 0.32, 320, 96, 0, 112},
        // 17x9 -> 320: r 320/17, 9r = 169.41 -> 169, dh 75.5 -> round(75.4) = 75.
        LetterboxCase{17, 9, 320, 320, LetterboxPlacement::kCenter, 320.0 / 17, 320, 169, 0, 75},
        // Upscaling 17x9 -> 640: 9r = 338.82 -> 339, dh 150.5 -> round(150.4) = 150.
        LetterboxCase{17, 9, 640, 640, LetterboxPlacement::kCenter, 640.0 / 17, 640, 339, 0, 150},
        // Odd padding goes after: 320x319 -> dh 0.5 -> round(0.4) = 0.
        LetterboxCase{320, 319, 320, 320, LetterboxPlacement::kCenter, 1.0, 320, 319, 0, 0},
        // Exact halves round to even as Python does: 481 * 0.5 = 240.5 -> 240
        // (then dh 40 -> 40), 425 * 0.5 = 212.5 -> 212 (dh 54 -> 54), and
        // 427 * 0.5 = 213.5 -> 214 (dh 53 -> 53).
        LetterboxCase{640, 481, 320, 320, LetterboxPlacement::kCenter, 0.5, 320, 240, 0, 40},
        LetterboxCase{640, 425, 320, 320, LetterboxPlacement::kCenter, 0.5, 320, 212, 0, 54},
        LetterboxCase{640, 427, 320, 320, LetterboxPlacement::kCenter, 0.5, 320, 214, 0, 53},
        // Non-square input: 640x480 -> 416x256: r = min(0.65, 0.5333) = 256/480,
        // w 341.33 -> 341, dw 37.5 -> round(37.4) = 37.
        LetterboxCase{640, 480, 416, 256, LetterboxPlacement::kCenter, 256.0 / 480, 341, 256, 37,
                      0},
        // YOLOX: 640x480 -> 416: r 0.65, 416x312, top-left.
        LetterboxCase{640, 480, 416, 416, LetterboxPlacement::kTopLeft, 0.65, 416, 312, 0, 0},
        // Top-left rounds too: 300x1000 -> 416: r 0.416, w 124.8 -> 125. (Upstream
        // YOLOX truncates to 124, but the shared yolox_nano reference
        // detections were made with the rounded size; truncating loses them.)
        LetterboxCase{300, 1000, 416, 416, LetterboxPlacement::kTopLeft, 0.416, 125, 416, 0, 0}));

// ---------------------------------------------------------------------------
// DecodeCandidates

TEST(DecodeCandidatesTest, Yolov5ScoreIsObjTimesBestClassProbability) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  std::vector<float> r = Row(100, 60, 40, 20, 0.8f, 16, 0.75f);
  r[5 + 3] = 0.5f;  // a weaker class
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<Candidate> got,
      DecodeCandidates(FakeModelRunner::Rows({r}, kCoco), m, PostprocessOptions()));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].class_id, 16);
  EXPECT_EQ(got[0].score, 0.8f * 0.75f);
  // [cx, cy, w, h] = [100, 60, 40, 20] -> corners (80, 50) - (120, 70).
  EXPECT_EQ(got[0].x0, 80);
  EXPECT_EQ(got[0].y0, 50);
  EXPECT_EQ(got[0].x1, 120);
  EXPECT_EQ(got[0].y1, 70);
}

TEST(DecodeCandidatesTest, ConfidenceThresholdIsInclusive) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  const cv::Mat out = FakeModelRunner::Rows(
      {
          Row(10, 10, 4, 4, 0.2f, 1, 1.0f),    // obj < 0.25: dropped
          Row(20, 20, 4, 4, 0.9f, 2, 0.2f),    // 0.18: dropped
          Row(30, 30, 4, 4, 0.5f, 3, 0.5f),    // exactly 0.25: kept
          Row(40, 40, 4, 4, 1.0f, 4, 0.25f),   // exactly 0.25: kept
          Row(50, 50, 4, 4, 0.25f, 5, 1.0f),   // exactly 0.25: kept
          Row(60, 60, 4, 4, 0.9f, 6, 0.0f),    // no class at all: dropped
      },
      kCoco);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got,
                            DecodeCandidates(out, m, PostprocessOptions()));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].class_id, 3);
  EXPECT_EQ(got[1].class_id, 4);
  EXPECT_EQ(got[2].class_id, 5);
  for (const Candidate& c : got) EXPECT_EQ(c.score, 0.25f);

  PostprocessOptions low;
  low.conf_threshold = 0.1f;
  VEIL_ASSERT_OK_AND_ASSIGN(got, DecodeCandidates(out, m, low));
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].class_id, 3);  // 0.25 (three ties, row order)
  EXPECT_EQ(got[3].class_id, 1);  // 0.2
  EXPECT_EQ(got[4].class_id, 2);  // 0.18
}

TEST(DecodeCandidatesTest, BestFirstWithTiesInRowOrder) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  const cv::Mat out = FakeModelRunner::Rows(
      {
          Row(10, 10, 4, 4, 1.0f, 7, 0.5f),
          Row(20, 20, 4, 4, 1.0f, 8, 0.9f),
          Row(30, 30, 4, 4, 1.0f, 9, 0.5f),
          Row(40, 40, 4, 4, 1.0f, 1, 0.5f),
      },
      kCoco);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got,
                            DecodeCandidates(out, m, PostprocessOptions()));
  std::vector<int> classes;
  for (const Candidate& c : got) classes.push_back(c.class_id);
  EXPECT_THAT(classes, ElementsAre(8, 7, 9, 1));
}

TEST(DecodeCandidatesTest, EqualClassProbabilitiesPickTheLowestClassId) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  std::vector<float> r = Row(10, 10, 4, 4, 0.8f, 7, 0.8f);
  r[5 + 3] = 0.8f;
  r[5 + 79] = 0.8f;
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<Candidate> got,
      DecodeCandidates(FakeModelRunner::Rows({r}, kCoco), m, PostprocessOptions()));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].class_id, 3);
}

TEST(DecodeCandidatesTest, SkipsNonFiniteRowsAndEmptyBoxes) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  std::vector<float> inf_prob = Row(10, 10, 4, 4, 0.9f, 0, 0.5f);
  inf_prob[5 + 2] = kInf;
  std::vector<float> nan_prob = Row(10, 10, 4, 4, 0.9f, 0, 0.5f);
  nan_prob[5 + 2] = kNan;
  std::vector<float> nan_first_prob = Row(10, 10, 4, 4, 0.9f, 2, 0.5f);
  nan_first_prob[5 + 0] = kNan;
  const cv::Mat out = FakeModelRunner::Rows(
      {
          Row(10, 10, 4, 4, kNan, 0, 0.9f),
          Row(10, 10, 4, 4, kInf, 0, 0.9f),
          Row(kInf, 10, 4, 4, 0.9f, 0, 0.9f),
          Row(10, -kInf, 4, 4, 0.9f, 0, 0.9f),
          Row(10, 10, kNan, 4, 0.9f, 0, 0.9f),
          Row(10, 10, 4, kInf, 0.9f, 0, 0.9f),
          Row(10, 10, -4, 4, 0.9f, 0, 0.9f),
          Row(10, 10, 4, 0, 0.9f, 0, 0.9f),
          Row(10, 10, 4, 4, 0.9f, 0, kNan),
          inf_prob,
          nan_prob,
          nan_first_prob,
          Row(200, 200, 8, 8, 0.5f, 11, 0.6f),  // the one good row
      },
      kCoco);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got,
                            DecodeCandidates(out, m, PostprocessOptions()));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].class_id, 11);
  EXPECT_EQ(got[0].score, 0.5f * 0.6f);
}

TEST(DecodeCandidatesTest, MaxCandidatesKeepsTheBest) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  std::vector<std::vector<float>> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(Row(10, 10, 4, 4, 1.0f, i, 0.3f + 0.05f * i));
  PostprocessOptions options;
  options.max_candidates = 3;
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got,
                            DecodeCandidates(FakeModelRunner::Rows(rows, kCoco), m, options));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].class_id, 9);
  EXPECT_EQ(got[1].class_id, 8);
  EXPECT_EQ(got[2].class_id, 7);
  options.max_candidates = 0;
  VEIL_ASSERT_OK_AND_ASSIGN(got, DecodeCandidates(FakeModelRunner::Rows(rows, kCoco), m, options));
  EXPECT_THAT(got, IsEmpty());
}

TEST(DecodeCandidatesTest, RefusesOutputsOfTheWrongShape) {
  const ModelManifest m = Manifest(ModelFamily::kYolov5, 320, 320);
  const PostprocessOptions o;
  EXPECT_THAT(DecodeCandidates(cv::Mat(), m, o),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // 84 columns: one class short.
  EXPECT_THAT(DecodeCandidates(FakeModelRunner::Rows({Row(1, 1, 1, 1, 1, 0, 1)}, 79), m, o),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Two dimensions instead of three.
  EXPECT_THAT(DecodeCandidates(cv::Mat(4, 85, CV_32F, cv::Scalar(0)), m, o),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Batch of two.
  const int batch2[] = {2, 4, 85};
  EXPECT_THAT(DecodeCandidates(cv::Mat(3, batch2, CV_32F, cv::Scalar(0)), m, o),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Doubles.
  const int dims[] = {1, 4, 85};
  EXPECT_THAT(DecodeCandidates(cv::Mat(3, dims, CV_64F, cv::Scalar(0)), m, o),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // The right shape with no rows is fine.
  const int none[] = {1, 0, 85};
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<Candidate> got,
                            DecodeCandidates(cv::Mat(3, none, CV_32F), m, o));
  EXPECT_THAT(got, IsEmpty());
}

// A 32x32 YOLOX input has 4x4 + 2x2 + 1x1 = 21 cells, in the order
// level (stride 8, 16, 32), then gy, then gx.
TEST(DecodeCandidatesTest, YoloxGridDecode) {
  const ModelManifest m = Manifest(ModelFamily::kYolox, 32, 32);
  std::vector<std::vector<float>> rows(21, std::vector<float>(85, 0.0f));
  // Row 6: stride 8, gy 1, gx 2. cx = (0.5 + 2) * 8 = 20, cy = (0.25 + 1) * 8
  // = 10, w = e^0 * 8 = 8, h = e^ln3 * 8 = 24.
  rows[6] = Row(0.5f, 0.25f, 0.0f, std::log(3.0f), 0.9f, 1, 0.9f);
  // Row 19: stride 16, cell 3 = (gy 1, gx 1). cx = cy = 16, w = h = 16.
  rows[19] = Row(0.0f, 0.0f, 0.0f, 0.0f, 0.8f, 2, 0.9f);
  // Row 20: stride 32, the only cell. cx = cy = 16, w = e * 32, h = 32 / e.
  rows[20] = Row(0.5f, 0.5f, 1.0f, -1.0f, 0.7f, 3, 0.9f);
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<Candidate> got,
      DecodeCandidates(FakeModelRunner::Rows(rows, kCoco), m, PostprocessOptions()));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].class_id, 1);
  EXPECT_NEAR(got[0].x0, 20 - 4, 1e-4);
  EXPECT_NEAR(got[0].x1, 20 + 4, 1e-4);
  EXPECT_NEAR(got[0].y0, 10 - 12, 1e-4);
  EXPECT_NEAR(got[0].y1, 10 + 12, 1e-4);
  EXPECT_EQ(got[1].class_id, 2);
  EXPECT_NEAR(got[1].x0, 8, 1e-4);
  EXPECT_NEAR(got[1].y0, 8, 1e-4);
  EXPECT_NEAR(got[1].x1, 24, 1e-4);
  EXPECT_NEAR(got[1].y1, 24, 1e-4);
  EXPECT_EQ(got[2].class_id, 3);
  const double w = std::exp(1.0) * 32, h = 32 / std::exp(1.0);
  EXPECT_NEAR(got[2].x0, 16 - w / 2, 1e-3);
  EXPECT_NEAR(got[2].x1, 16 + w / 2, 1e-3);
  EXPECT_NEAR(got[2].y0, 16 - h / 2, 1e-3);
  EXPECT_NEAR(got[2].y1, 16 + h / 2, 1e-3);
}

// A 64x32 (w x h) input: 8x4 + 4x2 + 2x1 = 42 cells; rows run along x.
TEST(DecodeCandidatesTest, YoloxGridOnANonSquareInput) {
  const ModelManifest m = Manifest(ModelFamily::kYolox, 64, 32);
  std::vector<std::vector<float>> rows(42, std::vector<float>(85, 0.0f));
  rows[13] = Row(0, 0, 0, 0, 0.9f, 1, 0.9f);  // stride 8: gy 1, gx 5 -> (40, 8)
  rows[32 + 6] = Row(0, 0, 0, 0, 0.8f, 2, 0.9f);  // stride 16: gy 1, gx 2 -> (32, 16)
  rows[41] = Row(0, 0, 0, 0, 0.7f, 3, 0.9f);  // stride 32: gy 0, gx 1 -> (32, 0)
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<Candidate> got,
      DecodeCandidates(FakeModelRunner::Rows(rows, kCoco), m, PostprocessOptions()));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].x0, 40 - 4);
  EXPECT_EQ(got[0].y0, 8 - 4);
  EXPECT_EQ(got[1].x0, 32 - 8);
  EXPECT_EQ(got[1].y0, 16 - 8);
  EXPECT_EQ(got[2].x0, 32 - 16);
  EXPECT_EQ(got[2].y0, 0 - 16);
}

TEST(DecodeCandidatesTest, YoloxWrongRowCountIsFailedPrecondition) {
  const ModelManifest m = Manifest(ModelFamily::kYolox, 32, 32);
  for (size_t n : {0u, 20u, 22u, 16u}) {
    std::vector<std::vector<float>> rows(n, std::vector<float>(85, 0.0f));
    const int dims[] = {1, static_cast<int>(n), 85};
    const cv::Mat out = n == 0 ? cv::Mat(3, dims, CV_32F) : FakeModelRunner::Rows(rows, kCoco);
    EXPECT_THAT(DecodeCandidates(out, m, PostprocessOptions()),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << n << " rows";
  }
}

// ---------------------------------------------------------------------------
// IntersectionOverUnion

TEST(IntersectionOverUnionTest, KnownValues) {
  EXPECT_EQ(IntersectionOverUnion(Box(0, 0, 10, 10), Box(0, 0, 10, 10)), 1.0f);
  EXPECT_EQ(IntersectionOverUnion(Box(0, 0, 10, 10), Box(20, 20, 30, 30)), 0.0f);
  // Touching edges share no area.
  EXPECT_EQ(IntersectionOverUnion(Box(0, 0, 10, 10), Box(10, 0, 20, 10)), 0.0f);
  EXPECT_EQ(IntersectionOverUnion(Box(0, 0, 10, 10), Box(0, 10, 10, 20)), 0.0f);
  // Half overlap: 50 / 150.
  EXPECT_FLOAT_EQ(IntersectionOverUnion(Box(0, 0, 10, 10), Box(5, 0, 15, 10)), 1.0f / 3);
  // 90x50 inside 100x100: 4500 / 10000, exactly the default threshold.
  EXPECT_EQ(IntersectionOverUnion(Box(0, 0, 100, 100), Box(5, 25, 95, 75)), 0.45f);
  EXPECT_EQ(IntersectionOverUnion(Box(5, 25, 95, 75), Box(0, 0, 100, 100)), 0.45f);
  // Empty and inverted boxes.
  EXPECT_EQ(IntersectionOverUnion(Box(0, 0, 0, 0), Box(0, 0, 0, 0)), 0.0f);
  EXPECT_EQ(IntersectionOverUnion(Box(5, 5, 5, 10), Box(0, 0, 10, 10)), 0.0f);
}

// ---------------------------------------------------------------------------
// NonMaxSuppression

TEST(NonMaxSuppressionTest, SuppressesSameClassAboveThresholdOnly) {
  const std::vector<Candidate> c = {
      Box(0, 0, 100, 100, 0.9f, 0),
      Box(5, 20, 95, 80, 0.8f, 0),   // IoU 5400/10000 = 0.54: suppressed
      Box(5, 25, 95, 75, 0.7f, 0),   // IoU 0.45 exactly: kept
      Box(0, 0, 100, 100, 0.6f, 1),  // same box, other class: kept
  };
  EXPECT_THAT(NonMaxSuppression(c, PostprocessOptions()), ElementsAre(0u, 2u, 3u));
  // At 0.6 the second box survives and in turn suppresses the third
  // (4500/5400 = 0.83).
  PostprocessOptions loose;
  loose.iou_threshold = 0.6f;
  EXPECT_THAT(NonMaxSuppression(c, loose), ElementsAre(0u, 1u, 3u));
}

TEST(NonMaxSuppressionTest, ComparesOnlyWithKeptBoxes) {
  // B overlaps A (suppressed); C overlaps B but not A: C is kept, because a
  // suppressed box suppresses nothing.
  const std::vector<Candidate> c = {
      Box(0, 0, 10, 10, 0.9f),
      Box(2, 0, 12, 10, 0.8f),
      Box(10, 0, 20, 10, 0.7f),
  };
  EXPECT_THAT(NonMaxSuppression(c, PostprocessOptions()), ElementsAre(0u, 2u));
}

TEST(NonMaxSuppressionTest, HonoursMaxDetections) {
  std::vector<Candidate> c;
  for (int i = 0; i < 10; ++i) c.push_back(Box(20.0f * i, 0, 20.0f * i + 10, 10, 0.9f));
  PostprocessOptions o;
  o.max_detections = 4;
  EXPECT_THAT(NonMaxSuppression(c, o), ElementsAre(0u, 1u, 2u, 3u));
  o.max_detections = 0;
  EXPECT_THAT(NonMaxSuppression(c, o), IsEmpty());
  EXPECT_THAT(NonMaxSuppression({}, PostprocessOptions()), IsEmpty());
}

// ---------------------------------------------------------------------------
// ToDetections

TEST(ToDetectionsTest, MapsThroughTheLetterboxAndClips) {
  // A 640x480 image in a 320 input: r 0.5, pad_y 40.
  const Letterbox lb = ComputeLetterbox(640, 480, 320, 320, LetterboxPlacement::kCenter);
  const std::vector<Candidate> c = {
      Box(110, 70, 210, 170, 0.9f, 0),   // -> (220, 60) 200x200
      Box(270, 140, 330, 180, 0.8f, 56),  // x1 660 -> clipped to 640
      Box(80, 5, 120, 25, 0.7f, 14),     // wholly in the top padding: dropped
      Box(-10, 270, 20, 300, 0.6f, 41),  // x0 -20 -> 0; y1 520 -> 480
  };
  const std::vector<Detection> d =
      ToDetections(c, {0, 1, 2, 3}, lb, 640, 480, 640, 480, CocoClassNames());
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].label, "person");
  EXPECT_FLOAT_EQ(d[0].x, 220);
  EXPECT_FLOAT_EQ(d[0].y, 60);
  EXPECT_FLOAT_EQ(d[0].w, 200);
  EXPECT_FLOAT_EQ(d[0].h, 200);
  EXPECT_EQ(d[1].label, "chair");
  EXPECT_FLOAT_EQ(d[1].x, 540);
  EXPECT_FLOAT_EQ(d[1].y, 200);
  EXPECT_FLOAT_EQ(d[1].w, 100);
  EXPECT_FLOAT_EQ(d[1].h, 80);
  EXPECT_EQ(d[2].label, "cup");
  EXPECT_FLOAT_EQ(d[2].x, 0);
  EXPECT_FLOAT_EQ(d[2].y, 460);
  EXPECT_FLOAT_EQ(d[2].w, 40);
  EXPECT_FLOAT_EQ(d[2].h, 20);
}

TEST(ToDetectionsTest, MapsADownscaledDecodeToTheOriginalImage) {
  // A 1280x960 photo decoded at half size (640x480) for a 320 input: the
  // letterbox is the decoded image's (r 0.5), and boxes scale by 2 more.
  const Letterbox lb = ComputeLetterbox(640, 480, 320, 320, LetterboxPlacement::kCenter);
  const std::vector<Detection> d = ToDetections({Box(110, 70, 210, 170, 0.9f, 0)}, {0}, lb, 640,
                                                480, 1280, 960, CocoClassNames());
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FLOAT_EQ(d[0].x, 440);
  EXPECT_FLOAT_EQ(d[0].y, 120);
  EXPECT_FLOAT_EQ(d[0].w, 400);
  EXPECT_FLOAT_EQ(d[0].h, 400);
}

TEST(ToDetectionsTest, OrdersByConfidenceThenClassThenXThenY) {
  const Letterbox lb = ComputeLetterbox(320, 320, 320, 320, LetterboxPlacement::kCenter);
  const std::vector<Candidate> c = {
      Box(50, 250, 70, 270, 0.6f, 2),    // car
      Box(250, 190, 270, 210, 0.6f, 1),  // bicycle x 250
      Box(210, 270, 230, 290, 0.6f, 1),  // bicycle x 210, y 270
      Box(210, 230, 230, 250, 0.6f, 1),  // bicycle x 210, y 230
      Box(0, 0, 10, 10, 0.3f, 0),
      Box(0, 0, 10, 10, 0.7f, 79),
  };
  const std::vector<Detection> d =
      ToDetections(c, {0, 1, 2, 3, 4, 5}, lb, 320, 320, 320, 320, CocoClassNames());
  ASSERT_EQ(d.size(), 6u);
  EXPECT_EQ(d[0].class_id, 79);
  EXPECT_EQ(d[1].class_id, 1);
  EXPECT_EQ(d[1].x, 210);
  EXPECT_EQ(d[1].y, 230);
  EXPECT_EQ(d[2].class_id, 1);
  EXPECT_EQ(d[2].x, 210);
  EXPECT_EQ(d[2].y, 270);
  EXPECT_EQ(d[3].class_id, 1);
  EXPECT_EQ(d[3].x, 250);
  EXPECT_EQ(d[4].class_id, 2);
  EXPECT_EQ(d[5].class_id, 0);
}

TEST(ToDetectionsTest, UsesOnlyTheKeptIndices) {
  const Letterbox lb = ComputeLetterbox(320, 320, 320, 320, LetterboxPlacement::kCenter);
  const std::vector<Candidate> c = {Box(0, 0, 10, 10, 0.9f, 0), Box(20, 0, 30, 10, 0.8f, 1),
                                    Box(40, 0, 50, 10, 0.7f, 2)};
  const std::vector<Detection> d = ToDetections(c, {2, 0}, lb, 320, 320, 320, 320,
                                                CocoClassNames());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].class_id, 0);
  EXPECT_EQ(d[1].class_id, 2);
}

}  // namespace
}  // namespace veil::inference
