// The Nitro attestation document: the payload map of the COSE_Sign1 envelope.
// Spec: nitro-attestation-nsm-kms.md section 1.2 (and section 0, items 2-4).
#ifndef VEIL_ATTESTATION_ATTESTATION_DOCUMENT_H_
#define VEIL_ATTESTATION_ATTESTATION_DOCUMENT_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::attestation {

// Size rules of the payload (AWS validation text, brief 1.2).
inline constexpr size_t kMaxPcrs = 32;
inline constexpr size_t kMaxCertificateSize = 1024;
inline constexpr size_t kMaxPublicKeySize = 1024;
inline constexpr size_t kMaxUserDataSize = 512;
inline constexpr size_t kMaxNonceSize = 512;
// kMaxCabundle bounds the chain length. AWS sets no maximum; real bundles
// have 4 entries (root, regional, zonal, instance).
inline constexpr size_t kMaxCabundle = 16;

// AttestationDocument is a parsed, unverified payload. Every span is a view
// into the payload passed to ParseAttestationDocument, which must outlive
// this value. Nothing here is authenticated until AttestationVerifier says so.
struct AttestationDocument {
  std::string_view module_id;  // non-empty
  std::string_view digest;     // always "SHA384"
  uint64_t timestamp_ms = 0;   // > 0, UTC milliseconds since the epoch
  // pcrs maps index (0..31) to its value (32, 48 or 64 bytes); 1 to 32 entries.
  std::map<int, absl::Span<const uint8_t>> pcrs;
  absl::Span<const uint8_t> certificate;             // DER, 1..1024 bytes
  std::vector<absl::Span<const uint8_t>> cabundle;   // DER each; [root, ..., issuer of leaf]
  // CBOR null (what the NSM writes when the caller gave nothing) is absent.
  std::optional<absl::Span<const uint8_t>> public_key;  // 1..1024 bytes
  std::optional<absl::Span<const uint8_t>> user_data;   // 0..512 bytes
  std::optional<absl::Span<const uint8_t>> nonce;       // 0..512 bytes
};

// ParseAttestationDocument parses a COSE_Sign1 payload: a CBOR map (definite
// or indefinite length) with exactly the nine text keys module_id, digest,
// timestamp, pcrs, certificate, cabundle, public_key, user_data and nonce, in
// any order, with the types and sizes of brief 1.2. Unknown, missing or
// duplicate keys, a digest other than "SHA384", and any type or size
// violation are InvalidArgument with a message naming the field.
absl::StatusOr<AttestationDocument> ParseAttestationDocument(absl::Span<const uint8_t> payload);

}  // namespace veil::attestation

#endif  // VEIL_ATTESTATION_ATTESTATION_DOCUMENT_H_
