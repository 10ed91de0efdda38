#include "veil/attestation/testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/status/status.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/common/cbor.h"

namespace veil::attestation::testing {
namespace {

using internal::SslError;
using internal::SslPtr;

void WriteOptionalBytes(cbor::Writer& w, const std::optional<std::vector<uint8_t>>& b) {
  if (b.has_value()) {
    w.Bytes(*b);
  } else {
    w.Null();
  }
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

struct CertSpec {
  std::string common_name;
  EVP_PKEY* key;          // subject key
  X509* issuer;           // nullptr: self-signed
  EVP_PKEY* issuer_key;
  absl::Time not_before;
  absl::Time not_after;
  bool ca;
  bool digital_signature;
  const EVP_MD* md;
  long serial;
};

absl::StatusOr<SslPtr<X509>> MakeCert(const CertSpec& spec) {
  SslPtr<X509> cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(spec.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(spec.not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), spec.key) != 1) {
    return SslError(absl::StatusCode::kInternal, "test pki: certificate fields");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("US"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const uint8_t*>("Veil"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const uint8_t*>(spec.common_name.c_str()), -1, -1,
                             0);
  X509* issuer = spec.issuer != nullptr ? spec.issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) {
    return SslError(absl::StatusCode::kInternal, "test pki: issuer name");
  }
  bool ok = AddExtension(cert.get(), issuer, NID_basic_constraints,
                         spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  if (spec.ca) {
    ok = ok &&
         AddExtension(cert.get(), issuer, NID_key_usage,
                      "critical,digitalSignature,keyCertSign,cRLSign") &&
         AddExtension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  } else {
    ok = ok && AddExtension(cert.get(), issuer, NID_key_usage,
                            spec.digital_signature ? "digitalSignature,nonRepudiation"
                                                   : "nonRepudiation");
  }
  if (!ok) return SslError(absl::StatusCode::kInternal, "test pki: extensions");
  if (X509_sign(cert.get(), spec.issuer_key, spec.md) <= 0) {
    return SslError(absl::StatusCode::kInternal, "test pki: X509_sign");
  }
  return cert;
}

std::vector<uint8_t> Der(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_X509(cert, &p);
  return der;
}

}  // namespace

struct TestPki::Keys {
  std::vector<SslPtr<EVP_PKEY>> keys;  // root, intermediates..., leaf
  SslPtr<X509> issuer;                 // the leaf's issuer
};

TestPki::TestPki(std::unique_ptr<Keys> keys, absl::Time now)
    : keys_(std::move(keys)), now_(now) {}
TestPki::~TestPki() = default;

EVP_PKEY* TestPki::leaf_key() const { return keys_->keys.back().get(); }

std::map<int, std::vector<uint8_t>> DefaultPcrs() {
  std::map<int, std::vector<uint8_t>> pcrs;
  for (int i = 0; i < 16; ++i) {
    pcrs[i] = std::vector<uint8_t>(48, i <= 4 ? static_cast<uint8_t>(i + 1) : 0);
  }
  return pcrs;
}

std::vector<uint8_t> EncodePayload(const PayloadFields& f) {
  cbor::Writer w;
  if (f.indefinite_map) {
    const uint8_t start = 0xbf;
    w.Raw(absl::MakeConstSpan(&start, 1));
  } else {
    w.MapHeader(9);
  }
  w.Text("module_id");
  w.Text(f.module_id);
  w.Text("digest");
  w.Text(f.digest);
  w.Text("timestamp");
  // The NSM always writes the timestamp with an 8-byte argument (1b).
  const uint8_t ts[9] = {0x1b,
                         static_cast<uint8_t>(f.timestamp_ms >> 56),
                         static_cast<uint8_t>(f.timestamp_ms >> 48),
                         static_cast<uint8_t>(f.timestamp_ms >> 40),
                         static_cast<uint8_t>(f.timestamp_ms >> 32),
                         static_cast<uint8_t>(f.timestamp_ms >> 24),
                         static_cast<uint8_t>(f.timestamp_ms >> 16),
                         static_cast<uint8_t>(f.timestamp_ms >> 8),
                         static_cast<uint8_t>(f.timestamp_ms)};
  w.Raw(ts);
  w.Text("pcrs");
  w.MapHeader(f.pcrs.size());
  for (const auto& [index, value] : f.pcrs) {
    w.Unsigned(static_cast<uint64_t>(index));
    w.Bytes(value);
  }
  w.Text("certificate");
  w.Bytes(f.certificate);
  w.Text("cabundle");
  w.ArrayHeader(f.cabundle.size());
  for (const auto& c : f.cabundle) w.Bytes(c);
  w.Text("public_key");
  WriteOptionalBytes(w, f.public_key);
  w.Text("user_data");
  WriteOptionalBytes(w, f.user_data);
  w.Text("nonce");
  WriteOptionalBytes(w, f.nonce);
  if (f.indefinite_map) {
    const uint8_t brk = 0xff;
    w.Raw(absl::MakeConstSpan(&brk, 1));
  }
  return w.Release();
}

absl::StatusOr<std::unique_ptr<TestPki>> TestPki::Create(const Options& o) {
  auto keys = std::make_unique<Keys>();
  for (int i = 0; i <= o.intermediates; ++i) {
    keys->keys.emplace_back(EVP_EC_gen("P-384"));
  }
  for (const auto& k : keys->keys) {
    if (k == nullptr) return SslError(absl::StatusCode::kInternal, "test pki: key generation");
  }
  std::vector<SslPtr<X509>> certs;
  auto root = MakeCert({o.root_common_name, keys->keys[0].get(), nullptr, keys->keys[0].get(),
                        o.now - absl::Hours(24 * 365), o.now + absl::Hours(24 * 365 * 30), true,
                        true, EVP_sha384(), 1});
  if (!root.ok()) return root.status();
  certs.push_back(std::move(*root));
  for (int i = 1; i <= o.intermediates; ++i) {
    absl::Time not_after = o.now + absl::Hours(24);
    if (i == o.intermediates && o.intermediate_not_after.has_value()) {
      not_after = *o.intermediate_not_after;
    }
    auto cert = MakeCert({"veil test intermediate " + std::to_string(i), keys->keys[i].get(),
                          certs.back().get(), keys->keys[i - 1].get(), o.now - absl::Hours(24),
                          not_after, true, true, EVP_sha384(), 1 + i});
    if (!cert.ok()) return cert.status();
    certs.push_back(std::move(*cert));
  }
  std::unique_ptr<TestPki> pki(new TestPki(std::move(keys), o.now));
  pki->options_ = o;
  pki->root_der_ = Der(certs[0].get());
  for (const auto& c : certs) pki->cabundle_.push_back(Der(c.get()));
  pki->keys_->issuer = std::move(certs.back());
  if (absl::Status s = pki->ReissueLeaf(); !s.ok()) return s;
  return pki;
}

absl::Status TestPki::ReissueLeaf() {
  const Options& o = options_;
  SslPtr<EVP_PKEY> key(EVP_EC_gen(o.leaf_curve));
  if (key == nullptr) return SslError(absl::StatusCode::kInternal, "test pki: leaf key");
  EVP_PKEY* issuer_key = keys_->keys[static_cast<size_t>(o.intermediates)].get();
  auto leaf = MakeCert({"i-0123456789abcdef0-enc0123456789abcdef.test.aws", key.get(),
                        keys_->issuer.get(), issuer_key, o.now - absl::Seconds(10),
                        o.leaf_not_after.value_or(o.now + absl::Hours(3)), o.leaf_is_ca,
                        o.leaf_digital_signature,
                        o.leaf_sha256_signature ? EVP_sha256() : EVP_sha384(), next_serial_++});
  if (!leaf.ok()) return leaf.status();
  leaf_der_ = Der(leaf->get());
  if (keys_->keys.size() > static_cast<size_t>(o.intermediates) + 1) keys_->keys.pop_back();
  keys_->keys.push_back(std::move(key));
  return absl::OkStatus();
}

PayloadFields TestPki::Fields(std::optional<absl::Time> timestamp) const {
  PayloadFields f;
  f.timestamp_ms = static_cast<uint64_t>(absl::ToUnixMillis(timestamp.value_or(now_)));
  f.pcrs = DefaultPcrs();
  f.certificate = leaf_der_;
  f.cabundle = cabundle_;
  return f;
}

std::vector<uint8_t> TestPki::Sign(const PayloadFields& fields) const {
  const std::vector<uint8_t> payload = EncodePayload(fields);
  auto signed_doc = SignCoseSign1(payload, leaf_key());
  if (signed_doc.ok()) return *std::move(signed_doc);
  // A leaf key SignCoseSign1 refuses (a profile test): the verifier rejects
  // the leaf before it looks at the signature, so any 96 bytes will do.
  cbor::Writer w;
  w.ArrayHeader(4);
  const uint8_t es384[] = {0xa1, 0x01, 0x38, 0x22};
  w.Bytes(es384);
  w.MapHeader(0);
  w.Bytes(payload);
  w.Bytes(std::vector<uint8_t>(kEs384SignatureSize, 0x01));
  return w.Release();
}

}  // namespace veil::attestation::testing
