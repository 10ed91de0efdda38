#include "veil/esdk/internal/body.h"

#include <cstring>

#include "veil/common/status_macros.h"

namespace veil::esdk::internal {

std::array<uint8_t, crypto::kGcmIvSize> FrameIv(uint32_t sequence_number) {
  std::array<uint8_t, crypto::kGcmIvSize> iv{};
  for (int i = 0; i < 4; ++i) iv[8 + i] = static_cast<uint8_t>(sequence_number >> (24 - 8 * i));
  return iv;
}

absl::Span<const uint8_t> BodyAad(absl::Span<const uint8_t> message_id, std::string_view content,
                                  uint32_t sequence_number, uint64_t length,
                                  absl::Span<uint8_t> buf) {
  const size_t n = message_id.size() + content.size() + 12;
  VEIL_CHECK(buf.size() >= n);
  uint8_t* p = buf.data();
  std::memcpy(p, message_id.data(), message_id.size());
  p += message_id.size();
  std::memcpy(p, content.data(), content.size());
  p += content.size();
  for (int i = 3; i >= 0; --i) *p++ = static_cast<uint8_t>(sequence_number >> (8 * i));
  for (int i = 7; i >= 0; --i) *p++ = static_cast<uint8_t>(length >> (8 * i));
  return buf.first(n);
}

}  // namespace veil::esdk::internal
