#include "veil/inference/detector.h"

#include <chrono>
#include <cmath>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/inference/preprocess.h"

namespace veil::inference {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double Round2(double v) { return std::round(v * 100) / 100; }

}  // namespace

void WipeMat(cv::Mat& m) {
  if (!m.empty() && m.isContinuous() && m.u != nullptr) {
    SecureWipe(m.data, m.total() * m.elemSize());
  }
  m.release();
}

int JpegReduction(uint32_t width, uint32_t height, const ModelManifest& manifest) {
  const double r = std::min(static_cast<double>(manifest.input_width) / width,
                            static_cast<double>(manifest.input_height) / height);
  for (int f : {8, 4, 2}) {
    const double w = std::ceil(static_cast<double>(width) / f);
    const double h = std::ceil(static_cast<double>(height) / f);
    if (w >= std::ceil(width * r) && h >= std::ceil(height * r)) return f;
  }
  return 1;
}

std::string ToJson(const DetectionResult& r) {
  nlohmann::json detections = nlohmann::json::array();
  for (const Detection& d : r.detections) {
    detections.push_back({
        {"label", d.label},
        {"class_id", d.class_id},
        {"confidence", std::round(d.confidence * 10000) / 10000},
        {"box", {Round2(d.x), Round2(d.y), Round2(d.w), Round2(d.h)}},
    });
  }
  const nlohmann::json doc = {
      {"model",
       {{"id", r.model_id},
        {"version", r.model_version},
        {"family", r.model_family},
        {"sha256", r.model_sha256},
        {"engine", r.engine}}},
      {"image",
       {{"format", std::string(ImageFormatName(r.image.format))},
        {"width", r.image.width},
        {"height", r.image.height}}},
      {"detections", std::move(detections)},
      {"timings_ms",
       {{"decode", Round2(r.timings.decode_ms)},
        {"preprocess", Round2(r.timings.preprocess_ms)},
        {"forward", Round2(r.timings.forward_ms)},
        {"postprocess", Round2(r.timings.postprocess_ms)},
        {"total", Round2(r.timings.total_ms)}}},
  };
  // Labels and ids come from manifests and file names: replace, never
  // throw on, bytes that are not UTF-8.
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<std::unique_ptr<Detector>> Detector::Create(ModelManifest manifest,
                                                           std::unique_ptr<ModelRunner> runner) {
  if (runner == nullptr) return absl::InvalidArgumentError("Detector needs a ModelRunner");
  if (manifest.class_names.empty() || manifest.input_width <= 0 || manifest.input_height <= 0) {
    return absl::InvalidArgumentError("Detector needs a complete model manifest");
  }
  return std::unique_ptr<Detector>(new Detector(std::move(manifest), std::move(runner)));
}

absl::StatusOr<DetectionResult> Detector::Detect(absl::Span<const uint8_t> encoded,
                                                 const DetectOptions& options) const {
  const Clock::time_point start = Clock::now();
  int reduce = 1;
  if (options.jpeg_dct_scaling) {
    VEIL_ASSIGN_OR_RETURN(ImageInfo info, InspectImage(encoded, options.limits));
    if (info.format == ImageFormat::kJpeg) reduce = JpegReduction(info.width, info.height, manifest_);
  }
  VEIL_ASSIGN_OR_RETURN(DecodedImage image, DecodeImage(encoded, options.limits, reduce));
  absl::Cleanup wipe = [&image] { WipeMat(image.bgr); };
  const double decode_ms = MillisSince(start);
  VEIL_ASSIGN_OR_RETURN(DetectionResult result, DetectDecoded(image, options));
  result.timings.decode_ms = decode_ms;
  result.timings.total_ms = MillisSince(start);
  return result;
}

absl::StatusOr<DetectionResult> Detector::DetectDecoded(const DecodedImage& image,
                                                        const DetectOptions& options) const {
  const Clock::time_point start = Clock::now();
  DetectionResult result;
  result.model_id = manifest_.id;
  result.model_version = manifest_.version;
  result.model_family = std::string(ModelFamilyName(manifest_.family));
  result.model_sha256 = manifest_.weights_sha256;
  result.engine = std::string(runner_->name());
  result.image = image.info;

  cv::Mat canvas, blob;
  absl::Cleanup wipe = [&] {
    WipeMat(canvas);
    WipeMat(blob);
  };
  Letterbox letterbox;
  VEIL_ASSIGN_OR_RETURN(blob, MakeInputBlob(image.bgr, manifest_, &letterbox, &canvas));
  const Clock::time_point forward_start = Clock::now();
  result.timings.preprocess_ms = MillisSince(start);
  Clock::time_point post_start;
  std::vector<Candidate> candidates;
  VEIL_RETURN_IF_ERROR(runner_->Run(blob, [&](const cv::Mat& output) -> absl::Status {
    post_start = Clock::now();
    VEIL_ASSIGN_OR_RETURN(candidates, DecodeCandidates(output, manifest_, options.postprocess));
    return absl::OkStatus();
  }));
  result.timings.forward_ms =
      std::chrono::duration<double, std::milli>(post_start - forward_start).count();
  const std::vector<size_t> kept = NonMaxSuppression(candidates, options.postprocess);
  result.detections =
      ToDetections(candidates, kept, letterbox, image.bgr.cols, image.bgr.rows,
                   static_cast<int>(image.info.width), static_cast<int>(image.info.height),
                   manifest_.class_names);
  result.timings.postprocess_ms = MillisSince(post_start);
  result.timings.total_ms = MillisSince(start);
  return result;
}

}  // namespace veil::inference
