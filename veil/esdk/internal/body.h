// Body framing helpers shared by the encryptor and decryptor.
// Spec: data-format/message-body.md, data-format/message-body-aad.md (brief
// sections 2.4, 2.5, 6).
#ifndef VEIL_ESDK_INTERNAL_BODY_H_
#define VEIL_ESDK_INTERNAL_BODY_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/types/span.h"
#include "veil/crypto/aes_gcm.h"

namespace veil::esdk::internal {

inline constexpr uint32_t kFinalFrameMarker = 0xFFFFFFFF;
inline constexpr std::string_view kFrameString = "AWSKMSEncryptionClient Frame";
inline constexpr std::string_view kFinalFrameString = "AWSKMSEncryptionClient Final Frame";
inline constexpr std::string_view kSingleBlockString = "AWSKMSEncryptionClient Single Block";
// Spec: data-format/message-body.md#encrypted-content-length (non-framed).
inline constexpr uint64_t kMaxNonFramedLength = (uint64_t{1} << 36) - 32;

// FrameIv returns 8 zero bytes ‖ u32 sequence number.
std::array<uint8_t, crypto::kGcmIvSize> FrameIv(uint32_t sequence_number);

// BodyAad builds message ID ‖ content string ‖ u32 sequence ‖ u64 length
// into `buf` (at least 32 + 35 + 12 bytes) and returns the used prefix. The
// message ID is the full 16 or 32 bytes.
absl::Span<const uint8_t> BodyAad(absl::Span<const uint8_t> message_id, std::string_view content,
                                  uint32_t sequence_number, uint64_t length,
                                  absl::Span<uint8_t> buf);
inline constexpr size_t kBodyAadMax = 32 + 35 + 4 + 8;

}  // namespace veil::esdk::internal

#endif  // VEIL_ESDK_INTERNAL_BODY_H_
