// The image intake fuzz target: untrusted bytes through InspectImage and
// DecodeImage (JPEG marker walk, PNG chunk walk, then OpenCV's decoders).
#ifndef VEIL_FUZZ_IMAGE_INTAKE_FUZZER_H_
#define VEIL_FUZZ_IMAGE_INTAKE_FUZZER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace veil::fuzz {

struct ImageSeed {
  std::string name;
  std::vector<uint8_t> input;
};

// ImageSeeds returns small valid JPEG and PNG variants (greyscale, colour,
// alpha, 16-bit, progressive, interlaced-looking sizes) encoded by OpenCV.
std::vector<ImageSeed> ImageSeeds();

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_IMAGE_INTAKE_FUZZER_H_
