#include "veil/attestation/cose_sign1.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/common/cbor.h"
#include "veil/common/status_macros.h"

namespace veil::attestation {
namespace {

using internal::SslError;
using internal::SslPtr;

constexpr size_t kScalarSize = kEs384SignatureSize / 2;
constexpr int64_t kHeaderAlg = 1;
constexpr int64_t kHeaderCrit = 2;
// The protected header every real NSM document carries: {1: -35}.
constexpr uint8_t kEs384ProtectedHeader[] = {0xa1, 0x01, 0x38, 0x22};

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("cose_sign1: ", std::string(what)));
}

// CheckP384 accepts only EC keys on secp384r1.
absl::Status CheckP384(const EVP_PKEY* key, std::string_view role) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return Malformed(absl::StrCat(std::string(role), " is not an EC key"));
  }
  char group[32];
  size_t group_len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &group_len) != 1 ||
      std::string_view(group, group_len) != SN_secp384r1) {
    ERR_clear_error();
    return Malformed(absl::StrCat(std::string(role), " is not on P-384"));
  }
  return absl::OkStatus();
}

absl::Status CheckProtectedHeader(absl::Span<const uint8_t> bytes) {
  // Spec: nitro-attestation-nsm-kms.md#13-verification-procedure step 2.
  auto header = cbor::Decode(bytes);
  if (!header.ok()) {
    return Malformed(absl::StrCat("protected header: ", std::string(header.status().message())));
  }
  if (header->type != cbor::Value::Type::kMap) {
    return Malformed("protected header is not a map");
  }
  std::optional<int64_t> alg;
  for (const auto& [key, value] : header->map) {
    const std::optional<int64_t> label = key.AsInt();
    if (label == kHeaderCrit) return Malformed("protected header has crit parameters");
    if (label == kHeaderAlg) {
      // The decoder compares keys by encoding, so 1 and 0x1801 could both
      // be there; an ambiguous alg is refused.
      if (alg.has_value()) return Malformed("protected header has alg twice");
      alg = value.AsInt();
      if (!alg.has_value()) return Malformed("protected header alg is not an integer");
    }
  }
  if (!alg.has_value()) return Malformed("protected header has no alg");
  if (*alg != kCoseAlgEs384) {
    return Malformed(absl::StrCat("alg ", *alg, " is not ES384 (-35)"));
  }
  return absl::OkStatus();
}

// RawToDer converts r ‖ s (48 bytes each, big-endian) into a DER
// ECDSA-Sig-Value, the form OpenSSL verifies.
absl::StatusOr<std::vector<uint8_t>> RawToDer(absl::Span<const uint8_t> raw) {
  SslPtr<ECDSA_SIG> sig(ECDSA_SIG_new());
  SslPtr<BIGNUM> r(BN_bin2bn(raw.data(), kScalarSize, nullptr));
  SslPtr<BIGNUM> s(BN_bin2bn(raw.data() + kScalarSize, kScalarSize, nullptr));
  if (sig == nullptr || r == nullptr || s == nullptr ||
      ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "cose_sign1: building ECDSA-Sig-Value");
  }
  r.release();  // now owned by sig
  s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return SslError(absl::StatusCode::kInternal, "cose_sign1: encoding signature");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) {
    return SslError(absl::StatusCode::kInternal, "cose_sign1: encoding signature");
  }
  return der;
}

}  // namespace

absl::StatusOr<CoseSign1> ParseCoseSign1(absl::Span<const uint8_t> message) {
  // Spec: nitro-attestation-nsm-kms.md#13-verification-procedure step 1.
  auto decoded = cbor::Decode(message);
  if (!decoded.ok()) {
    return Malformed(std::string(decoded.status().message()));
  }
  CoseSign1 out;
  const cbor::Value* array = &*decoded;
  if (array->type == cbor::Value::Type::kTag) {
    if (array->uint != kCoseSign1Tag) {
      return Malformed(absl::StrCat("tag ", array->uint, " is not COSE_Sign1 (18)"));
    }
    out.tagged = true;
    array = &array->items[0];
  }
  if (array->type != cbor::Value::Type::kArray || array->items.size() != 4) {
    return Malformed("not an array of 4");
  }
  const cbor::Value& protected_header = array->items[0];
  const cbor::Value& unprotected = array->items[1];
  const cbor::Value& payload = array->items[2];
  const cbor::Value& signature = array->items[3];
  if (protected_header.type != cbor::Value::Type::kBytes) {
    return Malformed("protected header is not a byte string");
  }
  VEIL_RETURN_IF_ERROR(CheckProtectedHeader(protected_header.bytes));
  if (unprotected.type != cbor::Value::Type::kMap) {
    return Malformed("unprotected header is not a map");
  }
  if (!unprotected.map.empty()) return Malformed("unprotected header is not empty");
  if (payload.type != cbor::Value::Type::kBytes) {
    return Malformed("payload is not a byte string");
  }
  // Spec: nitro-attestation-nsm-kms.md#13-verification-procedure step 4.
  if (signature.type != cbor::Value::Type::kBytes) {
    return Malformed("signature is not a byte string");
  }
  if (signature.bytes.size() != kEs384SignatureSize) {
    return Malformed(absl::StrCat("signature is ", signature.bytes.size(), " bytes, expected ",
                                  kEs384SignatureSize));
  }
  out.protected_header = protected_header.bytes;
  out.payload = payload.bytes;
  out.signature = signature.bytes;
  return out;
}

std::vector<uint8_t> CoseSign1SigStructure(absl::Span<const uint8_t> protected_header,
                                           absl::Span<const uint8_t> payload) {
  // Spec: RFC 9052 section 4.4; nitro-attestation-nsm-kms.md#13 step 5.
  cbor::Writer w;
  w.ArrayHeader(4);
  w.Text("Signature1");
  w.Bytes(protected_header);
  w.Bytes({});
  w.Bytes(payload);
  return w.Release();
}

absl::Status VerifyCoseSign1(const CoseSign1& message, const EVP_PKEY* public_key) {
  VEIL_RETURN_IF_ERROR(CheckP384(public_key, "verification key"));
  if (message.signature.size() != kEs384SignatureSize) {
    return Malformed("signature is not 96 bytes");
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> der, RawToDer(message.signature));
  const std::vector<uint8_t> tbs =
      CoseSign1SigStructure(message.protected_header, message.payload);
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  // EVP_DigestVerifyInit only takes a reference on the key.
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr,
                           const_cast<EVP_PKEY*>(public_key)) != 1) {
    return SslError(absl::StatusCode::kInternal, "cose_sign1: EVP_DigestVerifyInit");
  }
  if (EVP_DigestVerify(ctx.get(), der.data(), der.size(), tbs.data(), tbs.size()) != 1) {
    ERR_clear_error();
    return absl::UnauthenticatedError("cose_sign1: signature does not verify");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> SignCoseSign1(absl::Span<const uint8_t> payload,
                                                   const EVP_PKEY* private_key) {
  VEIL_RETURN_IF_ERROR(CheckP384(private_key, "signing key"));
  const std::vector<uint8_t> tbs = CoseSign1SigStructure(kEs384ProtectedHeader, payload);
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr,
                         const_cast<EVP_PKEY*>(private_key)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &der_len, tbs.data(), tbs.size()) != 1) {
    return SslError(absl::StatusCode::kInvalidArgument, "cose_sign1: cannot sign with this key");
  }
  std::vector<uint8_t> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, tbs.data(), tbs.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "cose_sign1: EVP_DigestSign");
  }
  const uint8_t* p = der.data();
  SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (sig == nullptr) return SslError(absl::StatusCode::kInternal, "cose_sign1: d2i_ECDSA_SIG");
  // Fixed-width r ‖ s, left-padded with zeros (spec 1.6).
  uint8_t raw[kEs384SignatureSize];
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw, kScalarSize) != kScalarSize ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw + kScalarSize, kScalarSize) != kScalarSize) {
    return SslError(absl::StatusCode::kInternal, "cose_sign1: BN_bn2binpad");
  }
  cbor::Writer w;
  w.ArrayHeader(4);
  w.Bytes(kEs384ProtectedHeader);
  w.MapHeader(0);
  w.Bytes(payload);
  w.Bytes(raw);
  return w.Release();
}

}  // namespace veil::attestation
