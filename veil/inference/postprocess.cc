#include "veil/inference/postprocess.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace veil::inference {
namespace {

constexpr int kYoloxStrides[] = {8, 16, 32};

// BestClass returns the index and value of the largest of `n` probabilities
// (the first one on ties), or a NaN value when any probability is NaN, so
// that a broken row is skipped wherever its NaN sits.
std::pair<int, float> BestClass(const float* p, int n) {
  int best = 0;
  for (int c = 0; c < n; ++c) {
    if (std::isnan(p[c])) return {c, p[c]};
    if (p[c] > p[best]) best = c;
  }
  return {best, p[best]};
}

}  // namespace

int ExpectedRows(const ModelManifest& manifest) {
  int cells = 0;
  for (int s : kYoloxStrides) cells += (manifest.input_width / s) * (manifest.input_height / s);
  return manifest.family == ModelFamily::kYolov5 ? 3 * cells : cells;
}

absl::StatusOr<std::vector<Candidate>> DecodeCandidates(const cv::Mat& output,
                                                        const ModelManifest& manifest,
                                                        const PostprocessOptions& options) {
  const int classes = static_cast<int>(manifest.class_names.size());
  const int cols = 5 + classes;
  if (output.type() != CV_32F || output.dims != 3 || output.size[0] != 1 ||
      output.size[2] != cols || !output.isContinuous()) {
    std::string shape;
    for (int i = 0; i < output.dims; ++i) absl::StrAppend(&shape, i ? "x" : "", output.size[i]);
    return absl::FailedPreconditionError(absl::StrCat(
        "model output is ", shape.empty() ? "empty" : shape, "; expected 1xNx", cols, " floats"));
  }
  const int rows = output.size[1];
  std::vector<int> grid_level_end;  // YOLOX: the row at which each stride ends
  if (manifest.family == ModelFamily::kYolox) {
    int total = 0;
    for (int s : kYoloxStrides) {
      total += (manifest.input_width / s) * (manifest.input_height / s);
      grid_level_end.push_back(total);
    }
    if (rows != total) {
      return absl::FailedPreconditionError(absl::StrCat(
          "YOLOX output has ", rows, " rows; a ", manifest.input_width, "x",
          manifest.input_height, " input on strides 8/16/32 gives ", total));
    }
  }

  std::vector<Candidate> out;
  const float* data = output.ptr<float>();
  int level = 0, level_start = 0;
  for (int i = 0; i < rows; ++i) {
    const float* r = data + static_cast<size_t>(i) * cols;
    while (manifest.family == ModelFamily::kYolox && i == grid_level_end[level]) {
      level_start = grid_level_end[level];
      ++level;
    }
    const float obj = r[4];
    if (!(obj >= options.conf_threshold)) continue;  // also skips NaN
    const auto [class_id, p] = BestClass(r + 5, classes);
    const float score = obj * p;
    if (!(score >= options.conf_threshold) || !std::isfinite(score)) continue;
    float cx = r[0], cy = r[1], w = r[2], h = r[3];
    if (manifest.family == ModelFamily::kYolox) {
      const int s = kYoloxStrides[level];
      const int grid_w = manifest.input_width / s;
      const int cell = i - level_start;
      cx = (cx + static_cast<float>(cell % grid_w)) * s;
      cy = (cy + static_cast<float>(cell / grid_w)) * s;
      w = std::exp(w) * s;
      h = std::exp(h) * s;
    }
    if (!std::isfinite(cx) || !std::isfinite(cy) || !std::isfinite(w) || !std::isfinite(h) ||
        w <= 0 || h <= 0) {
      continue;
    }
    out.push_back(Candidate{cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, class_id});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (out.size() > static_cast<size_t>(std::max(options.max_candidates, 0))) {
    out.resize(static_cast<size_t>(std::max(options.max_candidates, 0)));
  }
  return out;
}

float IntersectionOverUnion(const Candidate& a, const Candidate& b) {
  const float iw = std::min(a.x1, b.x1) - std::max(a.x0, b.x0);
  const float ih = std::min(a.y1, b.y1) - std::max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<size_t> NonMaxSuppression(const std::vector<Candidate>& candidates,
                                      const PostprocessOptions& options) {
  std::vector<size_t> kept;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (kept.size() >= static_cast<size_t>(std::max(options.max_detections, 0))) break;
    bool suppressed = false;
    for (size_t k : kept) {
      if (candidates[k].class_id == candidates[i].class_id &&
          IntersectionOverUnion(candidates[k], candidates[i]) > options.iou_threshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push_back(i);
  }
  return kept;
}

std::vector<Detection> ToDetections(const std::vector<Candidate>& candidates,
                                    const std::vector<size_t>& kept, const Letterbox& letterbox,
                                    int decoded_width, int decoded_height, int width, int height,
                                    const std::vector<std::string>& class_names) {
  const double fx = static_cast<double>(width) / decoded_width / letterbox.scale;
  const double fy = static_cast<double>(height) / decoded_height / letterbox.scale;
  std::vector<Detection> out;
  for (size_t k : kept) {
    const Candidate& c = candidates[k];
    const double x0 = std::clamp((c.x0 - letterbox.pad_x) * fx, 0.0, static_cast<double>(width));
    const double y0 = std::clamp((c.y0 - letterbox.pad_y) * fy, 0.0, static_cast<double>(height));
    const double x1 = std::clamp((c.x1 - letterbox.pad_x) * fx, 0.0, static_cast<double>(width));
    const double y1 = std::clamp((c.y1 - letterbox.pad_y) * fy, 0.0, static_cast<double>(height));
    if (x1 <= x0 || y1 <= y0) continue;
    Detection d;
    d.class_id = c.class_id;
    d.label = class_names.at(static_cast<size_t>(c.class_id));
    d.confidence = c.score;
    d.x = static_cast<float>(x0);
    d.y = static_cast<float>(y0);
    d.w = static_cast<float>(x1 - x0);
    d.h = static_cast<float>(y1 - y0);
    out.push_back(std::move(d));
  }
  std::stable_sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) {
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    if (a.class_id != b.class_id) return a.class_id < b.class_id;
    if (a.x != b.x) return a.x < b.x;
    return a.y < b.y;
  });
  return out;
}

}  // namespace veil::inference
