// image_corpus_gen OUT_DIR: writes image_intake_fuzzer's seeds into OUT_DIR,
// one file per seed (scripts/run-fuzzers finds it by the fuzzer's module
// name, "image"). Exit status 0 on success, 1 on any error.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "fuzz/image_intake_fuzzer.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 1;
  }
  const std::filesystem::path dir(argv[1]);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return 1;
  const auto seeds = veil::fuzz::ImageSeeds();
  for (const auto& seed : seeds) {
    std::ofstream out(dir / ("seed-" + seed.name), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(seed.input.data()),
              static_cast<std::streamsize>(seed.input.size()));
    if (!out.good()) return 1;
  }
  std::printf("image_corpus_gen: wrote %zu seeds to %s\n", seeds.size(), argv[1]);
  return 0;
}
