#include "veil/testing/tamper.h"

#include "absl/strings/str_cat.h"

namespace veil::testing {

void ForEachBitFlip(const std::vector<uint8_t>& valid,
                    const std::function<void(const Mutation&)>& fn) {
  Mutation m{"", valid};
  for (size_t i = 0; i < valid.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      m.bytes[i] ^= static_cast<uint8_t>(1u << bit);
      m.what = absl::StrCat("flip bit ", bit, " of byte ", i);
      fn(m);
      m.bytes[i] ^= static_cast<uint8_t>(1u << bit);
    }
  }
}

void ForEachTruncation(const std::vector<uint8_t>& valid,
                       const std::function<void(const Mutation&)>& fn) {
  for (size_t len = 0; len < valid.size(); ++len) {
    fn(Mutation{absl::StrCat("truncate to ", len, " bytes"),
                std::vector<uint8_t>(valid.begin(), valid.begin() + len)});
  }
}

void ForEachAppend(const std::vector<uint8_t>& valid,
                   const std::function<void(const Mutation&)>& fn) {
  for (uint8_t b : {uint8_t{0x00}, uint8_t{0xFF}}) {
    Mutation m{absl::StrCat("append byte ", static_cast<int>(b)), valid};
    m.bytes.push_back(b);
    fn(m);
  }
  Mutation twice{"append a second copy", valid};
  twice.bytes.insert(twice.bytes.end(), valid.begin(), valid.end());
  fn(twice);
}

}  // namespace veil::testing
