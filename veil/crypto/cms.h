// CMS EnvelopedData for one RSA recipient: the `CiphertextForRecipient`
// format AWS KMS answers a `Recipient` request with (RFC 5652, BER):
// KeyTransRecipientInfo with RSAES-OAEP (SHA-256, MGF1 SHA-256) wrapping an
// AES-256-CBC content key.
//
// Spec: ../shared/specs/nitro-attestation-nsm-kms.md sections 4.3 and 4.4.
#ifndef VEIL_CRYPTO_CMS_H_
#define VEIL_CRYPTO_CMS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/rsa.h"

namespace veil::crypto {

// DecryptEnvelopedData returns the content of `cms` (BER or DER
// ContentInfo of type envelopedData) decrypted with `recipient_key`, in
// wiping memory. Every recipient must use RSAES-OAEP with SHA-256 and MGF1
// SHA-256 (anything else, including PKCS#1 v1.5, is InvalidArgument); the
// content is decrypted with the cipher it names (KMS uses AES-256-CBC).
// Malformed structures and trailing bytes
// are InvalidArgument; a wrong key or any tampering with the key or content
// is the one Unauthenticated error veil/crypto uses for authentication
// failures.
//
// WARNING: CBC is not authenticated: a party that knows the recipient's
// public key can make a valid EnvelopedData for it. Only decrypt what came
// over a channel that authenticates the key service (TLS to KMS), and
// authenticate the result before trusting it (the ESDK's key commitment
// and header tag do this for data keys).
absl::StatusOr<SecretBytes> DecryptEnvelopedData(absl::Span<const uint8_t> cms,
                                                 const RsaPrivateKey& recipient_key);

// EncryptForRecipient returns BER EnvelopedData of `plaintext` for the RSA
// key whose SubjectPublicKeyInfo DER is `recipient_spki_der`, shaped as AWS
// KMS shapes CiphertextForRecipient: indefinite lengths, a 32-byte
// subjectKeyIdentifier (SHA-256 of the SPKI) as the recipient id,
// RSAES-OAEP-SHA-256 with MGF1 SHA-256, AES-256-CBC with a random key and
// IV. Keys other than RSA of at least 2048 bits are InvalidArgument.
absl::StatusOr<std::vector<uint8_t>> EncryptForRecipient(
    const SecretBytes& plaintext, absl::Span<const uint8_t> recipient_spki_der);

// RecipientPublicKeyDer returns the SubjectPublicKeyInfo DER of
// `recipient_key`'s public half: what an attestation document's
// `public_key` carries so that KMS encrypts to this key.
absl::StatusOr<std::vector<uint8_t>> RecipientPublicKeyDer(const RsaPrivateKey& recipient_key);

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_CMS_H_
