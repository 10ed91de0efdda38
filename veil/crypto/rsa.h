// RSA encryption (PKCS#1 v1.5 and OAEP with MGF1 over the same hash), the
// Raw RSA keyring's wrapping primitive.
#ifndef VEIL_CRYPTO_RSA_H_
#define VEIL_CRYPTO_RSA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/hash.h"

namespace veil::crypto {

enum class RsaPadding { kPkcs1, kOaepSha1, kOaepSha256, kOaepSha384, kOaepSha512 };

namespace internal {
struct RsaKeyAccess;  // veil/crypto/internal/rsa_key_access.h
}  // namespace internal

// RsaPublicKey encrypts. Thread-safe (immutable after construction).
class RsaPublicKey {
 public:
  // FromPem reads a PEM SubjectPublicKeyInfo ("BEGIN PUBLIC KEY").
  static absl::StatusOr<std::unique_ptr<RsaPublicKey>> FromPem(std::string_view pem);
  ~RsaPublicKey();
  // Encrypt encrypts `plaintext` with `padding`; `label` is the OAEP label
  // (the ESDK uses none; must be empty for PKCS#1).
  absl::StatusOr<std::vector<uint8_t>> Encrypt(RsaPadding padding,
                                               absl::Span<const uint8_t> plaintext,
                                               absl::Span<const uint8_t> label = {}) const;
  // ModulusBits returns the key size in bits.
  int ModulusBits() const;

 private:
  struct State;
  explicit RsaPublicKey(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// RsaPrivateKey decrypts. Thread-safe (immutable after construction).
class RsaPrivateKey {
 public:
  // FromPem reads a PEM PKCS#8 ("BEGIN PRIVATE KEY") or PKCS#1 ("BEGIN RSA
  // PRIVATE KEY") private key.
  static absl::StatusOr<std::unique_ptr<RsaPrivateKey>> FromPem(std::string_view pem);
  // FromPkcs8Der reads a DER PKCS#8 private key.
  static absl::StatusOr<std::unique_ptr<RsaPrivateKey>> FromPkcs8Der(absl::Span<const uint8_t> der);
  // Generate makes a fresh key (tests and ephemeral enclave keys).
  static absl::StatusOr<std::unique_ptr<RsaPrivateKey>> Generate(int bits);
  ~RsaPrivateKey();

  // Decrypt returns the plaintext in wiping memory, or Unauthenticated on any
  // padding failure. `label` is the OAEP label (must be empty for PKCS#1).
  //
  // WARNING: with PKCS#1 v1.5, OpenSSL >= 3.2 uses implicit rejection and a
  // wrong key may "succeed" with random bytes; callers must check the length
  // and treat later authentication failures as fatal.
  absl::StatusOr<SecretBytes> Decrypt(RsaPadding padding, absl::Span<const uint8_t> ciphertext,
                                      absl::Span<const uint8_t> label = {}) const;
  // PublicKeyPem returns the SPKI PEM of the public half.
  absl::StatusOr<std::string> PublicKeyPem() const;
  // PrivateKeyPem returns the PKCS#8 PEM, in wiping memory.
  absl::StatusOr<SecretBytes> PrivateKeyPem() const;

 private:
  // Other veil/crypto primitives (CMS) use the key without exporting it.
  friend struct internal::RsaKeyAccess;
  struct State;
  explicit RsaPrivateKey(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_RSA_H_
