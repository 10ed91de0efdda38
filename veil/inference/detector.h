// Detector: encoded image in, detections out.
//
//   intake (format by content, limits before decode) -> decode ->
//   letterbox + blob -> ModelRunner::Run -> decode rows -> class-aware NMS ->
//   boxes in original-image pixels, deterministic order.
//
// Every buffer that held image-derived data (decoded pixels, letterbox
// canvas, input blob, network output) is wiped before Detect returns.
#ifndef VEIL_INFERENCE_DETECTOR_H_
#define VEIL_INFERENCE_DETECTOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/inference/image_intake.h"
#include "veil/inference/model.h"
#include "veil/inference/model_runner.h"
#include "veil/inference/postprocess.h"

namespace veil::inference {

struct DetectOptions {
  PostprocessOptions postprocess;
  IntakeLimits limits;
  // Let the JPEG decoder scale down by 2, 4 or 8 in the DCT domain when the
  // reduced image is still at least as large as the letterbox needs. About
  // 1.5x faster for a 768x576 photo, but the resampling differs from a full
  // decode + INTER_LINEAR enough to move confidences by more than 0.02, so
  // it is off by default (results then match the reference pipeline).
  bool jpeg_dct_scaling = false;
};

struct Timings {
  double decode_ms = 0;
  double preprocess_ms = 0;
  double forward_ms = 0;
  double postprocess_ms = 0;
  double total_ms = 0;
};

// DetectionResult is the documented result (docs/inference.md); ToJson
// renders it.
struct DetectionResult {
  std::string model_id;
  std::string model_version;
  std::string model_family;
  std::string model_sha256;
  std::string engine;
  ImageInfo image;
  std::vector<Detection> detections;
  Timings timings;
};

// ToJson renders `result` as one JSON document (no trailing newline):
// {"model": {...}, "image": {...}, "detections": [{label, class_id,
// confidence, box: [x, y, w, h]}], "timings_ms": {...}}.
std::string ToJson(const DetectionResult& result);

class Detector {
 public:
  // Create binds a model description to an engine. The runner must have
  // been built from the same model.
  static absl::StatusOr<std::unique_ptr<Detector>> Create(ModelManifest manifest,
                                                          std::unique_ptr<ModelRunner> runner);

  // Detect runs the whole path on one encoded image. Thread-safe; calls in
  // parallel share the runner's pool. Errors: those of DecodeImage
  // (InvalidArgument / ResourceExhausted, never quoting image bytes), and
  // FailedPrecondition / Internal from the engine.
  absl::StatusOr<DetectionResult> Detect(absl::Span<const uint8_t> encoded,
                                         const DetectOptions& options = DetectOptions()) const;

  // DetectDecoded runs from an already decoded image (for benchmarks and
  // tools that hold pixels); `image` is not wiped.
  absl::StatusOr<DetectionResult> DetectDecoded(const DecodedImage& image,
                                                const DetectOptions& options = DetectOptions()) const;

  const ModelManifest& manifest() const { return manifest_; }

 private:
  Detector(ModelManifest manifest, std::unique_ptr<ModelRunner> runner)
      : manifest_(std::move(manifest)), runner_(std::move(runner)) {}

  const ModelManifest manifest_;
  const std::unique_ptr<ModelRunner> runner_;
};

// JpegReduction returns the DCT scaling factor (1, 2, 4 or 8) DetectOptions::
// jpeg_dct_scaling uses for a `width` x `height` image and this model.
int JpegReduction(uint32_t width, uint32_t height, const ModelManifest& manifest);

// WipeMat overwrites the pixels of `m` (when it owns continuous memory) and
// releases it. Used on every image-derived buffer.
void WipeMat(cv::Mat& m);

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_DETECTOR_H_
