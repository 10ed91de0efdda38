// Locating test data: Veil's own (in the repository) and the shared upstream
// vectors beside the checkout (../shared), which are never copied in.
#ifndef VEIL_TESTING_TESTDATA_H_
#define VEIL_TESTING_TESTDATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace veil::testing {

// SharedDir returns the shared test-data root (`$VEIL_SHARED_DIR`, else the
// directory configured at build time, normally ../shared beside the
// checkout), or nullopt when it does not exist.
std::optional<std::string> SharedDir();

// SourceDir returns the repository root.
std::string SourceDir();

// ReadFile returns a file's bytes.
absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::string& path);
absl::StatusOr<std::string> ReadFileString(const std::string& path);

}  // namespace veil::testing

// VEIL_REQUIRE_SHARED(var) declares `std::string var` = the shared directory,
// or skips the test with a message that says what is missing.
#define VEIL_REQUIRE_SHARED(var)                                                         \
  const std::optional<std::string> var##_opt = ::veil::testing::SharedDir();             \
  if (!var##_opt) {                                                                      \
    GTEST_SKIP() << "shared test data not found (set VEIL_SHARED_DIR or place ../shared " \
                    "beside the checkout); upstream vectors are not copied into the repo"; \
  }                                                                                      \
  const std::string var = *var##_opt

#endif  // VEIL_TESTING_TESTDATA_H_
