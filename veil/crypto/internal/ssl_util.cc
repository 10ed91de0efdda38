#include "veil/crypto/internal/ssl_util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace veil::crypto::internal {
namespace {

constexpr HashAlgorithm kHashes[] = {HashAlgorithm::kSha1, HashAlgorithm::kSha256,
                                     HashAlgorithm::kSha384, HashAlgorithm::kSha512};

size_t HashIndex(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return 0;
    case HashAlgorithm::kSha256:
      return 1;
    case HashAlgorithm::kSha384:
      return 2;
    case HashAlgorithm::kSha512:
      return 3;
  }
  return 1;
}

const char* HashName(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return "SHA1";
    case HashAlgorithm::kSha256:
      return "SHA2-256";
    case HashAlgorithm::kSha384:
      return "SHA2-384";
    case HashAlgorithm::kSha512:
      return "SHA2-512";
  }
  return "";
}

// Algorithms holds everything fetched from the default library context. It
// is built once (a function-local static, so initialisation is thread-safe)
// and deliberately never destroyed, like absl::NoDestructor: another static's
// destructor or a thread still running at exit may use it, and OpenSSL
// releases its providers in its own exit handler. The objects stay reachable,
// so leak checkers do not report them.
struct Algorithms {
  SslPtr<EVP_CIPHER> aes_gcm[3];  // 128, 192, 256
  SslPtr<EVP_MD> md[4];           // indexed by HashIndex
  SslPtr<EVP_MAC> hmac;
  SslPtr<EVP_MAC_CTX> hmac_template[4];

  Algorithms() {
    const char* const gcm_names[] = {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"};
    for (int i = 0; i < 3; ++i) {
      aes_gcm[i].reset(EVP_CIPHER_fetch(nullptr, gcm_names[i], nullptr));
    }
    hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    for (HashAlgorithm h : kHashes) {
      const size_t i = HashIndex(h);
      md[i].reset(EVP_MD_fetch(nullptr, HashName(h), nullptr));
      if (hmac == nullptr || md[i] == nullptr) continue;
      SslPtr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(hmac.get()));
      if (ctx == nullptr) continue;
      const OSSL_PARAM params[] = {
          OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                           const_cast<char*>(EVP_MD_get0_name(md[i].get())), 0),
          OSSL_PARAM_construct_end()};
      if (EVP_MAC_CTX_set_params(ctx.get(), params) == 1) hmac_template[i] = std::move(ctx);
    }
    // A missing algorithm is reported by the caller that needs it; the
    // queue must not carry this thread's fetch failures into later calls.
    ERR_clear_error();
  }
};

const Algorithms& Algs() {
  static const Algorithms* const algs = new Algorithms();
  return *algs;
}

}  // namespace


absl::Status AuthenticationFailed() {
  ERR_clear_error();
  return absl::UnauthenticatedError("authentication failed");
}

const EVP_CIPHER* AesGcmCipher(size_t key_len) {
  switch (key_len) {
    case 16:
      return Algs().aes_gcm[0].get();
    case 24:
      return Algs().aes_gcm[1].get();
    case 32:
      return Algs().aes_gcm[2].get();
    default:
      return nullptr;
  }
}

const EVP_MD* Md(HashAlgorithm hash) { return Algs().md[HashIndex(hash)].get(); }

const EVP_MAC_CTX* HmacTemplate(HashAlgorithm hash) {
  return Algs().hmac_template[HashIndex(hash)].get();
}

}  // namespace veil::crypto::internal
