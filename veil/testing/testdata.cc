#include "veil/testing/testdata.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace veil::testing {

std::optional<std::string> SharedDir() {
  std::string dir;
  if (const char* env = std::getenv("VEIL_SHARED_DIR"); env != nullptr && *env != '\0') {
    dir = env;
  } else {
    dir = VEIL_SHARED_DIR_DEFAULT;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::path(dir) / "testdata", ec)) {
    return std::nullopt;
  }
  return std::filesystem::weakly_canonical(dir, ec).string();
}

std::string SourceDir() { return VEIL_SOURCE_DIR; }

absl::StatusOr<std::string> ReadFileString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::string& path) {
  auto s = ReadFileString(path);
  if (!s.ok()) return s.status();
  return std::vector<uint8_t>(s->begin(), s->end());
}

}  // namespace veil::testing
