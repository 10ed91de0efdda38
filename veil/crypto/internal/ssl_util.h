// OpenSSL ownership, error and algorithm helpers for veil/crypto only
// (STYLE.md C2, C5). Nothing outside veil/crypto includes this header.
#ifndef VEIL_CRYPTO_INTERNAL_SSL_UTIL_H_
#define VEIL_CRYPTO_INTERNAL_SSL_UTIL_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "veil/crypto/hash.h"

namespace veil::crypto::internal {

template <typename T, void (*kFree)(T*)>
struct SslFree {
  void operator()(T* p) const { kFree(p); }
};

// SslDeleter<T> frees an OpenSSL object of type T with the matching *_free.
template <typename T>
struct SslDeleter;
template <>
struct SslDeleter<EVP_CIPHER_CTX> : SslFree<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> {};
template <>
struct SslDeleter<EVP_CIPHER> : SslFree<EVP_CIPHER, EVP_CIPHER_free> {};
template <>
struct SslDeleter<EVP_MD> : SslFree<EVP_MD, EVP_MD_free> {};
template <>
struct SslDeleter<EVP_MD_CTX> : SslFree<EVP_MD_CTX, EVP_MD_CTX_free> {};
template <>
struct SslDeleter<EVP_MAC> : SslFree<EVP_MAC, EVP_MAC_free> {};
template <>
struct SslDeleter<EVP_MAC_CTX> : SslFree<EVP_MAC_CTX, EVP_MAC_CTX_free> {};
template <>
struct SslDeleter<EVP_KDF> : SslFree<EVP_KDF, EVP_KDF_free> {};
template <>
struct SslDeleter<EVP_KDF_CTX> : SslFree<EVP_KDF_CTX, EVP_KDF_CTX_free> {};
template <>
struct SslDeleter<EVP_PKEY> : SslFree<EVP_PKEY, EVP_PKEY_free> {};
template <>
struct SslDeleter<EVP_PKEY_CTX> : SslFree<EVP_PKEY_CTX, EVP_PKEY_CTX_free> {};
template <>
struct SslDeleter<BIO> : SslFree<BIO, BIO_free_all> {};
template <>
struct SslDeleter<EC_GROUP> : SslFree<EC_GROUP, EC_GROUP_free> {};
template <>
struct SslDeleter<ECDSA_SIG> : SslFree<ECDSA_SIG, ECDSA_SIG_free> {};
// BIGNUMs are cleared on free: some of them are private scalars.
template <>
struct SslDeleter<BIGNUM> : SslFree<BIGNUM, BN_clear_free> {};
template <>
struct SslDeleter<PKCS8_PRIV_KEY_INFO> : SslFree<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free> {};

// SslPtr owns an OpenSSL object and frees it with the right function.
template <typename T>
using SslPtr = std::unique_ptr<T, SslDeleter<T>>;

// SslError returns a Status with `code` whose message is `what` followed by
// every entry drained from this thread's OpenSSL error queue, which is left
// empty.
absl::Status SslError(absl::StatusCode code, std::string_view what);

// AuthenticationFailed clears this thread's OpenSSL error queue and returns
// the one Unauthenticated status every tag, signature and padding failure in
// veil/crypto shares (STYLE.md C4: no detail about which check failed).
absl::Status AuthenticationFailed();

// The accessors below return algorithms fetched once, on first use, from the
// default library context, so that no hot path fetches. They return nullptr
// only when the provider lacks the algorithm (e.g. a FIPS-only
// configuration); the returned objects live until exit and are thread-safe to
// share.

// AesGcmCipher returns AES-{128,192,256}-GCM for a key of `key_len` bytes, or
// nullptr for any other length.
const EVP_CIPHER* AesGcmCipher(size_t key_len);
// Md returns the message digest for `hash`.
const EVP_MD* Md(HashAlgorithm hash);
// HmacTemplate returns an HMAC context with the digest for `hash` already
// set and no key. Callers must not use it directly: they EVP_MAC_CTX_dup it,
// which copies the digest without fetching it again.
const EVP_MAC_CTX* HmacTemplate(HashAlgorithm hash);

}  // namespace veil::crypto::internal

#endif  // VEIL_CRYPTO_INTERNAL_SSL_UTIL_H_
