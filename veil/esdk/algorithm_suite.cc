#include "veil/esdk/algorithm_suite.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace veil::esdk {
namespace {

using crypto::EcCurve;
using crypto::HashAlgorithm;

constexpr AlgorithmSuite kSuites[] = {
    {kSuite0014, "AES_128_GCM_IV12_TAG16_NO_KDF", 1, 16, std::nullopt, false, std::nullopt},
    {kSuite0046, "AES_192_GCM_IV12_TAG16_NO_KDF", 1, 24, std::nullopt, false, std::nullopt},
    {kSuite0078, "AES_256_GCM_IV12_TAG16_NO_KDF", 1, 32, std::nullopt, false, std::nullopt},
    {kSuite0114, "AES_128_GCM_IV12_TAG16_HKDF_SHA256", 1, 16, HashAlgorithm::kSha256, false,
     std::nullopt},
    {kSuite0146, "AES_192_GCM_IV12_TAG16_HKDF_SHA256", 1, 24, HashAlgorithm::kSha256, false,
     std::nullopt},
    {kSuite0178, "AES_256_GCM_IV12_TAG16_HKDF_SHA256", 1, 32, HashAlgorithm::kSha256, false,
     std::nullopt},
    {kSuite0214, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256", 1, 16, HashAlgorithm::kSha256,
     false, EcCurve::kP256},
    {kSuite0346, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, 24, HashAlgorithm::kSha384,
     false, EcCurve::kP384},
    {kSuite0378, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, 32, HashAlgorithm::kSha384,
     false, EcCurve::kP384},
    {kSuite0478, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", 2, 32, HashAlgorithm::kSha512, true,
     std::nullopt},
    {kSuite0578, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", 2, 32, HashAlgorithm::kSha512,
     true, EcCurve::kP384},
};

}  // namespace

const AlgorithmSuite* FindSuite(uint16_t id) {
  for (const AlgorithmSuite& s : kSuites) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

absl::StatusOr<uint16_t> ParseSuiteId(const std::string& text) {
  for (const AlgorithmSuite& s : kSuites) {
    if (absl::EqualsIgnoreCase(text, s.name)) return s.id;
  }
  std::string hex = text;
  if (hex.size() > 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex = hex.substr(2);
  uint32_t value = 0;
  if (hex.size() == 4 && absl::SimpleHexAtoi(hex, &value) && FindSuite(value) != nullptr) {
    return static_cast<uint16_t>(value);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown algorithm suite '", text, "'"));
}

std::string SuiteIdString(uint16_t id) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "0x%04X", id);
  return buf;
}

}  // namespace veil::esdk
