// attestation_corpus_gen OUT_DIR: writes the attestation fuzzer's seed inputs
// (fuzz/attestation_fuzz_seeds.h) into OUT_DIR, one file per seed, creating
// the directory if needed (fuzz/corpus_main.h). The real documents are read from
// $VEIL_SHARED_DIR/testdata/nitro, else from the shared directory configured
// at build time; without either only the synthetic seeds are written. Exit
// status 0 on success, 1 on any error.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "fuzz/corpus_main.h"
#include "fuzz/attestation_fuzz_seeds.h"

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

}  // namespace
}  // namespace veil::fuzz

int main(int argc, char** argv) {
  return veil::fuzz::CorpusMain(argc, argv, "attestation_corpus_gen", [] {
    const std::optional<std::string> shared = veil::fuzz::SharedDir();
    if (!shared.has_value()) {
      std::fprintf(stderr, "attestation_corpus_gen: no shared test data; synthetic seeds only\n");
    }
    return veil::fuzz::MakeAttestationSeeds(shared);
  });
}
