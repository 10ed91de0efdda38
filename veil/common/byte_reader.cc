#include "veil/common/byte_reader.h"

namespace veil {

bool ByteReader::ReadBytes(size_t n, absl::Span<const uint8_t>* out) {
  if (n > data_.size()) return false;
  *out = data_.subspan(0, n);
  data_.remove_prefix(n);
  consumed_ += n;
  return true;
}

bool ByteReader::Skip(size_t n) {
  absl::Span<const uint8_t> ignored;
  return ReadBytes(n, &ignored);
}

bool ByteReader::ReadU8(uint8_t* out) {
  absl::Span<const uint8_t> b;
  if (!ReadBytes(1, &b)) return false;
  *out = b[0];
  return true;
}

bool ByteReader::ReadU16(uint16_t* out) {
  absl::Span<const uint8_t> b;
  if (!ReadBytes(2, &b)) return false;
  *out = static_cast<uint16_t>((b[0] << 8) | b[1]);
  return true;
}

bool ByteReader::ReadU32(uint32_t* out) {
  absl::Span<const uint8_t> b;
  if (!ReadBytes(4, &b)) return false;
  *out = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  return true;
}

bool ByteReader::ReadU64(uint64_t* out) {
  absl::Span<const uint8_t> b;
  if (!ReadBytes(8, &b)) return false;
  uint64_t v = 0;
  for (uint8_t byte : b) v = (v << 8) | byte;
  *out = v;
  return true;
}

bool ByteReader::ReadLengthPrefixed16(absl::Span<const uint8_t>* out) {
  ByteReader copy = *this;
  uint16_t len;
  if (!copy.ReadU16(&len) || !copy.ReadBytes(len, out)) return false;
  *this = copy;
  return true;
}

}  // namespace veil
