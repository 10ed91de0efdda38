#include "veil/crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/internal/ssl_util.h"

namespace veil::crypto {
namespace {

using internal::SslError;
using internal::SslPtr;

// NIST SP 800-38D section 5.2.1.1: at most 2^39 - 256 bits of plaintext per
// invocation.
constexpr uint64_t kMaxPlaintextBytes = (uint64_t{1} << 36) - 32;
// EVP_*Update takes an int length; longer inputs are fed in pieces of this
// size (a multiple of the AES block size, so the pieces stay aligned).
constexpr size_t kMaxChunk = size_t{1} << 30;

bool PartiallyOverlaps(absl::Span<const uint8_t> in, absl::Span<const uint8_t> out) {
  if (in.empty() || out.empty() || in.data() == out.data()) return false;
  const auto a = reinterpret_cast<uintptr_t>(in.data());
  const auto b = reinterpret_cast<uintptr_t>(out.data());
  return a < b + out.size() && b < a + in.size();
}

// FeedAad passes `aad` to the GCM context (a null output means "AAD").
bool FeedAad(EVP_CIPHER_CTX* ctx, absl::Span<const uint8_t> aad, bool encrypt) {
  while (!aad.empty()) {
    const size_t n = std::min(aad.size(), kMaxChunk);
    int len = 0;
    const int ok = encrypt ? EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(n))
                           : EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(n));
    if (ok != 1) return false;
    aad.remove_prefix(n);
  }
  return true;
}

// FeedData transforms `in` into `out` (same length; GCM is a stream mode, so
// every call outputs exactly its input length).
bool FeedData(EVP_CIPHER_CTX* ctx, absl::Span<const uint8_t> in, absl::Span<uint8_t> out,
              bool encrypt) {
  while (!in.empty()) {
    const size_t n = std::min(in.size(), kMaxChunk);
    int len = 0;
    const int ok = encrypt
                       ? EVP_EncryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(n))
                       : EVP_DecryptUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(n));
    if (ok != 1 || static_cast<size_t>(len) != n) return false;
    in.remove_prefix(n);
    out.remove_prefix(n);
  }
  return true;
}

}  // namespace

// Each direction's context is keyed on first use: most callers only seal or
// only open with a given key, and a key schedule costs about a microsecond.
struct AesGcm::Contexts {
  const EVP_CIPHER* cipher = nullptr;
  SecretBytes key;
  SslPtr<EVP_CIPHER_CTX> enc;
  SslPtr<EVP_CIPHER_CTX> dec;

  EVP_CIPHER_CTX* Get(bool encrypt) {
    SslPtr<EVP_CIPHER_CTX>& slot = encrypt ? enc : dec;
    if (slot != nullptr) return slot.get();
    SslPtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    if (ctx == nullptr) return nullptr;
    // The default GCM IV length is the 12 bytes we use; Seal and Open only
    // supply a new IV from here on.
    const int ok =
        encrypt ? EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.Expose().data(), nullptr)
                : EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.Expose().data(), nullptr);
    if (ok != 1) return nullptr;
    slot = std::move(ctx);
    return slot.get();
  }
};

AesGcm::AesGcm(std::unique_ptr<Contexts> ctx) : ctx_(std::move(ctx)) {}
AesGcm::~AesGcm() = default;

absl::StatusOr<std::unique_ptr<AesGcm>> AesGcm::New(absl::Span<const uint8_t> key) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM key must be 16, 24 or 32 bytes, got ", key.size()));
  }
  const EVP_CIPHER* cipher = internal::AesGcmCipher(key.size());
  if (cipher == nullptr) {
    return absl::FailedPreconditionError("AES-GCM is not available from the OpenSSL provider");
  }
  auto ctx = std::make_unique<Contexts>();
  ctx->cipher = cipher;
  ctx->key = SecretBytes::Copy(key);
  return std::unique_ptr<AesGcm>(new AesGcm(std::move(ctx)));
}

absl::Status AesGcm::Seal(absl::Span<const uint8_t> iv, absl::Span<const uint8_t> aad,
                          absl::Span<const uint8_t> plaintext, absl::Span<uint8_t> out_ciphertext,
                          absl::Span<uint8_t> out_tag) {
  if (iv.size() != kGcmIvSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM IV must be ", kGcmIvSize, " bytes, got ", iv.size()));
  }
  if (out_tag.size() != kGcmTagSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AES-GCM tag buffer must be ", kGcmTagSize, " bytes, got ", out_tag.size()));
  }
  if (out_ciphertext.size() != plaintext.size()) {
    return absl::InvalidArgumentError(absl::StrCat("ciphertext buffer is ", out_ciphertext.size(),
                                                   " bytes for ", plaintext.size(),
                                                   " bytes of plaintext"));
  }
  if (plaintext.size() > kMaxPlaintextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("plaintext of ", plaintext.size(), " bytes exceeds the AES-GCM limit"));
  }
  if (PartiallyOverlaps(plaintext, out_ciphertext)) {
    return absl::InvalidArgumentError("ciphertext buffer partially overlaps the plaintext");
  }
  EVP_CIPHER_CTX* ctx = ctx_->Get(/*encrypt=*/true);
  if (ctx == nullptr) return SslError(absl::StatusCode::kInternal, "AES-GCM key setup failed");
  int len = 0;
  uint8_t final_block[16];
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1 ||
      !FeedAad(ctx, aad, /*encrypt=*/true) ||
      !FeedData(ctx, plaintext, out_ciphertext, /*encrypt=*/true) ||
      EVP_EncryptFinal_ex(ctx, final_block, &len) != 1 || len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagSize),
                          out_tag.data()) != 1) {
    return SslError(absl::StatusCode::kInternal, "AES-GCM seal failed");
  }
  return absl::OkStatus();
}

absl::Status AesGcm::Open(absl::Span<const uint8_t> iv, absl::Span<const uint8_t> aad,
                          absl::Span<const uint8_t> ciphertext, absl::Span<const uint8_t> tag,
                          absl::Span<uint8_t> out_plaintext) {
  // Whatever happens below, no byte of a failed open may reach the caller.
  auto fail = [&](absl::Status status) {
    if (!out_plaintext.empty()) std::memset(out_plaintext.data(), 0, out_plaintext.size());
    return status;
  };
  if (out_plaintext.size() != ciphertext.size()) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("plaintext buffer is ", out_plaintext.size(), " bytes for ", ciphertext.size(),
                     " bytes of ciphertext")));
  }
  if (PartiallyOverlaps(ciphertext, out_plaintext)) {
    return fail(absl::InvalidArgumentError("plaintext buffer partially overlaps the ciphertext"));
  }
  if (iv.size() != kGcmIvSize) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("AES-GCM IV must be ", kGcmIvSize, " bytes, got ", iv.size())));
  }
  if (tag.size() != kGcmTagSize) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("AES-GCM tag must be ", kGcmTagSize, " bytes, got ", tag.size())));
  }
  if (ciphertext.size() > kMaxPlaintextBytes) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("ciphertext of ", ciphertext.size(), " bytes exceeds the AES-GCM limit")));
  }
  EVP_CIPHER_CTX* ctx = ctx_->Get(/*encrypt=*/false);
  if (ctx == nullptr) {
    return fail(SslError(absl::StatusCode::kInternal, "AES-GCM key setup failed"));
  }
  // EVP_CTRL_GCM_SET_TAG takes a mutable pointer; hand it a copy.
  uint8_t expected_tag[kGcmTagSize];
  std::memcpy(expected_tag, tag.data(), kGcmTagSize);
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, iv.data()) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagSize), expected_tag) !=
          1 ||
      !FeedAad(ctx, aad, /*encrypt=*/false) ||
      !FeedData(ctx, ciphertext, out_plaintext, /*encrypt=*/false)) {
    return fail(SslError(absl::StatusCode::kInternal, "AES-GCM open failed"));
  }
  int len = 0;
  uint8_t final_block[16];
  if (EVP_DecryptFinal_ex(ctx, final_block, &len) != 1 || len != 0) {
    return fail(internal::AuthenticationFailed());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> AesGcm::SealToVector(absl::Span<const uint8_t> iv,
                                                          absl::Span<const uint8_t> aad,
                                                          absl::Span<const uint8_t> plaintext) {
  std::vector<uint8_t> out(plaintext.size() + kGcmTagSize);
  auto out_span = absl::MakeSpan(out);
  VEIL_RETURN_IF_ERROR(Seal(iv, aad, plaintext, out_span.first(plaintext.size()),
                            out_span.subspan(plaintext.size())));
  return out;
}

absl::StatusOr<SecretBytes> AesGcm::OpenToSecret(absl::Span<const uint8_t> iv,
                                                 absl::Span<const uint8_t> aad,
                                                 absl::Span<const uint8_t> ciphertext_and_tag) {
  if (ciphertext_and_tag.size() < kGcmTagSize) {
    return absl::InvalidArgumentError(absl::StrCat("AES-GCM ciphertext must be at least ",
                                                   kGcmTagSize, " bytes, got ",
                                                   ciphertext_and_tag.size()));
  }
  const size_t ct_len = ciphertext_and_tag.size() - kGcmTagSize;
  SecretBytes out(ct_len);
  VEIL_RETURN_IF_ERROR(Open(iv, aad, ciphertext_and_tag.first(ct_len),
                            ciphertext_and_tag.subspan(ct_len), out.MutableExpose()));
  return out;
}

}  // namespace veil::crypto
