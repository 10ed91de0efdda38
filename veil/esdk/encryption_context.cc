#include "veil/esdk/encryption_context.h"

#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/byte_writer.h"

namespace veil::esdk {

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // continuation bytes run past the end
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

absl::StatusOr<std::vector<uint8_t>> SerializeEncryptionContext(const EncryptionContext& ec) {
  if (ec.empty()) return std::vector<uint8_t>();
  if (ec.size() > 0xFFFF) {
    return absl::InvalidArgumentError("encryption context has more than 65535 entries");
  }
  ByteWriter w;
  w.WriteU16(static_cast<uint16_t>(ec.size()));
  for (const auto& [key, value] : ec) {
    if (!w.WriteLengthPrefixed16(AsBytes(key)) || !w.WriteLengthPrefixed16(AsBytes(value))) {
      return absl::InvalidArgumentError("encryption context key or value exceeds 65535 bytes");
    }
  }
  if (w.size() > 0xFFFF) {
    return absl::InvalidArgumentError(
        absl::StrCat("serialized encryption context is ", w.size(), " bytes; the limit is 65535"));
  }
  return w.Release();
}

absl::StatusOr<EncryptionContext> ParseEncryptionContext(absl::Span<const uint8_t> bytes) {
  EncryptionContext ec;
  if (bytes.empty()) return ec;
  ByteReader r(bytes);
  uint16_t count;
  if (!r.ReadU16(&count)) return absl::InvalidArgumentError("encryption context is truncated");
  if (count == 0) return absl::InvalidArgumentError("encryption context has a zero entry count");
  for (uint16_t i = 0; i < count; ++i) {
    absl::Span<const uint8_t> key, value;
    if (!r.ReadLengthPrefixed16(&key) || !r.ReadLengthPrefixed16(&value)) {
      return absl::InvalidArgumentError("encryption context entry is truncated");
    }
    std::string k(AsStringView(key)), v(AsStringView(value));
    if (!ValidUtf8(k) || !ValidUtf8(v)) {
      return absl::InvalidArgumentError("encryption context is not valid UTF-8");
    }
    if (!ec.emplace(std::move(k), std::move(v)).second) {
      return absl::InvalidArgumentError("encryption context has a duplicate key");
    }
  }
  if (!r.empty()) return absl::InvalidArgumentError("encryption context has trailing bytes");
  return ec;
}

}  // namespace veil::esdk
