#include "veil/crypto/hmac.h"

#include <openssl/evp.h>

#include "veil/common/status_macros.h"
#include "veil/crypto/internal/ssl_util.h"

namespace veil::crypto {
namespace {

using internal::SslError;
using internal::SslPtr;

// EVP_MAC_init treats a null key as "keep the current key", so an empty key
// is passed as a valid pointer with length zero.
const uint8_t kEmptyKey[1] = {0};

// HmacInto writes the tag into `out`, which must hold HashSize(hash) bytes.
absl::Status HmacInto(HashAlgorithm hash, absl::Span<const uint8_t> key,
                      absl::Span<const uint8_t> data, absl::Span<uint8_t> out) {
  if (hash == HashAlgorithm::kSha1) {
    return absl::InvalidArgumentError("HMAC is supported only with SHA-256, SHA-384 and SHA-512");
  }
  const EVP_MAC_CTX* tmpl = internal::HmacTemplate(hash);
  if (tmpl == nullptr) {
    return absl::FailedPreconditionError("HMAC is not available from the OpenSSL provider");
  }
  // Duplicating the preset template avoids fetching HMAC and the digest by
  // name on every call.
  SslPtr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_dup(tmpl));
  if (ctx == nullptr) return SslError(absl::StatusCode::kInternal, "EVP_MAC_CTX_dup failed");
  size_t len = 0;
  if (EVP_MAC_init(ctx.get(), key.empty() ? kEmptyKey : key.data(), key.size(), nullptr) != 1 ||
      (!data.empty() && EVP_MAC_update(ctx.get(), data.data(), data.size()) != 1) ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    return SslError(absl::StatusCode::kInternal, "HMAC failed");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> Hmac(HashAlgorithm hash, absl::Span<const uint8_t> key,
                                          absl::Span<const uint8_t> data) {
  std::vector<uint8_t> out(HashSize(hash));
  VEIL_RETURN_IF_ERROR(HmacInto(hash, key, data, absl::MakeSpan(out)));
  return out;
}

absl::StatusOr<SecretBytes> HmacSecret(HashAlgorithm hash, absl::Span<const uint8_t> key,
                                       absl::Span<const uint8_t> data) {
  SecretBytes out(HashSize(hash));
  VEIL_RETURN_IF_ERROR(HmacInto(hash, key, data, out.MutableExpose()));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> HmacSha256(absl::Span<const uint8_t> key,
                                                absl::Span<const uint8_t> data) {
  return Hmac(HashAlgorithm::kSha256, key, data);
}

}  // namespace veil::crypto
