#include <vector>

#include "fuzz/image_intake_fuzzer.h"
#include "opencv2/core.hpp"
#include "opencv2/imgcodecs.hpp"

namespace veil::fuzz {

std::vector<ImageSeed> ImageSeeds() {
  cv::Mat colour(24, 32, CV_8UC3), grey(17, 9, CV_8UC1), alpha(8, 8, CV_8UC4);
  cv::randu(colour, 0, 255);
  cv::randu(grey, 0, 255);
  cv::randu(alpha, 0, 255);
  cv::Mat deep;
  colour.convertTo(deep, CV_16UC3, 257);
  struct Spec {
    const char* name;
    const cv::Mat* image;
    const char* ext;
    std::vector<int> params;
  };
  const Spec specs[] = {
      {"colour.jpg", &colour, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 50}},
      {"grey.jpg", &grey, ".jpg", {}},
      {"progressive.jpg", &colour, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}},
      {"optimized.jpg", &colour, ".jpg", {cv::IMWRITE_JPEG_OPTIMIZE, 1}},
      {"restart.jpg", &colour, ".jpg", {cv::IMWRITE_JPEG_RST_INTERVAL, 1}},
      {"colour.png", &colour, ".png", {cv::IMWRITE_PNG_COMPRESSION, 1}},
      {"grey.png", &grey, ".png", {}},
      {"alpha.png", &alpha, ".png", {}},
      {"deep.png", &deep, ".png", {}},
  };
  std::vector<ImageSeed> seeds;
  for (const Spec& s : specs) {
    std::vector<uint8_t> bytes;
    if (cv::imencode(s.ext, *s.image, bytes, s.params)) seeds.push_back({s.name, bytes});
  }
  return seeds;
}

}  // namespace veil::fuzz
