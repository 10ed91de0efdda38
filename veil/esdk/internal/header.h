// The ESDK message header: parsing untrusted bytes and serializing our own.
// Spec: data-format/message-header.md (brief sections 2.1-2.3).
#ifndef VEIL_ESDK_INTERNAL_HEADER_H_
#define VEIL_ESDK_INTERNAL_HEADER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/esdk/algorithm_suite.h"
#include "veil/esdk/encryption_context.h"
#include "veil/esdk/materials.h"

namespace veil::esdk::internal {

inline constexpr uint8_t kContentTypeNonFramed = 0x01;
inline constexpr uint8_t kContentTypeFramed = 0x02;
inline constexpr uint8_t kMessageTypeCustomerAead = 0x80;
inline constexpr size_t kCommitKeyLength = 32;

// MessageHeader is a parsed header. `body` holds the exact header-body bytes
// as received (version through frame length / suite data), which are what the
// header tag and the signature cover; nothing is re-serialized for checking.
struct MessageHeader {
  uint8_t version = 0;
  const AlgorithmSuite* suite = nullptr;
  std::vector<uint8_t> message_id;
  EncryptionContext stored_encryption_context;
  std::vector<EncryptedDataKey> encrypted_data_keys;
  uint8_t content_type = 0;
  uint32_t frame_length = 0;
  std::vector<uint8_t> commit_key;  // v2 suite data
  std::vector<uint8_t> header_iv;   // 12 bytes: as stored (v1) or zeros (v2)
  std::vector<uint8_t> header_tag;  // 16 bytes
  std::vector<uint8_t> body;        // header body bytes
  size_t total_length = 0;          // body + authentication bytes
};

// ParseHeader parses the header at the start of `data`.
// - OutOfRange: `data` ends before the header does (feed more bytes).
// - InvalidArgument: the header is malformed, names an unknown version,
//   type, suite or content type, has non-zero reserved bytes, a wrong IV
//   length, no EDKs, or more EDKs than `max_encrypted_data_keys` (checked as
//   soon as the count is read, before any EDK is parsed).
absl::StatusOr<MessageHeader> ParseHeader(absl::Span<const uint8_t> data,
                                          std::optional<size_t> max_encrypted_data_keys);

// SerializeHeaderBody writes the header body for `suite` (v1 or v2 by suite).
// `stored_ec` is the already-serialized stored encryption context.
absl::StatusOr<std::vector<uint8_t>> SerializeHeaderBody(
    const AlgorithmSuite& suite, absl::Span<const uint8_t> message_id,
    absl::Span<const uint8_t> stored_ec, absl::Span<const EncryptedDataKey> edks,
    uint32_t frame_length, absl::Span<const uint8_t> commit_key);

}  // namespace veil::esdk::internal

#endif  // VEIL_ESDK_INTERNAL_HEADER_H_
