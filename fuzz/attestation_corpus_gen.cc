// attestation_corpus_gen OUT_DIR: writes the attestation fuzzer's seed inputs
// (fuzz/attestation_fuzz_seeds.h) into OUT_DIR, one file per seed, creating
// the directory if needed. The real documents are read from
// $VEIL_SHARED_DIR/testdata/nitro, else from the shared directory configured
// at build time; without either only the synthetic seeds are written. Exit
// status 0 on success, 1 on any error.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fuzz/attestation_fuzz_seeds.h"
#include "veil/common/status_macros.h"

namespace veil::fuzz {
namespace {

std::optional<std::string> SharedDir() {
  const char* env = std::getenv("VEIL_SHARED_DIR");
  const std::string dir = env != nullptr && *env != '\0' ? env : VEIL_SHARED_DIR_DEFAULT;
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::path(dir) / "testdata" / "nitro", ec)) {
    return std::nullopt;
  }
  return dir;
}

absl::Status WriteCorpus(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  const std::optional<std::string> shared = SharedDir();
  if (!shared.has_value()) {
    std::fprintf(stderr, "attestation_corpus_gen: no shared test data; synthetic seeds only\n");
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<AttestationSeed> seeds, MakeAttestationSeeds(shared));
  for (const AttestationSeed& seed : seeds) {
    const std::filesystem::path path = dir / ("seed-" + seed.name);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(seed.input.data()),
              static_cast<std::streamsize>(seed.input.size()));
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  }
  std::printf("attestation_corpus_gen: wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
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
    std::fprintf(stderr, "attestation_corpus_gen: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
