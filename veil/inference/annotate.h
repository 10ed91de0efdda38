// Drawing detections onto a copy of the image, so a person can see them.
#ifndef VEIL_INFERENCE_ANNOTATE_H_
#define VEIL_INFERENCE_ANNOTATE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/inference/image_intake.h"
#include "veil/inference/postprocess.h"

namespace veil::inference {

// AnnotateToPng decodes `encoded` (through the same intake checks as
// detection), draws each detection's box and "label 0.87" caption in a
// per-class colour, and returns the result encoded as PNG.
absl::StatusOr<std::vector<uint8_t>> AnnotateToPng(absl::Span<const uint8_t> encoded,
                                                   const std::vector<Detection>& detections,
                                                   const IntakeLimits& limits = IntakeLimits());

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_ANNOTATE_H_
