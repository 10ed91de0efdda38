#include "veil/crypto/rsa.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <string>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/internal/rsa_key_access.h"
#include "veil/crypto/internal/ssl_util.h"

namespace veil::crypto {
namespace {

using internal::SslError;
using internal::SslPtr;

constexpr int kMinGenerateBits = 2048;
constexpr int kMaxGenerateBits = 16384;

struct OpenSslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};

// A passphrase callback that refuses: an encrypted PEM is an error, never a
// prompt on the terminal (OpenSSL's default callback).
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<SslPtr<BIO>> ReadOnlyBio(std::string_view data) {
  if (data.size() > INT_MAX) return absl::InvalidArgumentError("PEM input too large");
  SslPtr<BIO> bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (bio == nullptr) return SslError(absl::StatusCode::kInternal, "BIO_new_mem_buf failed");
  return bio;
}

absl::Status CheckRsa(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA") != 1) return absl::InvalidArgumentError("not an RSA key");
  return absl::OkStatus();
}

absl::StatusOr<const EVP_MD*> OaepHash(RsaPadding padding) {
  HashAlgorithm hash;
  switch (padding) {
    case RsaPadding::kOaepSha1:
      hash = HashAlgorithm::kSha1;
      break;
    case RsaPadding::kOaepSha256:
      hash = HashAlgorithm::kSha256;
      break;
    case RsaPadding::kOaepSha384:
      hash = HashAlgorithm::kSha384;
      break;
    case RsaPadding::kOaepSha512:
      hash = HashAlgorithm::kSha512;
      break;
    default:
      return absl::InvalidArgumentError("not an OAEP padding");
  }
  const EVP_MD* md = internal::Md(hash);
  if (md == nullptr) {
    return absl::FailedPreconditionError("OAEP hash is not available from the OpenSSL provider");
  }
  return md;
}

// ConfigurePadding sets `padding` (and for OAEP the hash, the MGF1 hash and
// the label) on a context already initialised for encryption or decryption.
absl::Status ConfigurePadding(EVP_PKEY_CTX* ctx, RsaPadding padding,
                              absl::Span<const uint8_t> label) {
  if (padding == RsaPadding::kPkcs1) {
    if (!label.empty()) return absl::InvalidArgumentError("PKCS#1 v1.5 takes no label");
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) {
      return SslError(absl::StatusCode::kInternal, "cannot select PKCS#1 v1.5 padding");
    }
    return absl::OkStatus();
  }
  VEIL_ASSIGN_OR_RETURN(const EVP_MD* md, OaepHash(padding));
  if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1) {
    return SslError(absl::StatusCode::kInternal, "cannot select OAEP padding");
  }
  if (!label.empty()) {
    if (label.size() > INT_MAX) return absl::InvalidArgumentError("OAEP label too large");
    std::unique_ptr<void, OpenSslFree> copy(OPENSSL_memdup(label.data(), label.size()));
    if (copy == nullptr) return SslError(absl::StatusCode::kInternal, "OPENSSL_memdup failed");
    if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, copy.get(), static_cast<int>(label.size())) != 1) {
      return SslError(absl::StatusCode::kInternal, "cannot set the OAEP label");
    }
    // The context owns the label now.
    (void)copy.release();
  }
  return absl::OkStatus();
}

}  // namespace

struct RsaPublicKey::State {
  SslPtr<EVP_PKEY> key;
};

RsaPublicKey::RsaPublicKey(std::unique_ptr<State> s) : state_(std::move(s)) {}
RsaPublicKey::~RsaPublicKey() = default;

absl::StatusOr<std::unique_ptr<RsaPublicKey>> RsaPublicKey::FromPem(std::string_view pem) {
  VEIL_ASSIGN_OR_RETURN(SslPtr<BIO> bio, ReadOnlyBio(pem));
  SslPtr<EVP_PKEY> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, "cannot read PEM public key");
  }
  VEIL_RETURN_IF_ERROR(CheckRsa(key.get()));
  return std::unique_ptr<RsaPublicKey>(
      new RsaPublicKey(std::unique_ptr<State>(new State{std::move(key)})));
}

absl::StatusOr<std::vector<uint8_t>> RsaPublicKey::Encrypt(RsaPadding padding,
                                                           absl::Span<const uint8_t> plaintext,
                                                           absl::Span<const uint8_t> label) const {
  // A context per call keeps the key object immutable, hence thread-safe.
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, state_->key.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_encrypt_init(ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "RSA encryption setup failed");
  }
  VEIL_RETURN_IF_ERROR(ConfigurePadding(ctx.get(), padding, label));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "RSA ciphertext size query failed");
  }
  std::vector<uint8_t> out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()) != 1) {
    // Almost always a plaintext too long for the key and padding.
    return SslError(absl::StatusCode::kInvalidArgument,
                    absl::StrCat("RSA encryption of ", plaintext.size(), " bytes failed"));
  }
  out.resize(len);
  return out;
}

int RsaPublicKey::ModulusBits() const { return EVP_PKEY_get_bits(state_->key.get()); }

struct RsaPrivateKey::State {
  SslPtr<EVP_PKEY> key;
};

RsaPrivateKey::RsaPrivateKey(std::unique_ptr<State> s) : state_(std::move(s)) {}
RsaPrivateKey::~RsaPrivateKey() = default;

EVP_PKEY* internal::RsaKeyAccess::Pkey(const RsaPrivateKey& key) {
  return key.state_->key.get();
}

absl::StatusOr<std::unique_ptr<RsaPrivateKey>> RsaPrivateKey::FromPem(std::string_view pem) {
  VEIL_ASSIGN_OR_RETURN(SslPtr<BIO> bio, ReadOnlyBio(pem));
  // Reads both "PRIVATE KEY" (PKCS#8) and "RSA PRIVATE KEY" (PKCS#1).
  SslPtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, "cannot read PEM private key");
  }
  VEIL_RETURN_IF_ERROR(CheckRsa(key.get()));
  return std::unique_ptr<RsaPrivateKey>(
      new RsaPrivateKey(std::unique_ptr<State>(new State{std::move(key)})));
}

absl::StatusOr<std::unique_ptr<RsaPrivateKey>> RsaPrivateKey::FromPkcs8Der(
    absl::Span<const uint8_t> der) {
  const uint8_t* p = der.data();
  SslPtr<PKCS8_PRIV_KEY_INFO> p8(
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (p8 == nullptr || p != der.data() + der.size()) {
    return SslError(absl::StatusCode::kInvalidArgument, "malformed PKCS#8 private key");
  }
  SslPtr<EVP_PKEY> key(EVP_PKCS82PKEY(p8.get()));
  if (key == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, "unsupported PKCS#8 private key");
  }
  VEIL_RETURN_IF_ERROR(CheckRsa(key.get()));
  return std::unique_ptr<RsaPrivateKey>(
      new RsaPrivateKey(std::unique_ptr<State>(new State{std::move(key)})));
}

absl::StatusOr<std::unique_ptr<RsaPrivateKey>> RsaPrivateKey::Generate(int bits) {
  if (bits < kMinGenerateBits || bits > kMaxGenerateBits || bits % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("RSA key size must be a multiple of 8 in [",
                                                   kMinGenerateBits, ", ", kMaxGenerateBits,
                                                   "], got ", bits));
  }
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1) {
    return SslError(absl::StatusCode::kInternal, "RSA key generation setup failed");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return SslError(absl::StatusCode::kInternal, "RSA key generation failed");
  }
  return std::unique_ptr<RsaPrivateKey>(
      new RsaPrivateKey(std::unique_ptr<State>(new State{SslPtr<EVP_PKEY>(raw)})));
}

absl::StatusOr<SecretBytes> RsaPrivateKey::Decrypt(RsaPadding padding,
                                                   absl::Span<const uint8_t> ciphertext,
                                                   absl::Span<const uint8_t> label) const {
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, state_->key.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_decrypt_init(ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "RSA decryption setup failed");
  }
  VEIL_RETURN_IF_ERROR(ConfigurePadding(ctx.get(), padding, label));
  // Every failure from here on looks the same to the caller, whatever the
  // cause (length, padding, label), so it cannot serve as a padding oracle.
  size_t len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(), ciphertext.size()) != 1) {
    return internal::AuthenticationFailed();
  }
  SecretBytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.MutableExpose().data(), &len, ciphertext.data(),
                       ciphertext.size()) != 1) {
    return internal::AuthenticationFailed();
  }
  out.Resize(len);
  return out;
}

absl::StatusOr<std::string> RsaPrivateKey::PublicKeyPem() const {
  SslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), state_->key.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "cannot write PEM public key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return SslError(absl::StatusCode::kInternal, "cannot write PEM public key");
  }
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<SecretBytes> RsaPrivateKey::PrivateKeyPem() const {
  // A secure-memory BIO: its buffer is cleansed when freed or grown.
  SslPtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr || PEM_write_bio_PrivateKey(bio.get(), state_->key.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr) != 1) {
    return SslError(absl::StatusCode::kInternal, "cannot write PEM private key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return SslError(absl::StatusCode::kInternal, "cannot write PEM private key");
  }
  return SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
}

}  // namespace veil::crypto
