// The eleven ESDK algorithm suites.
// Spec: data-format/message-header.md#algorithm-suite-id, framework/algorithm-suites.md
// (brief: specs/esdk-message-format.md section 1).
#ifndef VEIL_ESDK_ALGORITHM_SUITE_H_
#define VEIL_ESDK_ALGORITHM_SUITE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "veil/crypto/ecdsa.h"
#include "veil/crypto/hash.h"

namespace veil::esdk {

// AlgorithmSuite describes one suite. Instances are immutable constants.
struct AlgorithmSuite {
  uint16_t id;
  const char* name;
  uint8_t message_format_version;  // 1 or 2
  size_t key_length;               // AES key = KDF input = plaintext data key length
  // kdf_hash is empty for the identity-KDF suites (00xx).
  std::optional<crypto::HashAlgorithm> kdf_hash;
  bool committing;                 // 0478, 0578: commit key in the header
  // signature_curve is set for signed suites (0214, 0346, 0378, 0578).
  std::optional<crypto::EcCurve> signature_curve;

  size_t message_id_length() const { return message_format_version == 1 ? 16 : 32; }
  bool signed_suite() const { return signature_curve.has_value(); }
};

inline constexpr uint16_t kSuite0014 = 0x0014;  // AES128_GCM_IV12_TAG16_NO_KDF
inline constexpr uint16_t kSuite0046 = 0x0046;
inline constexpr uint16_t kSuite0078 = 0x0078;
inline constexpr uint16_t kSuite0114 = 0x0114;  // AES128_GCM_IV12_TAG16_HKDF_SHA256
inline constexpr uint16_t kSuite0146 = 0x0146;
inline constexpr uint16_t kSuite0178 = 0x0178;
inline constexpr uint16_t kSuite0214 = 0x0214;  // ..._HKDF_SHA256_ECDSA_P256
inline constexpr uint16_t kSuite0346 = 0x0346;  // ..._HKDF_SHA384_ECDSA_P384
inline constexpr uint16_t kSuite0378 = 0x0378;
inline constexpr uint16_t kSuite0478 = 0x0478;  // AES256_GCM_HKDF_SHA512_COMMIT_KEY
inline constexpr uint16_t kSuite0578 = 0x0578;  // ..._COMMIT_KEY_ECDSA_P384

// FindSuite returns the suite with `id`, or nullptr if it is not an ESDK suite
// (including the S3EC and DBE suites, which are not valid in ESDK messages).
const AlgorithmSuite* FindSuite(uint16_t id);

// ParseSuiteId reads "0x0578", "0578" or a suite name; InvalidArgument
// otherwise.
absl::StatusOr<uint16_t> ParseSuiteId(const std::string& text);

// SuiteIdString formats an id as "0x0578".
std::string SuiteIdString(uint16_t id);

}  // namespace veil::esdk

#endif  // VEIL_ESDK_ALGORITHM_SUITE_H_
