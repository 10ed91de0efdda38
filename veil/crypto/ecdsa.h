// ECDSA over P-256/SHA-256 and P-384/SHA-384 with DER signatures, the ESDK's
// message signatures (and Wycheproof-tested on their own).
#ifndef VEIL_CRYPTO_ECDSA_H_
#define VEIL_CRYPTO_ECDSA_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::crypto {

enum class EcCurve { kP256, kP384 };

// EcdsaSigner signs a message fed in pieces, hashing with the curve's hash
// (SHA-256 for P-256, SHA-384 for P-384). Not thread-safe. Its private key
// lives only inside OpenSSL and is freed (and cleansed by OpenSSL) with it.
class EcdsaSigner {
 public:
  // Generate makes a fresh key pair.
  static absl::StatusOr<std::unique_ptr<EcdsaSigner>> Generate(EcCurve curve);
  // FromPrivateKeyDer loads a key written by PrivateKeyDer (DER PKCS#8); it
  // must be a key on `curve`.
  static absl::StatusOr<std::unique_ptr<EcdsaSigner>> FromPrivateKeyDer(
      EcCurve curve, absl::Span<const uint8_t> der);
  ~EcdsaSigner();

  // PrivateKeyDer returns the private key as DER PKCS#8 in wiping memory, so
  // one key can sign several messages (data-key caching shares it).
  absl::StatusOr<SecretBytes> PrivateKeyDer() const;

  // CompressedPublicKey returns the SEC1 compressed point (33 or 49 bytes).
  std::vector<uint8_t> CompressedPublicKey() const;
  // Update feeds message bytes.
  absl::Status Update(absl::Span<const uint8_t> data);
  // Finish returns the DER ECDSA-Sig-Value over everything fed. With
  // `fixed_length` it returns a signature of exactly the maximal length the
  // C and .NET SDKs produce (71 bytes for P-256, 103 for P-384), by replacing
  // s with n - s when that gives the right length and re-signing otherwise.
  // The signer must not be used afterwards.
  absl::StatusOr<std::vector<uint8_t>> Finish(bool fixed_length);

 private:
  struct State;
  explicit EcdsaSigner(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// EcdsaVerifier verifies a DER signature over a message fed in pieces. Not
// thread-safe.
class EcdsaVerifier {
 public:
  // FromPoint loads a SEC1 point (compressed or uncompressed);
  // a point not on the curve is InvalidArgument.
  static absl::StatusOr<std::unique_ptr<EcdsaVerifier>> FromPoint(EcCurve curve,
                                                                 absl::Span<const uint8_t> point);
  // FromSpkiDer loads a DER SubjectPublicKeyInfo; it must be a key on
  // `curve`.
  static absl::StatusOr<std::unique_ptr<EcdsaVerifier>> FromSpkiDer(EcCurve curve,
                                                                   absl::Span<const uint8_t> der);
  ~EcdsaVerifier();

  absl::Status Update(absl::Span<const uint8_t> data);
  // Finish returns OK if `der_signature` is a valid strict-DER signature over
  // everything fed, Unauthenticated otherwise. The verifier must not be used
  // afterwards.
  absl::Status Finish(absl::Span<const uint8_t> der_signature);

 private:
  struct State;
  explicit EcdsaVerifier(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_ECDSA_H_
