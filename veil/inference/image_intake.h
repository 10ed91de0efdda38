// Image intake: the enclave's largest attack surface. Every image a tenant
// sends is checked here before any decoder sees it.
//
// InspectImage identifies the format by content (never by name), walks the
// container structure (JPEG markers, PNG chunks with their CRCs) and checks
// the declared dimensions against the limits, all without decompressing a
// byte. DecodeImage then hands only accepted bytes to OpenCV's decoders and
// checks that what came out is what the header promised.
#ifndef VEIL_INFERENCE_IMAGE_INTAKE_H_
#define VEIL_INFERENCE_IMAGE_INTAKE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "opencv2/core/mat.hpp"

namespace veil::inference {

enum class ImageFormat { kJpeg, kPng };

// ImageFormatName returns "jpeg" or "png".
std::string_view ImageFormatName(ImageFormat format);

// IntakeLimits bound the memory and time an image may cost. The defaults
// admit a 16 MiB file of up to 8192 x 8192 (64 Mpx; a 24-bit decode of that
// size is 192 MiB).
struct IntakeLimits {
  size_t max_encoded_bytes = 16 << 20;
  uint64_t max_pixels = 8192ull * 8192ull;
  uint32_t max_dimension = 16384;  // either side
  // A progressive JPEG decodes every scan in full; thousands of tiny scans
  // are a CPU bomb (libjpeg-turbo's own tools cap them the same way).
  int max_jpeg_scans = 100;
};

// ImageInfo is what the container header declares.
struct ImageInfo {
  ImageFormat format = ImageFormat::kJpeg;
  uint32_t width = 0;
  uint32_t height = 0;
};

// InspectImage checks `encoded` without decoding pixels. Errors (the
// messages never quote image bytes):
//   InvalidArgument    empty input, a format other than JPEG or PNG (named
//                      when recognisable: GIF, BMP, WebP, TIFF, ...),
//                      malformed or truncated structure, a PNG chunk CRC
//                      mismatch, unsupported variants (12-bit JPEG, DNL);
//   ResourceExhausted  more than max_encoded_bytes, a side above
//                      max_dimension, more than max_pixels, or more than
//                      max_jpeg_scans scans.
absl::StatusOr<ImageInfo> InspectImage(absl::Span<const uint8_t> encoded,
                                       const IntakeLimits& limits = IntakeLimits());

// DecodedImage is an 8-bit, 3-channel BGR image (OpenCV's order), with the
// alpha channel dropped, grey expanded, 16-bit PNG scaled to 8 bits and the
// JPEG EXIF orientation applied.
struct DecodedImage {
  ImageInfo info;
  cv::Mat bgr;
};

// DecodeImage runs InspectImage and then decodes. `reduce` (1, 2, 4 or 8)
// asks a JPEG decoder to scale down by that factor in the DCT domain, which
// is several times faster than decoding in full; it is ignored for PNG.
// Fails with InspectImage's errors, or InvalidArgument when the decoder
// rejects the data or produces other dimensions than the header declared.
absl::StatusOr<DecodedImage> DecodeImage(absl::Span<const uint8_t> encoded,
                                         const IntakeLimits& limits = IntakeLimits(),
                                         int reduce = 1);

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_IMAGE_INTAKE_H_
