#include "fuzz/image_intake_fuzzer.h"

#include <cstdio>
#include <cstdlib>

#include "absl/types/span.h"
#include "opencv2/core/utility.hpp"
#include "veil/inference/image_intake.h"

namespace veil::fuzz {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "image_intake_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

inference::IntakeLimits FuzzLimits() {
  // Smaller than production so each input decodes quickly; the limit logic
  // is the same code.
  inference::IntakeLimits limits;
  limits.max_encoded_bytes = 1 << 20;
  limits.max_pixels = 1 << 20;
  limits.max_dimension = 4096;
  limits.max_jpeg_scans = 32;
  return limits;
}

}  // namespace
}  // namespace veil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace veil::inference;
  static const bool once = [] {
    cv::setNumThreads(1);
    return true;
  }();
  (void)once;
  const IntakeLimits limits = veil::fuzz::FuzzLimits();
  const absl::Span<const uint8_t> bytes(data, size);
  const auto info = InspectImage(bytes, limits);
  const auto decoded = DecodeImage(bytes, limits);
  if (!info.ok()) {
    // Intake refusal is final: no decoder may run on refused bytes.
    if (decoded.ok() || decoded.status().code() != info.status().code()) {
      veil::fuzz::Fail("DecodeImage accepted or disagreed with an InspectImage refusal");
    }
    return 0;
  }
  if (!decoded.ok()) return 0;
  const DecodedImage& image = *decoded;
  if (image.bgr.type() != CV_8UC3) veil::fuzz::Fail("decoded image is not 8-bit BGR");
  if (static_cast<uint64_t>(image.bgr.cols) * static_cast<uint64_t>(image.bgr.rows) >
      limits.max_pixels) {
    veil::fuzz::Fail("decoded image exceeds the pixel limit");
  }
  if (image.info.width != static_cast<uint32_t>(image.bgr.cols) ||
      image.info.height != static_cast<uint32_t>(image.bgr.rows)) {
    veil::fuzz::Fail("decoded size differs from the declared size");
  }
  return 0;
}
