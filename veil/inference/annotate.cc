#include "veil/inference/annotate.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "opencv2/imgcodecs.hpp"
#include "opencv2/imgproc.hpp"
#include "veil/common/status_macros.h"
#include "veil/inference/detector.h"
#include "veil/inference/internal/cv_status.h"

namespace veil::inference {
namespace {

// ClassColour spreads class ids over the hue circle (BGR).
cv::Scalar ClassColour(int class_id) {
  static const cv::Scalar kPalette[] = {
      {56, 56, 255}, {151, 157, 255}, {31, 112, 255}, {29, 178, 255}, {49, 210, 207},
      {10, 249, 72}, {23, 204, 146},  {134, 219, 61}, {52, 147, 26},  {187, 212, 0},
      {168, 153, 44}, {255, 194, 0},  {147, 69, 52},  {255, 115, 100}, {236, 24, 0},
      {255, 56, 132}, {133, 0, 82},   {255, 56, 203}, {200, 149, 255}, {199, 55, 255}};
  return kPalette[static_cast<size_t>(class_id) % std::size(kPalette)];
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> AnnotateToPng(absl::Span<const uint8_t> encoded,
                                                   const std::vector<Detection>& detections,
                                                   const IntakeLimits& limits) {
  VEIL_ASSIGN_OR_RETURN(DecodedImage image, DecodeImage(encoded, limits));
  absl::Cleanup wipe = [&image] { WipeMat(image.bgr); };
  return internal::CallOpenCv(
      "annotating the image failed", absl::StatusCode::kInternal,
      [&]() -> absl::StatusOr<std::vector<uint8_t>> {
        cv::Mat& img = image.bgr;
        const int thickness = std::max(1, static_cast<int>(std::lround(
                                              std::max(img.cols, img.rows) / 400.0)));
        const double font_scale = std::max(0.4, thickness / 2.5);
        for (const Detection& d : detections) {
          const cv::Scalar colour = ClassColour(d.class_id);
          const cv::Rect box(static_cast<int>(d.x), static_cast<int>(d.y),
                             static_cast<int>(d.w), static_cast<int>(d.h));
          cv::rectangle(img, box, colour, thickness, cv::LINE_AA);
          char caption[96];
          std::snprintf(caption, sizeof(caption), "%s %.2f", d.label.c_str(), d.confidence);
          int baseline = 0;
          const cv::Size text =
              cv::getTextSize(caption, cv::FONT_HERSHEY_SIMPLEX, font_scale, thickness, &baseline);
          const int top = std::max(box.y - text.height - baseline - 2, 0);
          cv::rectangle(img, cv::Rect(box.x, top, text.width + 4, text.height + baseline + 2),
                        colour, cv::FILLED);
          cv::putText(img, caption, cv::Point(box.x + 2, top + text.height + 1),
                      cv::FONT_HERSHEY_SIMPLEX, font_scale, cv::Scalar(255, 255, 255), thickness,
                      cv::LINE_AA);
        }
        std::vector<uint8_t> png;
        if (!cv::imencode(".png", img, png)) {
          return absl::InternalError("could not encode the annotated image as PNG");
        }
        return png;
      });
}

}  // namespace veil::inference
