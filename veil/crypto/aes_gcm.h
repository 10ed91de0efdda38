// AES-GCM with 12-byte IVs and 16-byte tags, the only AEAD the ESDK uses.
#ifndef VEIL_CRYPTO_AES_GCM_H_
#define VEIL_CRYPTO_AES_GCM_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::crypto {

inline constexpr size_t kGcmIvSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// AesGcm seals and opens with one AES key (16, 24 or 32 bytes). The key
// schedule is computed once in New(), so sealing many frames under one key
// costs one context, not one per frame.
//
// An AesGcm object is not thread-safe: use one per thread.
class AesGcm {
 public:
  // New returns an AesGcm for `key`; a key of any other length than 16, 24 or
  // 32 bytes is InvalidArgument.
  static absl::StatusOr<std::unique_ptr<AesGcm>> New(absl::Span<const uint8_t> key);
  ~AesGcm();
  AesGcm(const AesGcm&) = delete;
  AesGcm& operator=(const AesGcm&) = delete;

  // Seal encrypts `plaintext` with `iv` (12 bytes) and `aad`, writing the
  // ciphertext (same length as the plaintext) to `out_ciphertext` and the tag
  // to `out_tag` (16 bytes). `out_ciphertext` may alias `plaintext` exactly.
  absl::Status Seal(absl::Span<const uint8_t> iv, absl::Span<const uint8_t> aad,
                    absl::Span<const uint8_t> plaintext, absl::Span<uint8_t> out_ciphertext,
                    absl::Span<uint8_t> out_tag);

  // Open authenticates and decrypts. On success the plaintext is in
  // `out_plaintext` (same length as `ciphertext`, may alias it exactly). On
  // failure it returns Unauthenticated or InvalidArgument and
  // `out_plaintext` is zero-filled: no unauthenticated byte is released.
  absl::Status Open(absl::Span<const uint8_t> iv, absl::Span<const uint8_t> aad,
                    absl::Span<const uint8_t> ciphertext, absl::Span<const uint8_t> tag,
                    absl::Span<uint8_t> out_plaintext);

  // Convenience forms: SealToVector returns ciphertext ‖ tag; OpenToSecret
  // takes ciphertext ‖ tag and returns the plaintext in wiping memory.
  absl::StatusOr<std::vector<uint8_t>> SealToVector(absl::Span<const uint8_t> iv,
                                                     absl::Span<const uint8_t> aad,
                                                     absl::Span<const uint8_t> plaintext);
  absl::StatusOr<SecretBytes> OpenToSecret(absl::Span<const uint8_t> iv,
                                           absl::Span<const uint8_t> aad,
                                           absl::Span<const uint8_t> ciphertext_and_tag);

 private:
  struct Contexts;
  explicit AesGcm(std::unique_ptr<Contexts> ctx);
  std::unique_ptr<Contexts> ctx_;
};

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_AES_GCM_H_
