#include "veil/inference/preprocess.h"

#include <algorithm>
#include <cmath>

#include "opencv2/dnn/dnn.hpp"
#include "opencv2/imgproc.hpp"
#include "veil/common/status_macros.h"
#include "veil/inference/internal/cv_status.h"

namespace veil::inference {

Letterbox ComputeLetterbox(int width, int height, int input_width, int input_height,
                           LetterboxPlacement placement) {
  Letterbox lb;
  lb.scale = std::min(static_cast<double>(input_width) / width,
                      static_cast<double>(input_height) / height);
  if (placement == LetterboxPlacement::kCenter) {
    // Python's round(), which Ultralytics uses, breaks ties to even
    // (640x481 at r 0.5 -> 240 rows, not 241); nearbyint does the same in
    // the default rounding mode.
    lb.resized_width = static_cast<int>(std::nearbyint(width * lb.scale));
    lb.resized_height = static_cast<int>(std::nearbyint(height * lb.scale));
    const double dw = (input_width - lb.resized_width) / 2.0;
    const double dh = (input_height - lb.resized_height) / 2.0;
    lb.pad_x = static_cast<int>(std::lround(dw - 0.1));
    lb.pad_y = static_cast<int>(std::lround(dh - 0.1));
  } else {
    lb.resized_width = static_cast<int>(std::lround(width * lb.scale));
    lb.resized_height = static_cast<int>(std::lround(height * lb.scale));
  }
  lb.resized_width = std::clamp(lb.resized_width, 1, input_width);
  lb.resized_height = std::clamp(lb.resized_height, 1, input_height);
  lb.pad_x = std::clamp(lb.pad_x, 0, input_width - lb.resized_width);
  lb.pad_y = std::clamp(lb.pad_y, 0, input_height - lb.resized_height);
  return lb;
}

absl::StatusOr<cv::Mat> MakeInputBlob(const cv::Mat& image, const ModelManifest& manifest,
                                      Letterbox* out_letterbox, cv::Mat* canvas) {
  if (image.empty() || image.type() != CV_8UC3) {
    return absl::InvalidArgumentError("pre-processing needs a non-empty 8-bit BGR image");
  }
  const Preprocessing& pre = manifest.preprocessing;
  const Letterbox lb = ComputeLetterbox(image.cols, image.rows, manifest.input_width,
                                        manifest.input_height, pre.placement);
  *out_letterbox = lb;
  return internal::CallOpenCv(
      "pre-processing failed", absl::StatusCode::kInternal, [&]() -> absl::StatusOr<cv::Mat> {
        canvas->create(manifest.input_height, manifest.input_width, CV_8UC3);
        canvas->setTo(cv::Scalar::all(pre.pad_value));
        // Resize straight into the canvas region: no intermediate image.
        cv::Mat region = (*canvas)(cv::Rect(lb.pad_x, lb.pad_y, lb.resized_width,
                                            lb.resized_height));
        if (lb.resized_width == image.cols && lb.resized_height == image.rows) {
          image.copyTo(region);
        } else {
          cv::resize(image, region, region.size(), 0, 0, cv::INTER_LINEAR);
        }
        return cv::dnn::blobFromImage(*canvas, pre.scale, cv::Size(), cv::Scalar(), pre.swap_rb,
                                      /*crop=*/false, CV_32F);
      });
}

}  // namespace veil::inference
