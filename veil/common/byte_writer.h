// ByteWriter: the output mirror of ByteReader (big-endian, append-only).
#ifndef VEIL_COMMON_BYTE_WRITER_H_
#define VEIL_COMMON_BYTE_WRITER_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace veil {

// ByteWriter appends big-endian integers and byte strings to a vector it
// owns. Length-prefixed writes check that the length fits the prefix and
// return false otherwise (nothing is written).
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(size_t reserve) { out_.reserve(reserve); }

  void WriteU8(uint8_t v) { out_.push_back(v); }
  void WriteU16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v >> 8));
    out_.push_back(static_cast<uint8_t>(v));
  }
  void WriteU32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<uint8_t>(v >> shift));
  }
  void WriteU64(uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<uint8_t>(v >> shift));
  }
  void WriteBytes(absl::Span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void WriteString(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  [[nodiscard]] bool WriteLengthPrefixed16(absl::Span<const uint8_t> b) {
    if (b.size() > 0xFFFF) return false;
    WriteU16(static_cast<uint16_t>(b.size()));
    WriteBytes(b);
    return true;
  }

  size_t size() const { return out_.size(); }
  const std::vector<uint8_t>& bytes() const { return out_; }
  std::vector<uint8_t> Release() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

}  // namespace veil

#endif  // VEIL_COMMON_BYTE_WRITER_H_
