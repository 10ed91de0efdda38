#include "veil/crypto/hash.h"

#include <openssl/evp.h>

#include "veil/common/status_macros.h"
#include "veil/crypto/internal/ssl_util.h"

namespace veil::crypto {

using internal::SslPtr;

size_t HashSize(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return 20;
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 0;
}

// The digests here cannot fail on valid input once the algorithm has been
// fetched, and the header promises no Status, so an OpenSSL failure (an
// allocation failure or a provider without SHA-2) stops the process instead
// of returning a wrong digest.
std::vector<uint8_t> Digest(HashAlgorithm hash, absl::Span<const uint8_t> data) {
  const EVP_MD* md = internal::Md(hash);
  VEIL_CHECK(md != nullptr);
  std::vector<uint8_t> out(HashSize(hash));
  unsigned int len = 0;
  VEIL_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1);
  VEIL_CHECK(len == out.size());
  return out;
}

struct IncrementalHash::State {
  HashAlgorithm hash;
  SslPtr<EVP_MD_CTX> ctx;
};

IncrementalHash::IncrementalHash(std::unique_ptr<State> s) : state_(std::move(s)) {}
IncrementalHash::~IncrementalHash() = default;

std::unique_ptr<IncrementalHash> IncrementalHash::New(HashAlgorithm hash) {
  const EVP_MD* md = internal::Md(hash);
  VEIL_CHECK(md != nullptr);
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  VEIL_CHECK(ctx != nullptr);
  VEIL_CHECK(EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1);
  return std::unique_ptr<IncrementalHash>(
      new IncrementalHash(std::make_unique<State>(State{hash, std::move(ctx)})));
}

void IncrementalHash::Update(absl::Span<const uint8_t> data) {
  VEIL_CHECK(state_->ctx != nullptr);
  if (data.empty()) return;
  VEIL_CHECK(EVP_DigestUpdate(state_->ctx.get(), data.data(), data.size()) == 1);
}

std::vector<uint8_t> IncrementalHash::Finish() {
  // Using the object after Finish is a caller bug; the context is gone, so
  // fail loudly rather than hash into a finalised context.
  VEIL_CHECK(state_->ctx != nullptr);
  std::vector<uint8_t> out(HashSize(state_->hash));
  unsigned int len = 0;
  VEIL_CHECK(EVP_DigestFinal_ex(state_->ctx.get(), out.data(), &len) == 1);
  VEIL_CHECK(len == out.size());
  state_->ctx.reset();
  return out;
}

}  // namespace veil::crypto
