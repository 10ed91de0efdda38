// RsaKeyAccess lets other veil/crypto primitives use an RsaPrivateKey's
// OpenSSL key in place (STYLE.md C2: nothing outside veil/crypto includes
// this header).
#ifndef VEIL_CRYPTO_INTERNAL_RSA_KEY_ACCESS_H_
#define VEIL_CRYPTO_INTERNAL_RSA_KEY_ACCESS_H_

#include <openssl/evp.h>

#include "veil/crypto/rsa.h"

namespace veil::crypto::internal {

struct RsaKeyAccess {
  // Pkey returns the key, owned by `key` and valid while it lives.
  static EVP_PKEY* Pkey(const RsaPrivateKey& key);
};

}  // namespace veil::crypto::internal

#endif  // VEIL_CRYPTO_INTERNAL_RSA_KEY_ACCESS_H_
