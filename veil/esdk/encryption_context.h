// Encryption context: a map of UTF-8 strings and its canonical serialization.
// Spec: data-format/message-header.md#aad, framework/structures.md#encryption-context
// (brief section 3).
#ifndef VEIL_ESDK_ENCRYPTION_CONTEXT_H_
#define VEIL_ESDK_ENCRYPTION_CONTEXT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::esdk {

// EncryptionContext is ordered by the raw bytes of its keys (std::string
// compares as unsigned char), which is exactly the ESDK's canonical order.
using EncryptionContext = std::map<std::string, std::string>;

// kReservedPrefix starts every key reserved for the SDK itself.
inline constexpr char kReservedPrefix[] = "aws-crypto-";
// kPublicKeyContextKey holds the Base64 SEC1 compressed verification key.
inline constexpr char kPublicKeyContextKey[] = "aws-crypto-public-key";

// SerializeEncryptionContext returns the canonical bytes: u16 count, then
// sorted (u16 len, key, u16 len, value) entries. An empty context serializes
// to zero bytes. InvalidArgument if any key or value, the count, or the
// whole serialization exceeds 65535.
absl::StatusOr<std::vector<uint8_t>> SerializeEncryptionContext(const EncryptionContext& ec);

// ParseEncryptionContext parses the serialization. Empty input is the empty
// context. Rejects (InvalidArgument) a zero count, duplicate keys, invalid
// UTF-8, and any length mismatch or trailing byte. Unsorted entries are
// accepted (writers must sort; the header bytes are authenticated as sent).
absl::StatusOr<EncryptionContext> ParseEncryptionContext(absl::Span<const uint8_t> bytes);

// ValidUtf8 returns whether `s` is well-formed UTF-8 (no overlongs,
// surrogates or code points above U+10FFFF).
bool ValidUtf8(std::string_view s);

}  // namespace veil::esdk

#endif  // VEIL_ESDK_ENCRYPTION_CONTEXT_H_
