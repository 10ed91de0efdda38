#include "veil/crypto/hkdf.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/internal/ssl_util.h"

// HKDF is written out over HMAC (RFC 5869 section 2) rather than run through
// EVP_KDF "HKDF": OpenSSL 3.0's HKDF fetches HMAC and the digest by name on
// every derive and cannot be duplicated from a preset context, which made it
// about twice as slow as duplicating a preset HMAC context for the ESDK's
// extract-once, expand-twice pattern. The Wycheproof suites check the result.
namespace veil::crypto {
namespace {

using internal::SslError;
using internal::SslPtr;

// EVP_MAC_init treats a null key as "re-use the current key", so an empty
// key (an empty salt, RFC 5869 section 2.2) is passed as a valid pointer.
const uint8_t kEmptyKey[1] = {0};

absl::Status CheckHash(HashAlgorithm hash) {
  if (hash == HashAlgorithm::kSha1) {
    return absl::InvalidArgumentError("HKDF is supported only with SHA-256, SHA-384 and SHA-512");
  }
  if (internal::HmacTemplate(hash) == nullptr) {
    return absl::FailedPreconditionError("HMAC is not available from the OpenSSL provider");
  }
  return absl::OkStatus();
}

absl::StatusOr<SslPtr<EVP_MAC_CTX>> KeyedHmac(HashAlgorithm hash, absl::Span<const uint8_t> key) {
  SslPtr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_dup(internal::HmacTemplate(hash)));
  if (ctx == nullptr) return SslError(absl::StatusCode::kInternal, "EVP_MAC_CTX_dup failed");
  const uint8_t* key_ptr = key.empty() ? kEmptyKey : key.data();
  if (EVP_MAC_init(ctx.get(), key_ptr, key.size(), nullptr) != 1) {
    return SslError(absl::StatusCode::kInternal, "HMAC key setup failed");
  }
  return ctx;
}

bool MacUpdate(EVP_MAC_CTX* ctx, absl::Span<const uint8_t> data) {
  return data.empty() || EVP_MAC_update(ctx, data.data(), data.size()) == 1;
}

// ExpandInto fills `out` with T(1) | T(2) | ... (RFC 5869 section 2.3).
absl::Status ExpandInto(HashAlgorithm hash, absl::Span<const uint8_t> prk,
                        absl::Span<const uint8_t> info, absl::Span<uint8_t> out) {
  VEIL_ASSIGN_OR_RETURN(SslPtr<EVP_MAC_CTX> ctx, KeyedHmac(hash, prk));
  const size_t hash_len = HashSize(hash);
  uint8_t t[EVP_MAX_MD_SIZE];
  size_t t_len = 0;
  for (uint8_t counter = 1; !out.empty(); ++counter) {
    // Every block after the first restarts HMAC under the same key.
    if (counter > 1 && EVP_MAC_init(ctx.get(), nullptr, 0, nullptr) != 1) {
      return SslError(absl::StatusCode::kInternal, "HMAC re-initialisation failed");
    }
    if (!MacUpdate(ctx.get(), absl::MakeConstSpan(t, t_len)) || !MacUpdate(ctx.get(), info) ||
        EVP_MAC_update(ctx.get(), &counter, 1) != 1 ||
        EVP_MAC_final(ctx.get(), t, &t_len, sizeof(t)) != 1 || t_len != hash_len) {
      SecureWipe(t, sizeof(t));
      return SslError(absl::StatusCode::kInternal, "HKDF-Expand failed");
    }
    const size_t n = std::min(out.size(), hash_len);
    std::copy_n(t, n, out.begin());
    out.remove_prefix(n);
  }
  SecureWipe(t, sizeof(t));
  return absl::OkStatus();
}

absl::Status CheckOutputLength(HashAlgorithm hash, size_t out_len) {
  if (out_len > 255 * HashSize(hash)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HKDF output of ", out_len, " bytes exceeds 255 * HashLen = ", 255 * HashSize(hash)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SecretBytes> HkdfExtract(HashAlgorithm hash, absl::Span<const uint8_t> salt,
                                        absl::Span<const uint8_t> ikm) {
  VEIL_RETURN_IF_ERROR(CheckHash(hash));
  VEIL_ASSIGN_OR_RETURN(SslPtr<EVP_MAC_CTX> ctx, KeyedHmac(hash, salt));
  SecretBytes prk(HashSize(hash));
  size_t len = 0;
  if (!MacUpdate(ctx.get(), ikm) ||
      EVP_MAC_final(ctx.get(), prk.MutableExpose().data(), &len, prk.size()) != 1 ||
      len != prk.size()) {
    return SslError(absl::StatusCode::kInternal, "HKDF-Extract failed");
  }
  return prk;
}

absl::StatusOr<SecretBytes> HkdfExpand(HashAlgorithm hash, absl::Span<const uint8_t> prk,
                                       absl::Span<const uint8_t> info, size_t out_len) {
  VEIL_RETURN_IF_ERROR(CheckHash(hash));
  VEIL_RETURN_IF_ERROR(CheckOutputLength(hash, out_len));
  SecretBytes okm(out_len);
  VEIL_RETURN_IF_ERROR(ExpandInto(hash, prk, info, okm.MutableExpose()));
  return okm;
}

absl::StatusOr<SecretBytes> Hkdf(HashAlgorithm hash, absl::Span<const uint8_t> ikm,
                                 absl::Span<const uint8_t> salt, absl::Span<const uint8_t> info,
                                 size_t out_len) {
  VEIL_RETURN_IF_ERROR(CheckOutputLength(hash, out_len));
  VEIL_ASSIGN_OR_RETURN(SecretBytes prk, HkdfExtract(hash, salt, ikm));
  return HkdfExpand(hash, prk.Expose(), info, out_len);
}

}  // namespace veil::crypto
