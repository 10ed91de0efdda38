#include "veil/crypto/ecdsa.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/internal/ssl_util.h"

namespace veil::crypto {
namespace {

using internal::SslError;
using internal::SslPtr;

// Re-signing is needed only when neither s nor n - s gives the fixed length,
// which happens with probability about 2^-8 per attempt; this bound is never
// reached unless the signer is broken.
constexpr int kMaxSignAttempts = 64;

struct CurveInfo {
  int nid;
  const char* group_name;
  const char* display_name;
  HashAlgorithm hash;
  size_t field_bytes;
  size_t fixed_signature_len;
};

const CurveInfo& Info(EcCurve curve) {
  // DER of (r, s) where one integer needs a leading zero byte and the other
  // fills the field exactly: 2 + (2 + L + 1) + (2 + L).
  static const CurveInfo kP256 = {.nid = NID_X9_62_prime256v1,
                                  .group_name = SN_X9_62_prime256v1,
                                  .display_name = "P-256",
                                  .hash = HashAlgorithm::kSha256,
                                  .field_bytes = 32,
                                  .fixed_signature_len = 71};
  static const CurveInfo kP384 = {.nid = NID_secp384r1,
                                  .group_name = SN_secp384r1,
                                  .display_name = "P-384",
                                  .hash = HashAlgorithm::kSha384,
                                  .field_bytes = 48,
                                  .fixed_signature_len = 103};
  return curve == EcCurve::kP384 ? kP384 : kP256;
}

// CurveOrder returns the group order n, computed once per curve.
const BIGNUM* CurveOrder(EcCurve curve) {
  static const BIGNUM* const kOrders[2] = {
      [] {
        SslPtr<EC_GROUP> g(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
        return g == nullptr ? nullptr : BN_dup(EC_GROUP_get0_order(g.get()));
      }(),
      [] {
        SslPtr<EC_GROUP> g(EC_GROUP_new_by_curve_name(NID_secp384r1));
        return g == nullptr ? nullptr : BN_dup(EC_GROUP_get0_order(g.get()));
      }()};
  return kOrders[curve == EcCurve::kP384 ? 1 : 0];
}

// CheckCurve returns OK if `key` is an EC key on `curve` (a named curve).
absl::Status CheckCurve(EVP_PKEY* key, EcCurve curve) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return absl::InvalidArgumentError("not an EC key");
  char name[80];
  size_t name_len = 0;
  if (EVP_PKEY_get_group_name(key, name, sizeof(name), &name_len) != 1) {
    return SslError(absl::StatusCode::kInvalidArgument, "EC key does not use a named curve");
  }
  int nid = OBJ_sn2nid(name);
  if (nid == NID_undef) nid = EC_curve_nist2nid(name);
  if (nid != Info(curve).nid) {
    return absl::InvalidArgumentError(absl::StrCat("EC key is on curve ",
                                                   static_cast<const char*>(name), ", expected ",
                                                   Info(curve).display_name));
  }
  return absl::OkStatus();
}

absl::Status CheckPublicKey(EVP_PKEY* key) {
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (ctx == nullptr) return SslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_new failed");
  // The quick check (point on the curve, not infinity) is complete for
  // P-256 and P-384, whose cofactor is 1.
  if (EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInvalidArgument, "invalid EC public key");
  }
  return absl::OkStatus();
}

absl::StatusOr<SslPtr<EVP_MD_CTX>> NewDigest(EcCurve curve) {
  const EVP_MD* md = internal::Md(Info(curve).hash);
  if (md == nullptr) {
    return absl::FailedPreconditionError("SHA-2 is not available from the OpenSSL provider");
  }
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    return SslError(absl::StatusCode::kInternal, "digest setup failed");
  }
  return ctx;
}

absl::StatusOr<std::vector<uint8_t>> SignDigest(EVP_PKEY_CTX* ctx,
                                                absl::Span<const uint8_t> digest) {
  size_t len = 0;
  if (EVP_PKEY_sign(ctx, nullptr, &len, digest.data(), digest.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "ECDSA signature size query failed");
  }
  std::vector<uint8_t> sig(len);
  if (EVP_PKEY_sign(ctx, sig.data(), &len, digest.data(), digest.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "ECDSA signing failed");
  }
  sig.resize(len);
  return sig;
}

// NegateS returns the DER encoding of (r, n - s), the other valid signature
// for the same (r, s).
absl::StatusOr<std::vector<uint8_t>> NegateS(absl::Span<const uint8_t> der, const BIGNUM* order) {
  const uint8_t* p = der.data();
  SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (sig == nullptr) return SslError(absl::StatusCode::kInternal, "cannot parse own signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  SslPtr<BIGNUM> new_r(BN_dup(r));
  SslPtr<BIGNUM> new_s(BN_new());
  if (new_r == nullptr || new_s == nullptr || BN_sub(new_s.get(), order, s) != 1) {
    return SslError(absl::StatusCode::kInternal, "computing n - s failed");
  }
  SslPtr<ECDSA_SIG> flipped(ECDSA_SIG_new());
  if (flipped == nullptr || ECDSA_SIG_set0(flipped.get(), new_r.get(), new_s.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "building (r, n - s) failed");
  }
  // ECDSA_SIG_set0 took ownership of both numbers.
  (void)new_r.release();
  (void)new_s.release();
  const int len = i2d_ECDSA_SIG(flipped.get(), nullptr);
  if (len <= 0) return SslError(absl::StatusCode::kInternal, "encoding (r, n - s) failed");
  std::vector<uint8_t> out(static_cast<size_t>(len));
  uint8_t* q = out.data();
  if (i2d_ECDSA_SIG(flipped.get(), &q) != len) {
    return SslError(absl::StatusCode::kInternal, "encoding (r, n - s) failed");
  }
  return out;
}

// The class's private State derives from these, so the helpers in this file
// can build it without naming a private type.
struct SignerParts {
  EcCurve curve;
  SslPtr<EVP_PKEY> key;
  SslPtr<EVP_PKEY_CTX> sign_ctx;  // EVP_PKEY_sign_init has run
  SslPtr<EVP_MD_CTX> md_ctx;      // null once Finish has run
  std::vector<uint8_t> compressed_public_key;
};

// MakeSignerParts prepares a signer around a private key on `curve`.
absl::StatusOr<SignerParts> MakeSignerParts(EcCurve curve, SslPtr<EVP_PKEY> key) {
  SignerParts parts;
  parts.curve = curve;
  // Ask for the compressed SEC1 encoding of the public point (the ESDK puts
  // it in the encryption context). OpenSSL 3.0 applies the point format to
  // OSSL_PKEY_PARAM_PUB_KEY but always writes ENCODED_PUBLIC_KEY
  // uncompressed, hence the former.
  if (EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                     OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED) != 1) {
    return SslError(absl::StatusCode::kInternal, "cannot select compressed point format");
  }
  uint8_t point[1 + 66];
  size_t point_len = 0;
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                      &point_len) != 1 ||
      point_len != 1 + Info(curve).field_bytes) {
    return SslError(absl::StatusCode::kInternal, "cannot encode the EC public key");
  }
  parts.compressed_public_key.assign(point, point + point_len);
  parts.sign_ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (parts.sign_ctx == nullptr || EVP_PKEY_sign_init(parts.sign_ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "ECDSA signing setup failed");
  }
  VEIL_ASSIGN_OR_RETURN(parts.md_ctx, NewDigest(curve));
  parts.key = std::move(key);
  return parts;
}

struct VerifierParts {
  SslPtr<EVP_PKEY> key;
  SslPtr<EVP_PKEY_CTX> verify_ctx;  // EVP_PKEY_verify_init has run
  SslPtr<EVP_MD_CTX> md_ctx;        // null once Finish has run
};

// MakeVerifierParts checks that `key` is a valid public key on `curve` and
// prepares a verifier around it.
absl::StatusOr<VerifierParts> MakeVerifierParts(EcCurve curve, SslPtr<EVP_PKEY> key) {
  VEIL_RETURN_IF_ERROR(CheckCurve(key.get(), curve));
  VEIL_RETURN_IF_ERROR(CheckPublicKey(key.get()));
  VerifierParts parts;
  parts.verify_ctx.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (parts.verify_ctx == nullptr || EVP_PKEY_verify_init(parts.verify_ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "ECDSA verification setup failed");
  }
  VEIL_ASSIGN_OR_RETURN(parts.md_ctx, NewDigest(curve));
  parts.key = std::move(key);
  return parts;
}

}  // namespace

struct EcdsaSigner::State : SignerParts {};

EcdsaSigner::EcdsaSigner(std::unique_ptr<State> s) : state_(std::move(s)) {}
EcdsaSigner::~EcdsaSigner() = default;

absl::StatusOr<std::unique_ptr<EcdsaSigner>> EcdsaSigner::Generate(EcCurve curve) {
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), Info(curve).group_name) != 1) {
    return SslError(absl::StatusCode::kInternal, "EC key generation setup failed");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    return SslError(absl::StatusCode::kInternal, "EC key generation failed");
  }
  VEIL_ASSIGN_OR_RETURN(SignerParts parts, MakeSignerParts(curve, SslPtr<EVP_PKEY>(raw)));
  return std::unique_ptr<EcdsaSigner>(
      new EcdsaSigner(std::unique_ptr<State>(new State{std::move(parts)})));
}

absl::StatusOr<std::unique_ptr<EcdsaSigner>> EcdsaSigner::FromPrivateKeyDer(
    EcCurve curve, absl::Span<const uint8_t> der) {
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
  VEIL_RETURN_IF_ERROR(CheckCurve(key.get(), curve));
  VEIL_ASSIGN_OR_RETURN(SignerParts parts, MakeSignerParts(curve, std::move(key)));
  return std::unique_ptr<EcdsaSigner>(
      new EcdsaSigner(std::unique_ptr<State>(new State{std::move(parts)})));
}

absl::StatusOr<SecretBytes> EcdsaSigner::PrivateKeyDer() const {
  SslPtr<PKCS8_PRIV_KEY_INFO> p8(EVP_PKEY2PKCS8(state_->key.get()));
  if (p8 == nullptr) return SslError(absl::StatusCode::kInternal, "PKCS#8 conversion failed");
  const int len = i2d_PKCS8_PRIV_KEY_INFO(p8.get(), nullptr);
  if (len <= 0) return SslError(absl::StatusCode::kInternal, "PKCS#8 encoding failed");
  // Encode straight into wiping memory so no other copy of the key is left.
  SecretBytes der(static_cast<size_t>(len));
  uint8_t* q = der.MutableExpose().data();
  if (i2d_PKCS8_PRIV_KEY_INFO(p8.get(), &q) != len) {
    return SslError(absl::StatusCode::kInternal, "PKCS#8 encoding failed");
  }
  return der;
}

std::vector<uint8_t> EcdsaSigner::CompressedPublicKey() const {
  return state_->compressed_public_key;
}

absl::Status EcdsaSigner::Update(absl::Span<const uint8_t> data) {
  if (state_->md_ctx == nullptr) return absl::FailedPreconditionError("signer already finished");
  if (data.empty()) return absl::OkStatus();
  if (EVP_DigestUpdate(state_->md_ctx.get(), data.data(), data.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "digest update failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> EcdsaSigner::Finish(bool fixed_length) {
  if (state_->md_ctx == nullptr) return absl::FailedPreconditionError("signer already finished");
  // The digest is kept so that a re-sign does not need the message again.
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const bool digested = EVP_DigestFinal_ex(state_->md_ctx.get(), digest, &digest_len) == 1;
  state_->md_ctx.reset();
  if (!digested) return SslError(absl::StatusCode::kInternal, "digest finalisation failed");
  const absl::Span<const uint8_t> d(digest, digest_len);
  const size_t target = Info(state_->curve).fixed_signature_len;
  const BIGNUM* order = CurveOrder(state_->curve);
  if (fixed_length && order == nullptr) {
    return absl::InternalError("EC group order unavailable");
  }
  for (int attempt = 0; attempt < kMaxSignAttempts; ++attempt) {
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> sig, SignDigest(state_->sign_ctx.get(), d));
    if (!fixed_length || sig.size() == target) return sig;
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> flipped, NegateS(sig, order));
    if (flipped.size() == target) return flipped;
  }
  return absl::InternalError(
      absl::StrCat("no fixed-length ECDSA signature after ", kMaxSignAttempts, " attempts"));
}

struct EcdsaVerifier::State : VerifierParts {};

EcdsaVerifier::EcdsaVerifier(std::unique_ptr<State> s) : state_(std::move(s)) {}
EcdsaVerifier::~EcdsaVerifier() = default;

absl::StatusOr<std::unique_ptr<EcdsaVerifier>> EcdsaVerifier::FromPoint(
    EcCurve curve, absl::Span<const uint8_t> point) {
  const size_t field = Info(curve).field_bytes;
  // Only the compressed (02/03) and uncompressed (04) SEC1 forms; OpenSSL
  // would also take the hybrid form, which no ESDK writes.
  const bool compressed = point.size() == 1 + field && (point[0] == 0x02 || point[0] == 0x03);
  const bool uncompressed = point.size() == 1 + 2 * field && point[0] == 0x04;
  if (!compressed && !uncompressed) {
    return absl::InvalidArgumentError(absl::StrCat("not a SEC1 ", Info(curve).display_name,
                                                   " point encoding (", point.size(), " bytes)"));
  }
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                       const_cast<char*>(Info(curve).group_name), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  SslPtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "EC key import setup failed");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, const_cast<OSSL_PARAM*>(params)) !=
      1) {
    return SslError(absl::StatusCode::kInvalidArgument, "invalid EC public point");
  }
  VEIL_ASSIGN_OR_RETURN(VerifierParts parts, MakeVerifierParts(curve, SslPtr<EVP_PKEY>(raw)));
  return std::unique_ptr<EcdsaVerifier>(
      new EcdsaVerifier(std::unique_ptr<State>(new State{std::move(parts)})));
}

absl::StatusOr<std::unique_ptr<EcdsaVerifier>> EcdsaVerifier::FromSpkiDer(
    EcCurve curve, absl::Span<const uint8_t> der) {
  const uint8_t* p = der.data();
  SslPtr<EVP_PKEY> key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr || p != der.data() + der.size()) {
    return SslError(absl::StatusCode::kInvalidArgument, "malformed SubjectPublicKeyInfo");
  }
  VEIL_ASSIGN_OR_RETURN(VerifierParts parts, MakeVerifierParts(curve, std::move(key)));
  return std::unique_ptr<EcdsaVerifier>(
      new EcdsaVerifier(std::unique_ptr<State>(new State{std::move(parts)})));
}

absl::Status EcdsaVerifier::Update(absl::Span<const uint8_t> data) {
  if (state_->md_ctx == nullptr) {
    return absl::FailedPreconditionError("verifier already finished");
  }
  if (data.empty()) return absl::OkStatus();
  if (EVP_DigestUpdate(state_->md_ctx.get(), data.data(), data.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "digest update failed");
  }
  return absl::OkStatus();
}

absl::Status EcdsaVerifier::Finish(absl::Span<const uint8_t> der_signature) {
  if (state_->md_ctx == nullptr) {
    return absl::FailedPreconditionError("verifier already finished");
  }
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const bool digested = EVP_DigestFinal_ex(state_->md_ctx.get(), digest, &digest_len) == 1;
  state_->md_ctx.reset();
  if (!digested) return SslError(absl::StatusCode::kInternal, "digest finalisation failed");
  if (der_signature.empty()) return internal::AuthenticationFailed();
  // OpenSSL parses the signature strictly: it re-encodes (r, s) and rejects
  // anything that is not byte-for-byte the DER encoding (BER, trailing data).
  if (EVP_PKEY_verify(state_->verify_ctx.get(), der_signature.data(), der_signature.size(), digest,
                      digest_len) != 1) {
    return internal::AuthenticationFailed();
  }
  return absl::OkStatus();
}

}  // namespace veil::crypto
