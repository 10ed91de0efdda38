// Hex and Base64 (RFC 4648, standard alphabet, padded) for non-secret data.
#ifndef VEIL_COMMON_ENCODING_H_
#define VEIL_COMMON_ENCODING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil {

// HexEncode returns lower-case hex.
std::string HexEncode(absl::Span<const uint8_t> data);
// HexDecode accepts upper or lower case; odd length or a non-hex character
// is InvalidArgument.
absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view hex);

// Base64Encode returns padded standard Base64.
std::string Base64Encode(absl::Span<const uint8_t> data);
// Base64Decode accepts padded standard Base64 only (whitespace is not
// skipped); anything else is InvalidArgument.
absl::StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view b64);

}  // namespace veil

#endif  // VEIL_COMMON_ENCODING_H_
