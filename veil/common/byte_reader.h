// ByteReader: a bounds-checked cursor over untrusted bytes (STYLE.md C7),
// in the manner of BoringSSL's CBS. Every read either succeeds completely and
// advances, or fails and leaves the cursor where it was.
#ifndef VEIL_COMMON_BYTE_READER_H_
#define VEIL_COMMON_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/types/span.h"

namespace veil {

// ByteReader does not own the bytes; they must outlive it. All integers are
// read big-endian. Read* methods return false (and consume nothing) when
// fewer bytes remain than requested.
class ByteReader {
 public:
  explicit ByteReader(absl::Span<const uint8_t> data) : data_(data) {}

  size_t remaining() const { return data_.size(); }
  bool empty() const { return data_.empty(); }
  // offset returns how many bytes have been consumed so far.
  size_t offset() const { return consumed_; }
  // rest returns the unread bytes without consuming them.
  absl::Span<const uint8_t> rest() const { return data_; }

  bool ReadU8(uint8_t* out);
  bool ReadU16(uint16_t* out);
  bool ReadU32(uint32_t* out);
  bool ReadU64(uint64_t* out);
  // ReadBytes points `out` at the next `n` bytes and consumes them.
  bool ReadBytes(size_t n, absl::Span<const uint8_t>* out);
  // ReadLengthPrefixed16 reads a u16 length and then that many bytes.
  bool ReadLengthPrefixed16(absl::Span<const uint8_t>* out);
  // Skip consumes `n` bytes.
  bool Skip(size_t n);

 private:
  absl::Span<const uint8_t> data_;
  size_t consumed_ = 0;
};

// AsStringView views bytes as characters (no copy, no validation).
inline std::string_view AsStringView(absl::Span<const uint8_t> b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
// AsBytes views characters as bytes (no copy).
inline absl::Span<const uint8_t> AsBytes(std::string_view s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

}  // namespace veil

#endif  // VEIL_COMMON_BYTE_READER_H_
