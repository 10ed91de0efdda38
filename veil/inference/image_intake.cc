#include "veil/inference/image_intake.h"

#include <array>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "opencv2/imgcodecs.hpp"
#include "veil/common/status_macros.h"
#include "veil/inference/internal/cv_status.h"

namespace veil::inference {
namespace {

constexpr uint8_t kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

uint32_t Be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool StartsWith(absl::Span<const uint8_t> data, std::string_view prefix) {
  return data.size() >= prefix.size() && std::memcmp(data.data(), prefix.data(), prefix.size()) == 0;
}

// OtherFormatName names formats people commonly send by mistake, so the
// error can say what the file is instead of only what it is not.
std::string_view OtherFormatName(absl::Span<const uint8_t> d) {
  if (StartsWith(d, "GIF87a") || StartsWith(d, "GIF89a")) return "GIF";
  if (StartsWith(d, "BM")) return "BMP";
  if (d.size() >= 12 && StartsWith(d, "RIFF") && std::memcmp(d.data() + 8, "WEBP", 4) == 0) {
    return "WebP";
  }
  if (StartsWith(d, std::string_view("II*\0", 4)) || StartsWith(d, std::string_view("MM\0*", 4))) {
    return "TIFF";
  }
  if (d.size() >= 12 && std::memcmp(d.data() + 4, "ftyp", 4) == 0) return "HEIF/AVIF/MP4";
  if (StartsWith(d, "%PDF")) return "PDF";
  return "";
}

absl::Status CheckDimensions(uint32_t width, uint32_t height, const IntakeLimits& limits) {
  if (width == 0 || height == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image header declares a zero dimension (", width, "x", height, ")"));
  }
  if (width > limits.max_dimension || height > limits.max_dimension) {
    return absl::ResourceExhaustedError(
        absl::StrCat("image is ", width, "x", height, "; the largest side allowed is ",
                     limits.max_dimension, " pixels"));
  }
  const uint64_t pixels = uint64_t{width} * height;
  if (pixels > limits.max_pixels) {
    return absl::ResourceExhaustedError(
        absl::StrCat("image is ", width, "x", height, " = ", pixels,
                     " pixels; the limit is ", limits.max_pixels,
                     " (checked before decoding)"));
  }
  return absl::OkStatus();
}

bool IsJpegFrameMarker(uint8_t m) {
  // SOF0-3, SOF5-7, SOF9-11, SOF13-15 (ITU T.81 table B.1); C4, C8 and CC
  // are DHT, JPG and DAC.
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

// InspectJpeg walks the marker segments of an ITU T.81 interchange stream
// (annex B) up to EOI, stepping over entropy-coded data after each SOS.
absl::StatusOr<ImageInfo> InspectJpeg(absl::Span<const uint8_t> d, const IntakeLimits& limits) {
  const absl::Status truncated = absl::InvalidArgumentError(
      "truncated JPEG: the data ends before the end-of-image marker");
  ImageInfo info{ImageFormat::kJpeg, 0, 0};
  bool have_frame = false;
  int scans = 0;
  size_t pos = 2;  // after SOI
  while (true) {
    if (pos >= d.size()) return truncated;
    if (d[pos] != 0xFF) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed JPEG: expected a marker at offset ", pos));
    }
    while (pos < d.size() && d[pos] == 0xFF) ++pos;  // fill bytes (B.1.1.2)
    if (pos >= d.size()) return truncated;
    const uint8_t marker = d[pos++];
    if (marker == 0xD9) {  // EOI
      if (scans == 0) return absl::InvalidArgumentError("malformed JPEG: no image data (no scan)");
      return info;
    }
    if (marker == 0x00 || marker == 0xD8) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed JPEG: unexpected marker at offset ", pos - 1));
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (pos + 2 > d.size()) return truncated;
    const uint32_t length = Be16(&d[pos]);
    if (length < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed JPEG: segment length ", length, " at offset ", pos));
    }
    if (pos + length > d.size()) return truncated;
    const uint8_t* segment = d.data() + pos + 2;
    const size_t segment_len = length - 2;
    pos += length;

    if (IsJpegFrameMarker(marker)) {
      if (have_frame) return absl::InvalidArgumentError("malformed JPEG: two frame headers");
      if (segment_len < 6) return absl::InvalidArgumentError("malformed JPEG: short frame header");
      const uint8_t precision = segment[0];
      info.height = Be16(segment + 1);
      info.width = Be16(segment + 3);
      const uint8_t components = segment[5];
      if (precision != 8) {
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported JPEG: ", int{precision}, "-bit samples (only 8-bit)"));
      }
      if (info.height == 0) {
        return absl::InvalidArgumentError(
            "unsupported JPEG: height defined later by a DNL marker");
      }
      if (components != 1 && components != 3 && components != 4) {
        return absl::InvalidArgumentError(
            absl::StrCat("unsupported JPEG: ", int{components}, " colour components"));
      }
      if (segment_len != 6u + 3u * components) {
        return absl::InvalidArgumentError("malformed JPEG: frame header length");
      }
      // The decompression-bomb check happens here, before a decoder runs.
      VEIL_RETURN_IF_ERROR(CheckDimensions(info.width, info.height, limits));
      have_frame = true;
      continue;
    }
    if (marker != 0xDA) continue;  // APPn, COM, DQT, DHT, DRI, ...

    // SOS: the scan's entropy-coded data runs to the next marker that is
    // neither a stuffed 0xFF00 nor a restart marker (B.1.1.5, F.1.2.3).
    if (!have_frame) return absl::InvalidArgumentError("malformed JPEG: scan before frame header");
    if (++scans > limits.max_jpeg_scans) {
      return absl::ResourceExhaustedError(
          absl::StrCat("JPEG has more than ", limits.max_jpeg_scans, " scans"));
    }
    while (true) {
      const void* ff = std::memchr(d.data() + pos, 0xFF, d.size() - pos);
      if (ff == nullptr) return truncated;
      pos = static_cast<const uint8_t*>(ff) - d.data();
      if (pos + 1 >= d.size()) return truncated;
      const uint8_t next = d[pos + 1];
      if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
        pos += (next == 0xFF) ? 1 : 2;
        continue;
      }
      break;  // a marker: back to the segment loop
    }
  }
}

uint32_t Crc32(const uint8_t* data, size_t len) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

// InspectPng walks the chunks of a PNG datastream (ISO/IEC 15948 section 5)
// from IHDR to IEND, checking every length and CRC.
absl::StatusOr<ImageInfo> InspectPng(absl::Span<const uint8_t> d, const IntakeLimits& limits) {
  const absl::Status truncated =
      absl::InvalidArgumentError("truncated PNG: the data ends before the IEND chunk");
  ImageInfo info{ImageFormat::kPng, 0, 0};
  size_t pos = sizeof(kPngSignature);
  bool first = true;
  bool have_idat = false;
  while (true) {
    if (pos + 12 > d.size()) return truncated;
    const uint32_t length = Be32(&d[pos]);
    if (length > 0x7FFFFFFFu) return absl::InvalidArgumentError("malformed PNG: chunk length");
    if (d.size() - pos - 12 < length) return truncated;
    const uint8_t* type = &d[pos + 4];
    const uint8_t* body = &d[pos + 8];
    for (int i = 0; i < 4; ++i) {
      const uint8_t c = type[i] & ~0x20;  // case bit
      if (c < 'A' || c > 'Z') return absl::InvalidArgumentError("malformed PNG: chunk type");
    }
    if (Crc32(type, length + 4) != Be32(body + length)) {
      return absl::InvalidArgumentError(
          absl::StrCat("corrupt PNG: CRC mismatch in the chunk at offset ", pos));
    }
    const std::string_view name(reinterpret_cast<const char*>(type), 4);
    pos += 12 + size_t{length};
    if (first) {
      if (name != "IHDR" || length != 13) {
        return absl::InvalidArgumentError("malformed PNG: the first chunk is not IHDR");
      }
      info.width = Be32(body);
      info.height = Be32(body + 4);
      const uint8_t depth = body[8], colour = body[9];
      const bool valid = (colour == 0 && (depth == 1 || depth == 2 || depth == 4 ||
                                          depth == 8 || depth == 16)) ||
                         (colour == 3 && (depth == 1 || depth == 2 || depth == 4 || depth == 8)) ||
                         ((colour == 2 || colour == 4 || colour == 6) &&
                          (depth == 8 || depth == 16));
      if (!valid || body[10] != 0 || body[11] != 0 || body[12] > 1) {
        return absl::InvalidArgumentError("malformed PNG: invalid IHDR fields");
      }
      if (info.width > 0x7FFFFFFFu || info.height > 0x7FFFFFFFu) {
        return absl::InvalidArgumentError("malformed PNG: dimension above 2^31-1");
      }
      // The decompression-bomb check: the header's pixel count bounds what
      // the zlib stream may inflate to, so refuse before inflating anything.
      VEIL_RETURN_IF_ERROR(CheckDimensions(info.width, info.height, limits));
      first = false;
      continue;
    }
    if (name == "IHDR") return absl::InvalidArgumentError("malformed PNG: second IHDR");
    if (name == "IDAT") have_idat = true;
    if (name == "IEND") {
      if (!have_idat) return absl::InvalidArgumentError("malformed PNG: no IDAT chunk");
      return info;
    }
  }
}

}  // namespace

std::string_view ImageFormatName(ImageFormat format) {
  return format == ImageFormat::kJpeg ? "jpeg" : "png";
}

absl::StatusOr<ImageInfo> InspectImage(absl::Span<const uint8_t> encoded,
                                       const IntakeLimits& limits) {
  if (encoded.empty()) return absl::InvalidArgumentError("image is empty (0 bytes)");
  if (encoded.size() > limits.max_encoded_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("image is ", encoded.size(), " bytes; the limit is ",
                     limits.max_encoded_bytes));
  }
  if (encoded.size() >= 3 && encoded[0] == 0xFF && encoded[1] == 0xD8 && encoded[2] == 0xFF) {
    return InspectJpeg(encoded, limits);
  }
  if (encoded.size() >= sizeof(kPngSignature) &&
      std::memcmp(encoded.data(), kPngSignature, sizeof(kPngSignature)) == 0) {
    return InspectPng(encoded, limits);
  }
  const std::string_view other = OtherFormatName(encoded);
  if (!other.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported image format ", std::string(other), "; send JPEG or PNG"));
  }
  return absl::InvalidArgumentError(
      "not an image: the content is neither JPEG nor PNG (the format is taken from the "
      "bytes, not the file name)");
}

absl::StatusOr<DecodedImage> DecodeImage(absl::Span<const uint8_t> encoded,
                                         const IntakeLimits& limits, int reduce) {
  VEIL_ASSIGN_OR_RETURN(ImageInfo info, InspectImage(encoded, limits));
  int flags = cv::IMREAD_COLOR;
  if (info.format == ImageFormat::kJpeg) {
    switch (reduce) {
      case 1: break;
      case 2: flags = cv::IMREAD_REDUCED_COLOR_2; break;
      case 4: flags = cv::IMREAD_REDUCED_COLOR_4; break;
      case 8: flags = cv::IMREAD_REDUCED_COLOR_8; break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("reduce must be 1, 2, 4 or 8, not ", reduce));
    }
  } else {
    reduce = 1;
  }
  DecodedImage out;
  out.info = info;
  VEIL_RETURN_IF_ERROR(internal::CallOpenCv(
      "image decode failed", absl::StatusCode::kInvalidArgument, [&]() -> absl::Status {
        // The Mat header wraps the caller's bytes; nothing is copied.
        const cv::Mat wrapped(1, static_cast<int>(encoded.size()), CV_8UC1,
                              const_cast<uint8_t*>(encoded.data()));
        out.bgr = cv::imdecode(wrapped, flags);
        return absl::OkStatus();
      }));
  if (out.bgr.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image decode failed: the ", std::string(ImageFormatName(info.format)),
        " data is corrupt"));
  }
  // A decoder must produce what the header declared (a JPEG's EXIF
  // orientation may swap the sides; DCT scaling rounds up).
  const auto scaled = [reduce](uint32_t v) { return static_cast<int>((v + reduce - 1) / reduce); };
  const int w = scaled(info.width), h = scaled(info.height);
  const bool same = out.bgr.cols == w && out.bgr.rows == h;
  const bool swapped = out.bgr.cols == h && out.bgr.rows == w;
  if (out.bgr.type() != CV_8UC3 || !(same || swapped)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image decode failed: the decoder produced ", out.bgr.cols, "x", out.bgr.rows,
        " but the header declares ", info.width, "x", info.height));
  }
  if (swapped && !same) std::swap(out.info.width, out.info.height);
  return out;
}

}  // namespace veil::inference
