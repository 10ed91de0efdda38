// CorpusMain: the whole main() of a seed generator (`<tool> OUT_DIR`), which
// scripts/run-fuzzers runs to (re)seed a fuzzer's corpus. Every generator
// writes its seeds the same way: OUT_DIR/seed-<name>, one file per seed,
// creating the directory if needed; exit status 0 on success, 1 on any
// error (a usage error included).
#ifndef VEIL_FUZZ_CORPUS_MAIN_H_
#define VEIL_FUZZ_CORPUS_MAIN_H_

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "absl/status/statusor.h"

namespace veil::fuzz {
namespace internal {
template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};
}  // namespace internal

// CorpusMain calls `make_seeds()`, which returns a container of seeds (each
// with `name` and `input`) or an absl::StatusOr of one, and writes them.
template <typename MakeSeeds>
int CorpusMain(int argc, char** argv, const char* tool, MakeSeeds&& make_seeds) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 1;
  }
  const std::filesystem::path dir(argv[1]);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "%s: cannot create %s: %s\n", tool, dir.c_str(), ec.message().c_str());
    return 1;
  }
  auto made = std::forward<MakeSeeds>(make_seeds)();
  const auto write = [&](const auto& seeds) {
    for (const auto& seed : seeds) {
      const std::filesystem::path path = dir / ("seed-" + seed.name);
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(seed.input.data()),
                static_cast<std::streamsize>(seed.input.size()));
      if (!out.good()) {
        std::fprintf(stderr, "%s: cannot write %s\n", tool, path.c_str());
        return 1;
      }
    }
    std::printf("%s: wrote %zu seeds to %s\n", tool, seeds.size(), dir.c_str());
    return 0;
  };
  if constexpr (internal::IsStatusOr<decltype(made)>::value) {
    if (!made.ok()) {
      std::fprintf(stderr, "%s: %s\n", tool, made.status().ToString().c_str());
      return 1;
    }
    return write(*made);
  } else {
    return write(made);
  }
}

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_CORPUS_MAIN_H_
