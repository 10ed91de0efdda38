// Image intake: every refusal has its own clear error, decompression bombs
// are refused from the header before any decoder runs, and no input crashes.
#include "veil/inference/image_intake.h"

#include <zlib.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "opencv2/imgcodecs.hpp"
#include "rapidcheck/gtest.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::inference {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

cv::Mat Gradient(int w, int h, int channels = 3) {
  cv::Mat m(h, w, CV_8UC(channels));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      uint8_t* p = m.ptr<uint8_t>(y) + x * channels;
      for (int c = 0; c < channels; ++c) p[c] = static_cast<uint8_t>((x * 3 + y * 5 + c * 70) & 0xFF);
    }
  }
  return m;
}

std::vector<uint8_t> Encode(const cv::Mat& m, const std::string& ext,
                            const std::vector<int>& params = {}) {
  std::vector<uint8_t> out;
  EXPECT_TRUE(cv::imencode(ext, m, out, params));
  return out;
}

void PutBe32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

// PngChunk appends a chunk with a correct CRC.
void PngChunk(std::vector<uint8_t>& png, const char type[4], const std::vector<uint8_t>& body) {
  PutBe32(png, static_cast<uint32_t>(body.size()));
  std::vector<uint8_t> typed(type, type + 4);
  typed.insert(typed.end(), body.begin(), body.end());
  png.insert(png.end(), typed.begin(), typed.end());
  PutBe32(png, static_cast<uint32_t>(crc32(0, typed.data(), static_cast<uInt>(typed.size()))));
}

std::vector<uint8_t> PngHeader(uint32_t w, uint32_t h, uint8_t depth, uint8_t colour) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::vector<uint8_t> ihdr;
  PutBe32(ihdr, w);
  PutBe32(ihdr, h);
  ihdr.insert(ihdr.end(), {depth, colour, 0, 0, 0});
  PngChunk(png, "IHDR", ihdr);
  return png;
}

// PngBomb returns a real, valid 1-bit greyscale PNG of w x h whose pixel data
// is all zeros: tiny when compressed, w*h/8 bytes when inflated.
std::vector<uint8_t> PngBomb(uint32_t w, uint32_t h) {
  std::vector<uint8_t> png = PngHeader(w, h, 1, 0);
  z_stream z{};
  EXPECT_EQ(deflateInit(&z, 9), Z_OK);
  const std::vector<uint8_t> row(1 + (w + 7) / 8, 0);  // filter byte 0 + zeros
  std::vector<uint8_t> idat, buf(1 << 16);
  for (uint32_t y = 0; y < h; ++y) {
    z.next_in = const_cast<uint8_t*>(row.data());
    z.avail_in = static_cast<uInt>(row.size());
    const int flush = (y + 1 == h) ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, flush);
      idat.insert(idat.end(), buf.data(), buf.data() + (buf.size() - z.avail_out));
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  PngChunk(png, "IDAT", idat);
  PngChunk(png, "IEND", {});
  return png;
}

// JpegWithFrame returns a minimal JPEG skeleton (SOI, SOF0 with the given
// fields, SOS, one entropy byte, EOI).
std::vector<uint8_t> JpegWithFrame(uint16_t w, uint16_t h, uint8_t precision = 8) {
  return {0xFF, 0xD8,                                                    // SOI
          0xFF, 0xC0, 0x00, 0x0B, precision, static_cast<uint8_t>(h >> 8),
          static_cast<uint8_t>(h), static_cast<uint8_t>(w >> 8), static_cast<uint8_t>(w), 1,
          1, 0x11, 0,                                                    // SOF0, 1 component
          0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 0, 63, 0,                  // SOS
          0x00,                                                          // entropy data
          0xFF, 0xD9};                                                   // EOI
}

TEST(ImageIntakeTest, AcceptsJpegAndPngByContent) {
  const cv::Mat img = Gradient(97, 61);
  for (const std::string ext : {".jpg", ".png"}) {
    SCOPED_TRACE(ext);
    const std::vector<uint8_t> bytes = Encode(img, ext);
    VEIL_ASSERT_OK_AND_ASSIGN(ImageInfo info, InspectImage(bytes));
    EXPECT_EQ(info.format, ext == ".jpg" ? ImageFormat::kJpeg : ImageFormat::kPng);
    EXPECT_EQ(info.width, 97u);
    EXPECT_EQ(info.height, 61u);
    VEIL_ASSERT_OK_AND_ASSIGN(DecodedImage decoded, DecodeImage(bytes));
    EXPECT_EQ(decoded.bgr.cols, 97);
    EXPECT_EQ(decoded.bgr.rows, 61);
    EXPECT_EQ(decoded.bgr.type(), CV_8UC3);
  }
}

TEST(ImageIntakeTest, PngVariantsDecodeToEightBitBgr) {
  cv::Mat grey = Gradient(40, 30, 1);
  cv::Mat rgba = Gradient(40, 30, 4);
  cv::Mat deep;
  Gradient(40, 30).convertTo(deep, CV_16UC3, 257);
  for (const cv::Mat* m : {&grey, &rgba, &deep}) {
    VEIL_ASSERT_OK_AND_ASSIGN(DecodedImage decoded, DecodeImage(Encode(*m, ".png")));
    EXPECT_EQ(decoded.bgr.type(), CV_8UC3);
    EXPECT_EQ(decoded.bgr.size(), cv::Size(40, 30));
  }
  // Greyscale and progressive JPEG.
  VEIL_EXPECT_OK(DecodeImage(Encode(grey, ".jpg")).status());
  VEIL_EXPECT_OK(DecodeImage(Encode(Gradient(40, 30), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}))
                     .status());
}

TEST(ImageIntakeTest, SharedPhotosPassIntake) {
  VEIL_REQUIRE_SHARED(shared);
  for (const char* name : {"dog.jpg", "horses.jpg", "person.jpg", "giraffe.jpg"}) {
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes,
                              testing::ReadFile(shared + "/testdata/images/" + name));
    VEIL_EXPECT_OK(DecodeImage(bytes).status()) << name;
  }
}

TEST(ImageIntakeTest, EmptyIsRefused) {
  EXPECT_THAT(InspectImage({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(InspectImage({}).status().message()), HasSubstr("empty"));
}

TEST(ImageIntakeTest, OtherFormatsAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GIF89a\x01\x00\x01\x00", "GIF"},
      {"BM\x3a\x00\x00\x00\x00\x00", "BMP"},
      {std::string("RIFF\x10\x00\x00\x00WEBPVP8 ", 16), "WebP"},
      {std::string("II*\0\x08\0\0\0", 8), "TIFF"},
      {"%PDF-1.7\n", "PDF"},
  };
  for (const auto& [bytes, name] : cases) {
    const auto status = InspectImage(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(status.status().message()), HasSubstr(name));
  }
  const std::string text = "this is a text file called photo.jpg";
  const auto status =
      InspectImage(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("neither JPEG nor PNG"));
  // The error never quotes the input.
  EXPECT_THAT(std::string(status.status().message()), ::testing::Not(HasSubstr("text file")));
}

TEST(ImageIntakeTest, EveryTruncationIsRefused) {
  for (const std::string ext : {".jpg", ".png"}) {
    SCOPED_TRACE(ext);
    const std::vector<uint8_t> bytes = Encode(Gradient(64, 48), ext);
    for (size_t n = 1; n < bytes.size(); ++n) {
      const auto status = DecodeImage(absl::MakeConstSpan(bytes.data(), n));
      ASSERT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument)) << n;
      if (n >= 16) {
        ASSERT_THAT(std::string(status.status().message()), HasSubstr("truncated")) << n;
      }
    }
  }
}

TEST(ImageIntakeTest, PngCrcMismatchIsRefused) {
  std::vector<uint8_t> bytes = Encode(Gradient(16, 16), ".png");
  bytes[bytes.size() - 20] ^= 0x01;  // inside the last IDAT (before IEND's 12 bytes)
  EXPECT_THAT(std::string(InspectImage(bytes).status().message()), HasSubstr("CRC"));
}

TEST(ImageIntakeTest, OversizedDimensionsAreRefusedFromTheHeader) {
  std::vector<uint8_t> png = PngHeader(100000, 100000, 8, 2);
  PngChunk(png, "IDAT", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
  PngChunk(png, "IEND", {});
  auto status = InspectImage(png);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("100000x100000"));

  status = InspectImage(JpegWithFrame(65000, 65000));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("65000x65000"));

  // Within each side's limit but over the pixel budget.
  IntakeLimits limits;
  limits.max_pixels = 1000 * 1000;
  status = InspectImage(Encode(Gradient(1200, 900), ".png"), limits);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("checked before decoding"));
}

TEST(ImageIntakeTest, PngBombIsRefusedBeforeInflating) {
  // 16000 x 16000 1-bit (each side under the limit): about 32 KB on disk,
  // 32 MB of pixel rows inflated and a 768 MB BGR image if decoded.
  const std::vector<uint8_t> bomb = PngBomb(16000, 16000);
  ASSERT_LT(bomb.size(), 512u * 1024);
  const auto status = DecodeImage(bomb);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("256000000 pixels"));
  // The same construction at a permitted size is a valid image.
  VEIL_ASSERT_OK_AND_ASSIGN(DecodedImage small, DecodeImage(PngBomb(300, 200)));
  EXPECT_EQ(small.bgr.size(), cv::Size(300, 200));
}

TEST(ImageIntakeTest, EncodedSizeLimit) {
  IntakeLimits limits;
  limits.max_encoded_bytes = 100;
  EXPECT_THAT(InspectImage(Encode(Gradient(64, 64), ".png"), limits),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(ImageIntakeTest, TooManyJpegScansAreRefused) {
  const std::vector<uint8_t> progressive =
      Encode(Gradient(64, 64), ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
  VEIL_EXPECT_OK(InspectImage(progressive).status());
  IntakeLimits limits;
  limits.max_jpeg_scans = 2;
  const auto status = InspectImage(progressive, limits);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(status.status().message()), HasSubstr("scans"));
}

TEST(ImageIntakeTest, UnsupportedJpegVariants) {
  EXPECT_THAT(std::string(InspectImage(JpegWithFrame(8, 8, 12)).status().message()),
              HasSubstr("12-bit"));
  EXPECT_THAT(std::string(InspectImage(JpegWithFrame(8, 0)).status().message()),
              HasSubstr("DNL"));
  EXPECT_THAT(InspectImage(JpegWithFrame(0, 8)), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ImageIntakeTest, CorruptEntropyDataNeverCrashes) {
  const std::vector<uint8_t> good = Encode(Gradient(64, 48), ".jpg");
  for (size_t i = good.size() / 2; i < good.size() - 2; i += 7) {
    std::vector<uint8_t> bad = good;
    bad[i] ^= 0x5A;
    (void)DecodeImage(bad);  // may decode with artefacts or fail; must not crash
  }
}

RC_GTEST_PROP(ImageIntakeProperty, RandomBytesAreRefused, (const std::vector<uint8_t>& tail)) {
  for (const std::vector<uint8_t>& magic :
       {std::vector<uint8_t>{}, std::vector<uint8_t>{0xFF, 0xD8, 0xFF},
        std::vector<uint8_t>{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}}) {
    std::vector<uint8_t> bytes = magic;
    bytes.insert(bytes.end(), tail.begin(), tail.end());
    RC_ASSERT(!DecodeImage(bytes).ok());
  }
}

}  // namespace
}  // namespace veil::inference
