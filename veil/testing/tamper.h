// Systematic negative-test helpers (STYLE.md C10): take one valid artifact and
// produce every single-bit flip, every truncation and an appended byte.
#ifndef VEIL_TESTING_TAMPER_H_
#define VEIL_TESTING_TAMPER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace veil::testing {

// A Mutation is one modified copy of the artifact and a description of what
// was changed (for failure messages).
struct Mutation {
  std::string what;
  std::vector<uint8_t> bytes;
};

// ForEachBitFlip calls `fn` once for every single-bit flip of `valid`.
void ForEachBitFlip(const std::vector<uint8_t>& valid,
                    const std::function<void(const Mutation&)>& fn);
// ForEachTruncation calls `fn` for every proper prefix of `valid` (lengths 0
// to size-1).
void ForEachTruncation(const std::vector<uint8_t>& valid,
                       const std::function<void(const Mutation&)>& fn);
// ForEachAppend calls `fn` with `valid` plus one appended byte (0x00 and
// 0xFF) and plus a copy of itself.
void ForEachAppend(const std::vector<uint8_t>& valid,
                   const std::function<void(const Mutation&)>& fn);

}  // namespace veil::testing

#endif  // VEIL_TESTING_TAMPER_H_
