// CiphertextBlob: what Encrypt and GenerateDataKey return and Decrypt takes.
// AWS's format is opaque; veil-kms's is
//
//   u8 format (1) || key id (16 bytes, the UUID) || u32 key version ||
//   iv (12) || AES-256-GCM ciphertext || tag (16)
//
// authenticated with AAD = the 21 header bytes || the canonical encryption
// context (CanonicalEncryptionContext). A blob thus names the key version
// that decrypts it (so rotation keeps old blobs readable), and decrypts only
// with the exact encryption context it was made with.
#ifndef VEIL_KMS_SERVER_CIPHERTEXT_BLOB_H_
#define VEIL_KMS_SERVER_CIPHERTEXT_BLOB_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::kms_server {

using EncryptionContext = std::map<std::string, std::string>;

inline constexpr uint8_t kBlobFormat = 1;
inline constexpr size_t kBlobHeaderSize = 1 + 16 + 4;
inline constexpr size_t kBlobOverhead = kBlobHeaderSize + 12 + 16;

// BlobHeader is the part of a blob that says which key decrypts it.
struct BlobHeader {
  std::string key_id;  // canonical lower-case UUID
  uint32_t key_version = 0;
};

// CanonicalEncryptionContext serializes a context unambiguously: u16 count,
// then for each entry in key order a u16-length-prefixed key and value.
// InvalidArgument if an entry is longer than 65535 bytes.
absl::StatusOr<std::vector<uint8_t>> CanonicalEncryptionContext(const EncryptionContext& ec);

// SealBlob encrypts `plaintext` under `material` (32 bytes).
absl::StatusOr<std::vector<uint8_t>> SealBlob(const BlobHeader& header,
                                              const SecretBytes& material,
                                              const EncryptionContext& ec,
                                              absl::Span<const uint8_t> plaintext);

// ParseBlobHeader reads the header; InvalidArgument for anything that is not
// a veil-kms blob (wrong format byte, too short).
absl::StatusOr<BlobHeader> ParseBlobHeader(absl::Span<const uint8_t> blob);

// OpenBlob decrypts a blob whose header named `material`'s key version;
// Unauthenticated when it does not authenticate (wrong context, tampering).
absl::StatusOr<SecretBytes> OpenBlob(absl::Span<const uint8_t> blob, const SecretBytes& material,
                                     const EncryptionContext& ec);

// UuidToBytes and UuidFromBytes convert between the 36-character form and
// 16 bytes; UuidToBytes is InvalidArgument for anything but a lower-case or
// upper-case canonical UUID.
absl::StatusOr<std::vector<uint8_t>> UuidToBytes(const std::string& uuid);
std::string UuidFromBytes(absl::Span<const uint8_t> bytes);
// NewUuid returns a random (version 4) UUID in lower case.
absl::StatusOr<std::string> NewUuid();
// IsUuid says whether `s` is a canonical UUID.
bool IsUuid(std::string_view s);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_CIPHERTEXT_BLOB_H_
