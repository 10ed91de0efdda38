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
#include "veil/crypto/ssl_ptr.h"

namespace veil::crypto::internal {

using ::veil::crypto::SslDeleter;
using ::veil::crypto::SslError;
using ::veil::crypto::SslPtr;

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
