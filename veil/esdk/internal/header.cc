#include "veil/esdk/internal/header.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/byte_writer.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"

namespace veil::esdk::internal {
namespace {

absl::Status Truncated() { return absl::OutOfRangeError("message header is truncated"); }

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed message header: ", std::string(what)));
}

}  // namespace

absl::StatusOr<MessageHeader> ParseHeader(absl::Span<const uint8_t> data,
                                          std::optional<size_t> max_encrypted_data_keys) {
  ByteReader r(data);
  MessageHeader h;

  if (!r.ReadU8(&h.version)) return Truncated();
  if (h.version != 1 && h.version != 2) {
    // Base64 text of a v1 message starts "AY", of a v2 message "Ag".
    if (data.size() >= 2 && data[0] == 'A' && (data[1] == 'Y' || data[1] == 'g')) {
      return Malformed("the input looks Base64-encoded; decode it first");
    }
    return Malformed(absl::StrCat("unknown message format version ", h.version));
  }
  if (h.version == 1) {
    uint8_t type;
    if (!r.ReadU8(&type)) return Truncated();
    if (type != kMessageTypeCustomerAead) return Malformed("unknown message type");
  }
  uint16_t suite_id;
  if (!r.ReadU16(&suite_id)) return Truncated();
  h.suite = FindSuite(suite_id);
  if (h.suite == nullptr) {
    return Malformed(absl::StrCat("unknown algorithm suite ", SuiteIdString(suite_id)));
  }
  if (h.suite->message_format_version != h.version) {
    return Malformed("algorithm suite does not match the message format version");
  }

  absl::Span<const uint8_t> field;
  if (!r.ReadBytes(h.suite->message_id_length(), &field)) return Truncated();
  h.message_id.assign(field.begin(), field.end());

  // Spec: data-format/message-header.md#aad
  if (!r.ReadLengthPrefixed16(&field)) return Truncated();
  auto ec = ParseEncryptionContext(field);
  if (!ec.ok()) return Malformed(std::string(ec.status().message()));
  h.stored_encryption_context = std::move(*ec);

  // Spec: data-format/message-header.md#encrypted-data-key-count
  uint16_t edk_count;
  if (!r.ReadU16(&edk_count)) return Truncated();
  if (edk_count == 0) return Malformed("no encrypted data keys");
  if (max_encrypted_data_keys && edk_count > *max_encrypted_data_keys) {
    return absl::InvalidArgumentError(absl::StrCat("message has ", edk_count,
                                                   " encrypted data keys; the limit is ",
                                                   *max_encrypted_data_keys));
  }
  // Each EDK takes at least six bytes: never reserve more than the input
  // could hold (the count is untrusted).
  h.encrypted_data_keys.reserve(std::min<size_t>(edk_count, r.remaining() / 6));
  for (uint16_t i = 0; i < edk_count; ++i) {
    absl::Span<const uint8_t> id, info, ct;
    if (!r.ReadLengthPrefixed16(&id) || !r.ReadLengthPrefixed16(&info) ||
        !r.ReadLengthPrefixed16(&ct)) {
      return Truncated();
    }
    std::string provider_id(AsStringView(id));
    if (!ValidUtf8(provider_id)) return Malformed("provider ID is not UTF-8");
    h.encrypted_data_keys.push_back({std::move(provider_id),
                                     std::vector<uint8_t>(info.begin(), info.end()),
                                     std::vector<uint8_t>(ct.begin(), ct.end())});
  }

  if (!r.ReadU8(&h.content_type)) return Truncated();
  if (h.content_type != kContentTypeFramed && h.content_type != kContentTypeNonFramed) {
    return Malformed(absl::StrCat("unknown content type ", h.content_type));
  }
  if (h.version == 1) {
    uint32_t reserved;
    uint8_t iv_length;
    if (!r.ReadU32(&reserved) || !r.ReadU8(&iv_length)) return Truncated();
    if (reserved != 0) return Malformed("reserved bytes are not zero");
    if (iv_length != crypto::kGcmIvSize) return Malformed("IV length is not 12");
  }
  if (!r.ReadU32(&h.frame_length)) return Truncated();
  if (h.content_type == kContentTypeFramed && h.frame_length == 0) {
    return Malformed("framed content with frame length 0");
  }
  if (h.content_type == kContentTypeNonFramed && h.frame_length != 0) {
    return Malformed("non-framed content with a non-zero frame length");
  }
  if (h.version == 2) {
    if (!r.ReadBytes(kCommitKeyLength, &field)) return Truncated();
    h.commit_key.assign(field.begin(), field.end());
  }
  h.body.assign(data.begin(), data.begin() + r.offset());

  // Spec: data-format/message-header.md#header-authentication-version-1-0
  if (h.version == 1) {
    if (!r.ReadBytes(crypto::kGcmIvSize, &field)) return Truncated();
    h.header_iv.assign(field.begin(), field.end());
  } else {
    h.header_iv.assign(crypto::kGcmIvSize, 0);
  }
  if (!r.ReadBytes(crypto::kGcmTagSize, &field)) return Truncated();
  h.header_tag.assign(field.begin(), field.end());
  h.total_length = r.offset();
  return h;
}

absl::StatusOr<std::vector<uint8_t>> SerializeHeaderBody(
    const AlgorithmSuite& suite, absl::Span<const uint8_t> message_id,
    absl::Span<const uint8_t> stored_ec, absl::Span<const EncryptedDataKey> edks,
    uint32_t frame_length, absl::Span<const uint8_t> commit_key) {
  if (message_id.size() != suite.message_id_length()) {
    return absl::InternalError("message ID length does not match the suite");
  }
  if (edks.empty() || edks.size() > 0xFFFF) {
    return absl::InvalidArgumentError("a message needs 1 to 65535 encrypted data keys");
  }
  ByteWriter w(256);
  w.WriteU8(suite.message_format_version);
  if (suite.message_format_version == 1) w.WriteU8(kMessageTypeCustomerAead);
  w.WriteU16(suite.id);
  w.WriteBytes(message_id);
  if (!w.WriteLengthPrefixed16(stored_ec)) {
    return absl::InvalidArgumentError("encryption context is too large for the header");
  }
  w.WriteU16(static_cast<uint16_t>(edks.size()));
  for (const EncryptedDataKey& edk : edks) {
    if (!w.WriteLengthPrefixed16(AsBytes(edk.provider_id)) ||
        !w.WriteLengthPrefixed16(edk.provider_info) || !w.WriteLengthPrefixed16(edk.ciphertext)) {
      return absl::InvalidArgumentError("encrypted data key field exceeds 65535 bytes");
    }
  }
  w.WriteU8(kContentTypeFramed);
  if (suite.message_format_version == 1) {
    w.WriteU32(0);  // reserved
    w.WriteU8(crypto::kGcmIvSize);
  }
  w.WriteU32(frame_length);
  if (suite.message_format_version == 2) {
    if (commit_key.size() != kCommitKeyLength) return absl::InternalError("bad commit key");
    w.WriteBytes(commit_key);
  }
  return w.Release();
}

}  // namespace veil::esdk::internal
