// wire_corpus_gen OUT_DIR: writes the wire fuzzer's seed inputs
// (fuzz/wire_fuzz_seeds.h) into OUT_DIR, one file per seed, creating the
// directory if needed. Exit status 0 on success, 1 on any error.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fuzz/wire_fuzz_seeds.h"

namespace veil::fuzz {
namespace {

absl::Status WriteCorpus(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  const std::vector<WireSeed> seeds = MakeWireSeeds();
  for (const WireSeed& seed : seeds) {
    const std::filesystem::path path = dir / ("seed-" + seed.name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(seed.input.data()),
              static_cast<std::streamsize>(seed.input.size()));
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  std::printf("wire_corpus_gen: wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace veil::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 1;
  }
  const absl::Status status = veil::fuzz::WriteCorpus(argv[1]);
  if (!status.ok()) {
    std::fprintf(stderr, "wire_corpus_gen: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
