#include "veil/crypto/cms.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"
#include "veil/crypto/internal/rsa_key_access.h"
#include "veil/crypto/internal/ssl_util.h"

// The CMS types are only used here, so their deleters live here rather than
// in ssl_util.h.
namespace veil::crypto {
template <>
struct SslDeleter<CMS_ContentInfo> : SslFree<CMS_ContentInfo, CMS_ContentInfo_free> {};
template <>
struct SslDeleter<ASN1_OCTET_STRING> : SslFree<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> {};
template <>
struct SslDeleter<RSA_OAEP_PARAMS> : SslFree<RSA_OAEP_PARAMS, RSA_OAEP_PARAMS_free> {};
template <>
struct SslDeleter<X509_ALGOR> : SslFree<X509_ALGOR, X509_ALGOR_free> {};
}  // namespace veil::crypto

namespace veil::crypto {
namespace {

using internal::SslError;
using internal::SslPtr;

// CiphertextForRecipient of a 1024-byte GenerateRandom answer is about 1.4
// KiB; anything far larger is not a KMS answer.
constexpr size_t kMaxCmsBytes = 64 * 1024;
constexpr int kMinRsaBits = 2048;

int Nid(const X509_ALGOR* alg) {
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
  return oid == nullptr ? NID_undef : OBJ_obj2nid(oid);
}

// CheckOaepSha256 accepts only RSAES-OAEP with SHA-256, MGF1 with SHA-256
// and no label: the one key-encryption algorithm KMS uses for Recipient.
// PKCS#1 v1.5 in particular is refused.
absl::Status CheckOaepSha256(const X509_ALGOR* alg) {
  const ASN1_OBJECT* oid = nullptr;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(&oid, &ptype, &pval, alg);
  if (oid == nullptr || OBJ_obj2nid(oid) != NID_rsaesOaep) {
    return absl::InvalidArgumentError(
        "CMS recipient must use RSAES-OAEP (SHA-256, MGF1 SHA-256)");
  }
  // Absent parameters mean SHA-1 defaults (RFC 8017 A.2.1).
  if (ptype != V_ASN1_SEQUENCE || pval == nullptr) {
    return absl::InvalidArgumentError("CMS recipient's RSAES-OAEP must use SHA-256, not SHA-1");
  }
  const auto* seq = static_cast<const ASN1_STRING*>(pval);
  const unsigned char* p = ASN1_STRING_get0_data(seq);
  const long len = ASN1_STRING_length(seq);
  SslPtr<RSA_OAEP_PARAMS> params(d2i_RSA_OAEP_PARAMS(nullptr, &p, len));
  if (params == nullptr || p != ASN1_STRING_get0_data(seq) + len) {
    return SslError(absl::StatusCode::kInvalidArgument, "malformed RSAES-OAEP parameters");
  }
  // MGF1's parameter is itself an AlgorithmIdentifier naming its hash; the
  // plain d2i does not decode it (maskHash stays empty), so it is read here.
  bool mgf1_sha256 = false;
  if (params->maskGenFunc != nullptr && Nid(params->maskGenFunc) == NID_mgf1) {
    int mgf_ptype = 0;
    const void* mgf_pval = nullptr;
    X509_ALGOR_get0(nullptr, &mgf_ptype, &mgf_pval, params->maskGenFunc);
    if (mgf_ptype == V_ASN1_SEQUENCE && mgf_pval != nullptr) {
      const auto* mgf_seq = static_cast<const ASN1_STRING*>(mgf_pval);
      const unsigned char* q = ASN1_STRING_get0_data(mgf_seq);
      const long q_len = ASN1_STRING_length(mgf_seq);
      SslPtr<X509_ALGOR> mgf_hash(d2i_X509_ALGOR(nullptr, &q, q_len));
      mgf1_sha256 = mgf_hash != nullptr && q == ASN1_STRING_get0_data(mgf_seq) + q_len &&
                    Nid(mgf_hash.get()) == NID_sha256;
    }
  }
  if (params->hashFunc == nullptr || Nid(params->hashFunc) != NID_sha256 || !mgf1_sha256 ||
      params->pSourceFunc != nullptr) {
    return absl::InvalidArgumentError(
        "CMS recipient's RSAES-OAEP must use SHA-256, MGF1 with SHA-256 and no label");
  }
  return absl::OkStatus();
}

absl::Status CheckRsaKey(const EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_is_a(key, "RSA") != 1) {
    return absl::InvalidArgumentError("CMS recipient key must be RSA");
  }
  if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
    return absl::InvalidArgumentError("CMS recipient RSA key must have at least 2048 bits");
  }
  return absl::OkStatus();
}

// ThrowawayCertificate wraps `recipient` in a self-signed certificate whose
// subjectKeyIdentifier is `ski`. OpenSSL's CMS API takes recipients as
// certificates; only the key and the SKI reach the output, so the
// certificate is signed by a fresh key that is then discarded.
absl::StatusOr<SslPtr<X509>> ThrowawayCertificate(EVP_PKEY* recipient,
                                                  absl::Span<const uint8_t> ski) {
  SslPtr<X509> cert(X509_new());
  SslPtr<ASN1_OCTET_STRING> ski_os(ASN1_OCTET_STRING_new());
  SslPtr<EVP_PKEY> signer(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (cert == nullptr || ski_os == nullptr || signer == nullptr) {
    return SslError(absl::StatusCode::kInternal, "cannot allocate recipient certificate");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) == nullptr ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("veil-kms-recipient"), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 ||
      X509_set_pubkey(cert.get(), recipient) != 1 ||
      ASN1_OCTET_STRING_set(ski_os.get(), ski.data(), static_cast<int>(ski.size())) != 1 ||
      X509_add1_ext_i2d(cert.get(), NID_subject_key_identifier, ski_os.get(), 0,
                        X509V3_ADD_DEFAULT) != 1 ||
      X509_sign(cert.get(), signer.get(), EVP_sha256()) <= 0) {
    return SslError(absl::StatusCode::kInternal, "cannot build recipient certificate");
  }
  return cert;
}

}  // namespace

absl::StatusOr<SecretBytes> DecryptEnvelopedData(absl::Span<const uint8_t> cms,
                                                 const RsaPrivateKey& recipient_key) {
  if (cms.empty() || cms.size() > kMaxCmsBytes) {
    return absl::InvalidArgumentError("CMS EnvelopedData must be 1.." +
                                      std::to_string(kMaxCmsBytes) + " bytes, got " +
                                      std::to_string(cms.size()));
  }
  EVP_PKEY* pkey = internal::RsaKeyAccess::Pkey(recipient_key);
  VEIL_RETURN_IF_ERROR(CheckRsaKey(pkey));

  // d2i reads BER, including the indefinite lengths KMS uses.
  const unsigned char* p = cms.data();
  SslPtr<CMS_ContentInfo> ci(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(cms.size())));
  if (ci == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, "malformed CMS ContentInfo");
  }
  if (p != cms.data() + cms.size()) {
    return absl::InvalidArgumentError("trailing bytes after CMS ContentInfo");
  }
  if (OBJ_obj2nid(CMS_get0_type(ci.get())) != NID_pkcs7_enveloped) {
    return absl::InvalidArgumentError("CMS ContentInfo is not EnvelopedData");
  }
  const ASN1_OBJECT* inner = CMS_get0_eContentType(ci.get());
  if (inner == nullptr || OBJ_obj2nid(inner) != NID_pkcs7_data) {
    return absl::InvalidArgumentError("CMS EnvelopedData must carry id-data content");
  }
  STACK_OF(CMS_RecipientInfo)* recipients = CMS_get0_RecipientInfos(ci.get());
  const int count = recipients == nullptr ? 0 : sk_CMS_RecipientInfo_num(recipients);
  if (count < 1) return absl::InvalidArgumentError("CMS EnvelopedData has no recipient");
  for (int i = 0; i < count; ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(recipients, i);
    if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS) {
      return absl::InvalidArgumentError("CMS recipient must be KeyTransRecipientInfo");
    }
    X509_ALGOR* alg = nullptr;
    if (CMS_RecipientInfo_ktri_get0_algs(ri, nullptr, nullptr, &alg) != 1 || alg == nullptr) {
      return SslError(absl::StatusCode::kInvalidArgument, "malformed KeyTransRecipientInfo");
    }
    VEIL_RETURN_IF_ERROR(CheckOaepSha256(alg));
  }

  // CMS_DEBUG_DECRYPT makes a key-unwrap failure an error. Without it, and
  // without a certificate, OpenSSL decrypts with a random key instead (its
  // defence against padding oracles for PKCS#1 v1.5), which turns a wrong
  // key into garbage output about 1 time in 256 instead of an error. Only
  // OAEP is accepted above, and every failure below is the same
  // Unauthenticated error.
  SslPtr<BIO> out(BIO_new(BIO_s_secmem()));
  if (out == nullptr) return SslError(absl::StatusCode::kInternal, "BIO_new failed");
  if (CMS_decrypt(ci.get(), pkey, nullptr, nullptr, out.get(), CMS_BINARY | CMS_DEBUG_DECRYPT) !=
      1) {
    return internal::AuthenticationFailed();
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  if (len < 0 || (len > 0 && data == nullptr)) {
    return SslError(absl::StatusCode::kInternal, "cannot read decrypted CMS content");
  }
  return SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
}

absl::StatusOr<std::vector<uint8_t>> EncryptForRecipient(
    const SecretBytes& plaintext, absl::Span<const uint8_t> recipient_spki_der) {
  const unsigned char* p = recipient_spki_der.data();
  SslPtr<EVP_PKEY> recipient(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(recipient_spki_der.size())));
  if (recipient == nullptr || p != recipient_spki_der.data() + recipient_spki_der.size()) {
    return SslError(absl::StatusCode::kInvalidArgument,
                    "recipient public key is not a DER SubjectPublicKeyInfo");
  }
  VEIL_RETURN_IF_ERROR(CheckRsaKey(recipient.get()));
  const std::vector<uint8_t> ski = Digest(HashAlgorithm::kSha256, recipient_spki_der);
  VEIL_ASSIGN_OR_RETURN(SslPtr<X509> cert, ThrowawayCertificate(recipient.get(), ski));

  // The flow of `openssl cms -encrypt -stream`: a partial structure, one
  // recipient with OAEP options, then streaming output, which encodes with
  // indefinite lengths as KMS does.
  const int flags = CMS_BINARY | CMS_PARTIAL | CMS_STREAM | CMS_USE_KEYID;
  SslPtr<CMS_ContentInfo> cms(CMS_encrypt(nullptr, nullptr, EVP_aes_256_cbc(), flags));
  if (cms == nullptr) return SslError(absl::StatusCode::kInternal, "CMS_encrypt failed");
  CMS_RecipientInfo* ri =
      CMS_add1_recipient_cert(cms.get(), cert.get(), CMS_KEY_PARAM | CMS_USE_KEYID);
  EVP_PKEY_CTX* pctx = ri == nullptr ? nullptr : CMS_RecipientInfo_get0_pkey_ctx(ri);
  if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0) {
    return SslError(absl::StatusCode::kInternal, "cannot set up the CMS OAEP recipient");
  }
  static const uint8_t kEmpty[1] = {0};  // BIO_new_mem_buf refuses a null pointer
  SslPtr<BIO> in(BIO_new_mem_buf(plaintext.empty() ? kEmpty : plaintext.Expose().data(),
                                 static_cast<int>(plaintext.Expose().size())));
  SslPtr<BIO> out(BIO_new(BIO_s_mem()));
  if (in == nullptr || out == nullptr ||
      i2d_CMS_bio_stream(out.get(), cms.get(), in.get(), flags) != 1) {
    return SslError(absl::StatusCode::kInternal, "CMS encryption failed");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  if (len <= 0 || data == nullptr) {
    return SslError(absl::StatusCode::kInternal, "CMS encryption produced no output");
  }
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(data),
                              reinterpret_cast<const uint8_t*>(data) + len);
}

absl::StatusOr<std::vector<uint8_t>> RecipientPublicKeyDer(const RsaPrivateKey& recipient_key) {
  EVP_PKEY* pkey = internal::RsaKeyAccess::Pkey(recipient_key);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0 || der == nullptr) {
    return SslError(absl::StatusCode::kInternal, "cannot encode the recipient public key");
  }
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

}  // namespace veil::crypto
