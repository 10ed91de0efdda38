// OpenSSL ownership and error helpers for the two modules that may call
// OpenSSL directly, veil/crypto and veil/attestation (STYLE.md C5). Nothing
// else includes this header (scripts/check-boundaries enforces it).
#ifndef VEIL_CRYPTO_SSL_PTR_H_
#define VEIL_CRYPTO_SSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string_view>

#include "absl/status/status.h"

namespace veil::crypto {

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
template <>
struct SslDeleter<X509> : SslFree<X509, X509_free> {};
template <>
struct SslDeleter<X509_STORE> : SslFree<X509_STORE, X509_STORE_free> {};
template <>
struct SslDeleter<X509_STORE_CTX> : SslFree<X509_STORE_CTX, X509_STORE_CTX_free> {};
// A STACK_OF(X509) that does not own its certificates (an "untrusted" list
// borrowed from X509 objects owned elsewhere).
template <>
struct SslDeleter<STACK_OF(X509)> {
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }
};

// SslPtr owns an OpenSSL object and frees it with the right function.
template <typename T>
using SslPtr = std::unique_ptr<T, SslDeleter<T>>;

// SslError returns a Status with `code` whose message is `what` followed by
// every entry drained from this thread's OpenSSL error queue, which is left
// empty.
absl::Status SslError(absl::StatusCode code, std::string_view what);

}  // namespace veil::crypto

#endif  // VEIL_CRYPTO_SSL_PTR_H_
