// COSE_Sign1 (RFC 9052 section 4.2) restricted to what Nitro attestation
// documents use: ES384 (P-384 with SHA-384), an empty unprotected header and
// an attached payload. Spec: nitro-attestation-nsm-kms.md sections 1.1, 1.3
// steps 1-7 and 1.6.
#ifndef VEIL_ATTESTATION_COSE_SIGN1_H_
#define VEIL_ATTESTATION_COSE_SIGN1_H_

#include <openssl/types.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::attestation {

// kCoseSign1Tag is the CBOR tag of a tagged COSE_Sign1 message.
inline constexpr uint64_t kCoseSign1Tag = 18;
// kCoseAlgEs384 is the COSE algorithm identifier of ECDSA P-384 / SHA-384.
inline constexpr int64_t kCoseAlgEs384 = -35;
// kEs384SignatureSize is the size of an ES384 signature: r ‖ s, 48 bytes each.
inline constexpr size_t kEs384SignatureSize = 96;

// CoseSign1 is a parsed COSE_Sign1 message. The spans are views into the
// message passed to ParseCoseSign1, which must outlive this value; they are
// exactly the bytes received (signatures are checked over them, never over a
// re-encoding).
struct CoseSign1 {
  bool tagged = false;                         // preceded by tag 18
  absl::Span<const uint8_t> protected_header;  // contents of the protected bstr
  absl::Span<const uint8_t> payload;           // contents of the payload bstr
  absl::Span<const uint8_t> signature;         // r ‖ s, kEs384SignatureSize bytes
};

// ParseCoseSign1 parses `message`, tagged (tag 18) or untagged, as one
// COSE_Sign1 with nothing after it. The protected header must decode to a
// map whose alg (label 1) is -35 (ES384) and that has no crit (label 2); the
// unprotected header must be an empty map; the payload must be a byte string
// (not detached); the signature must be a byte string of 96 bytes. Any other
// shape is InvalidArgument with a message naming the rule. It does not check
// the signature.
absl::StatusOr<CoseSign1> ParseCoseSign1(absl::Span<const uint8_t> message);

// CoseSign1SigStructure returns the bytes ES384 signs (RFC 9052 section 4.4):
// ["Signature1", protected, h'' (no external AAD), payload] as a definite
// array with minimal heads, over `protected_header` and `payload` as given.
std::vector<uint8_t> CoseSign1SigStructure(absl::Span<const uint8_t> protected_header,
                                           absl::Span<const uint8_t> payload);

// VerifyCoseSign1 checks `message`'s ES384 signature with `public_key`,
// which must be an EC key on P-384 (otherwise InvalidArgument). A signature
// that does not verify is Unauthenticated ("cose_sign1: signature does not
// verify"). `public_key` is not modified; safe to call concurrently on the
// same key.
absl::Status VerifyCoseSign1(const CoseSign1& message, const EVP_PKEY* public_key);

// SignCoseSign1 signs `payload` (already-encoded CBOR, kept byte-exact) with
// `private_key`, an EC P-384 private key, and returns the untagged form real
// NSMs emit: 84 44 a1 01 38 22 a0 <payload bstr> 58 60 <r ‖ s>. A key of any
// other type is InvalidArgument.
absl::StatusOr<std::vector<uint8_t>> SignCoseSign1(absl::Span<const uint8_t> payload,
                                                   const EVP_PKEY* private_key);

}  // namespace veil::attestation

#endif  // VEIL_ATTESTATION_COSE_SIGN1_H_
