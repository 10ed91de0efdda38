// OpenSSL ownership and error helpers for veil/attestation only (STYLE.md
// C2, C5): the X.509 types veil/crypto does not cover. Nothing outside
// veil/attestation includes this header.
#ifndef VEIL_ATTESTATION_INTERNAL_SSL_PTR_H_
#define VEIL_ATTESTATION_INTERNAL_SSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string_view>

#include "absl/status/status.h"

namespace veil::attestation::internal {

template <typename T, void (*kFree)(T*)>
struct SslFree {
  void operator()(T* p) const { kFree(p); }
};

// SslDeleter<T> frees an OpenSSL object of type T with the matching *_free.
template <typename T>
struct SslDeleter;
template <>
struct SslDeleter<BIO> : SslFree<BIO, BIO_free_all> {};
template <>
struct SslDeleter<X509> : SslFree<X509, X509_free> {};
template <>
struct SslDeleter<X509_STORE> : SslFree<X509_STORE, X509_STORE_free> {};
template <>
struct SslDeleter<X509_STORE_CTX> : SslFree<X509_STORE_CTX, X509_STORE_CTX_free> {};
template <>
struct SslDeleter<EVP_PKEY> : SslFree<EVP_PKEY, EVP_PKEY_free> {};
template <>
struct SslDeleter<EVP_PKEY_CTX> : SslFree<EVP_PKEY_CTX, EVP_PKEY_CTX_free> {};
template <>
struct SslDeleter<EVP_MD_CTX> : SslFree<EVP_MD_CTX, EVP_MD_CTX_free> {};
template <>
struct SslDeleter<ECDSA_SIG> : SslFree<ECDSA_SIG, ECDSA_SIG_free> {};
template <>
struct SslDeleter<BIGNUM> : SslFree<BIGNUM, BN_free> {};
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
// the entries drained from this thread's OpenSSL error queue (at most 8 are
// quoted), which is left empty.
absl::Status SslError(absl::StatusCode code, std::string_view what);

}  // namespace veil::attestation::internal

#endif  // VEIL_ATTESTATION_INTERNAL_SSL_PTR_H_
