#include "veil/common/secret_bytes.h"

#include <cstring>

namespace veil {

void SecureWipe(void* p, size_t len) {
  if (p == nullptr || len == 0) return;
  // A volatile function pointer keeps the compiler from proving the memset
  // dead (the same trick as OPENSSL_cleanse); common/ must not depend on
  // OpenSSL.
  static void* (*const volatile memset_v)(void*, int, size_t) = std::memset;
  memset_v(p, 0, len);
}

}  // namespace veil
