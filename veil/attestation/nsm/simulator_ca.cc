#include "veil/attestation/nsm/simulator_ca.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"

namespace veil::attestation::nsm {
namespace {

using internal::SslError;
using internal::SslPtr;

struct BioFree {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct NameFree {
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using NamePtr = std::unique_ptr<X509_NAME, NameFree>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, ExtensionFree>;

// The real Nitro leaf starts a few seconds before the document and lasts
// three hours (brief 0.7, fixtures' leaf validity).
constexpr absl::Duration kLeafBackdate = absl::Seconds(3);
constexpr absl::Duration kLeafLifetime = absl::Hours(3);
constexpr size_t kMaxCertificateDer = 1024;  // brief 1.2: each 1..1024 bytes

constexpr char kRootFile[] = "root";
constexpr const char* kIntermediateFiles[] = {"regional", "zonal", "instance"};

absl::Status Ssl(std::string_view what) { return SslError(absl::StatusCode::kInternal, what); }

absl::StatusOr<SslPtr<EVP_PKEY>> NewP384Key() {
  SslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  if (key == nullptr) return Ssl("generating a P-384 key");
  return key;
}

absl::StatusOr<std::string> RandomHex(size_t bytes) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> r, crypto::RandomBytes(bytes));
  return HexEncode(r);
}

// NameEntry is one RDN, in the order the real certificates list them.
struct NameEntry {
  const char* field;
  std::string value;
};

absl::StatusOr<NamePtr> MakeName(const std::vector<NameEntry>& entries) {
  NamePtr name(X509_NAME_new());
  if (name == nullptr) return Ssl("X509_NAME_new");
  for (const NameEntry& e : entries) {
    if (X509_NAME_add_entry_by_txt(name.get(), e.field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(e.value.data()),
                                   static_cast<int>(e.value.size()), -1, 0) != 1) {
      return SslError(absl::StatusCode::kInvalidArgument,
                      absl::StrCat("certificate name ", e.field, "=", e.value));
    }
  }
  return name;
}

absl::Status SetTime(ASN1_TIME* field, absl::Time t) {
  if (ASN1_TIME_set(field, absl::ToTimeT(t)) == nullptr) return Ssl("ASN1_TIME_set");
  return absl::OkStatus();
}

// Extension adds one extension in OpenSSL's config syntax, e.g.
// "critical,CA:TRUE,pathlen:2".
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Ssl(absl::StrCat("adding extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

enum class Level { kRoot, kRegional, kZonal, kInstance, kLeaf };

struct CertSpec {
  Level level;
  const std::vector<NameEntry>* subject;
  absl::Time not_before;
  absl::Time not_after;
};

// MakeCertificate builds and signs one certificate of the Nitro shape
// (brief 1.3 step 9): the extensions and their order follow the real chain.
// For the root, `issuer` and `issuer_key` are null and it signs itself.
absl::StatusOr<SslPtr<X509>> MakeCertificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                             X509* issuer, EVP_PKEY* issuer_key) {
  SslPtr<X509> cert(X509_new());
  if (cert == nullptr) return Ssl("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return Ssl("X509_set_version");

  // A random positive 128-bit serial, like the real ones.
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> serial, crypto::RandomBytes(16));
  serial[0] = static_cast<uint8_t>((serial[0] & 0x7F) | 0x01);
  SslPtr<BIGNUM> bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Ssl("setting the serial number");
  }

  VEIL_ASSIGN_OR_RETURN(NamePtr subject, MakeName(*spec.subject));
  if (X509_set_subject_name(cert.get(), subject.get()) != 1) return Ssl("X509_set_subject_name");
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : subject.get();
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1) return Ssl("X509_set_issuer_name");
  VEIL_RETURN_IF_ERROR(SetTime(X509_getm_notBefore(cert.get()), spec.not_before));
  VEIL_RETURN_IF_ERROR(SetTime(X509_getm_notAfter(cert.get()), spec.not_after));
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return Ssl("X509_set_pubkey");

  X509* ctx_issuer = issuer != nullptr ? issuer : cert.get();
  X509* c = cert.get();
  switch (spec.level) {
    case Level::kRoot:
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_basic_constraints, "critical,CA:TRUE"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_subject_key_identifier, "hash"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_key_usage,
                                        "critical,digitalSignature,keyCertSign,cRLSign"));
      break;
    case Level::kRegional:
    case Level::kZonal: {
      const char* bc = spec.level == Level::kRegional ? "critical,CA:TRUE,pathlen:2"
                                                      : "critical,CA:TRUE,pathlen:1";
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_basic_constraints, bc));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_authority_key_identifier, "keyid:always"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_subject_key_identifier, "hash"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_key_usage,
                                        "critical,digitalSignature,keyCertSign,cRLSign"));
      break;
    }
    case Level::kInstance:
      VEIL_RETURN_IF_ERROR(
          AddExtension(c, ctx_issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_key_usage, "critical,keyCertSign"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_subject_key_identifier, "hash"));
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_authority_key_identifier, "keyid:always"));
      break;
    case Level::kLeaf:
      VEIL_RETURN_IF_ERROR(AddExtension(c, ctx_issuer, NID_basic_constraints, "critical,CA:FALSE"));
      VEIL_RETURN_IF_ERROR(
          AddExtension(c, ctx_issuer, NID_key_usage, "digitalSignature,nonRepudiation"));
      break;
  }

  EVP_PKEY* signer = issuer_key != nullptr ? issuer_key : subject_key;
  if (X509_sign(c, signer, EVP_sha384()) <= 0) return Ssl("signing a certificate");
  return cert;
}

absl::StatusOr<std::vector<uint8_t>> Der(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  if (len <= 0) return Ssl("i2d_X509");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  if (i2d_X509(cert, &p) != len) return Ssl("i2d_X509");
  if (der.size() > kMaxCertificateDer) {
    return absl::InternalError(absl::StrCat("a simulator certificate is ", der.size(),
                                            " bytes; attestation documents allow at most ",
                                            kMaxCertificateDer));
  }
  return der;
}

bool IsP384(const EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[64];
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) return false;
  return std::string_view(group, len) == "secp384r1" || std::string_view(group, len) == "P-384";
}

// ---- files ------------------------------------------------------------

absl::StatusOr<std::string> ReadPublicFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string what = absl::StrCat("cannot read ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(what) : absl::InternalError(what);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("error reading ", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) {
      ::close(fd);
      return absl::InvalidArgumentError(absl::StrCat(path, " is too large for a certificate"));
    }
  }
  ::close(fd);
  return out;
}

// ReadSecretFile reads a private key file into wiping memory.
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string what = absl::StrCat("cannot read ", path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(what) : absl::InternalError(what);
  }
  constexpr size_t kMaxKeyFile = 16 * 1024;
  SecretBytes out(kMaxKeyFile);
  size_t used = 0;
  for (;;) {
    if (used == kMaxKeyFile) {
      ::close(fd);
      return absl::InvalidArgumentError(absl::StrCat(path, " is too large for a key"));
    }
    const ssize_t n = ::read(fd, out.MutableExpose().data() + used, kMaxKeyFile - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("error reading ", path));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  out.Resize(used);
  return out;
}

// WriteNewFile creates `path` with `mode` and writes `data`; an existing
// file is AlreadyExists and is left alone.
absl::Status WriteNewFile(const std::string& path, absl::Span<const uint8_t> data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    const int err = errno;
    const std::string what = absl::StrCat("cannot create ", path, ": ", std::strerror(err));
    return err == EEXIST ? absl::AlreadyExistsError(what) : absl::InternalError(what);
  }
  // The umask may have narrowed the mode; it must not have widened it, and a
  // key file must be exactly owner-only.
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("chmod ", path, ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("writing ", path, ": ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return absl::InternalError(absl::StrCat("closing ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) return Ssl("PEM_write_bio_X509");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

absl::StatusOr<SecretBytes> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Ssl("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
}

absl::StatusOr<SslPtr<X509>> ParseCertificatePem(const std::string& pem, const std::string& what) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return Ssl("BIO_new_mem_buf");
  SslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, absl::StrCat(what, " is not a PEM certificate"));
  }
  return cert;
}

// ParsePrivateKey accepts PKCS#8 (or any key OpenSSL reads) in PEM or DER.
absl::StatusOr<SslPtr<EVP_PKEY>> ParsePrivateKey(const SecretBytes& bytes, const std::string& what) {
  absl::Span<const uint8_t> b = bytes.Expose();
  SslPtr<EVP_PKEY> key;
  static constexpr char kPemStart[] = "-----BEGIN";
  if (b.size() >= sizeof(kPemStart) - 1 &&
      std::memcmp(b.data(), kPemStart, sizeof(kPemStart) - 1) == 0) {
    BioPtr bio(BIO_new_mem_buf(b.data(), static_cast<int>(b.size())));
    if (bio == nullptr) return Ssl("BIO_new_mem_buf");
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = b.data();
    key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(b.size())));
  }
  if (key == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, absl::StrCat(what, " is not a private key"));
  }
  if (!IsP384(key.get())) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a P-384 key"));
  }
  return key;
}

// CommonName returns the subject CN, or "" if there is none.
std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

absl::Status CheckOptions(const SimulatorCaOptions& o) {
  if (o.label.empty() || o.label.size() > 16 || o.label.find('.') != std::string::npos) {
    return absl::InvalidArgumentError("the CA label must be 1 to 16 characters without '.'");
  }
  if (o.region.empty() || o.region.size() > 8 || o.region.find('.') != std::string::npos) {
    return absl::InvalidArgumentError("the CA region must be 1 to 8 characters without '.'");
  }
  if (!o.instance_id.empty()) {
    bool ok = o.instance_id.size() == 19 && o.instance_id.rfind("i-", 0) == 0;
    for (size_t i = 2; ok && i < o.instance_id.size(); ++i) {
      const char c = o.instance_id[i];
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("instance id must be \"i-\" and 17 lowercase hex digits: ", o.instance_id));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// ---- LeafSigner ---------------------------------------------------------

struct LeafSigner::Key {
  SslPtr<EVP_PKEY> pkey;
};

LeafSigner::LeafSigner(std::vector<uint8_t> certificate_der, std::unique_ptr<Key> key)
    : certificate_der_(std::move(certificate_der)), key_(std::move(key)) {}
LeafSigner::~LeafSigner() = default;
LeafSigner::LeafSigner(LeafSigner&&) noexcept = default;
LeafSigner& LeafSigner::operator=(LeafSigner&&) noexcept = default;

absl::StatusOr<std::vector<uint8_t>> LeafSigner::Sign(absl::Span<const uint8_t> payload) const {
  return SignCoseSign1(payload, key_->pkey.get());
}

// ---- SimulatorCa --------------------------------------------------------

struct SimulatorCa::Chain {
  struct Link {
    SslPtr<X509> cert;
    SslPtr<EVP_PKEY> key;
    std::vector<uint8_t> der;
  };
  Link links[4];  // root, regional, zonal, instance
  // Serializes use of the CA keys; OpenSSL keys are safe to share, but leaf
  // issuance is rare enough that a lock costs nothing and removes any doubt.
  mutable absl::Mutex mu;
};

SimulatorCa::SimulatorCa(std::unique_ptr<Chain> chain, std::string label, std::string region,
                         std::string instance_id)
    : chain_(std::move(chain)),
      label_(std::move(label)),
      region_(std::move(region)),
      instance_id_(std::move(instance_id)) {}

SimulatorCa::~SimulatorCa() = default;

namespace {

// Subjects of the chain, shaped like the real ones (brief 1.4), with the
// label in every common name and "Veil" as the organization.
std::vector<NameEntry> RootSubject(const std::string& label) {
  return {{"C", "US"}, {"O", "Veil"}, {"OU", label}, {"CN", absl::StrCat(label, ".aws.nitro-enclaves")}};
}

}  // namespace

absl::StatusOr<std::unique_ptr<SimulatorCa>> SimulatorCa::Generate(
    const SimulatorCaOptions& options) {
  VEIL_RETURN_IF_ERROR(CheckOptions(options));
  VEIL_ASSIGN_OR_RETURN(SslPtr<EVP_PKEY> root_key, NewP384Key());
  const std::vector<NameEntry> subject = RootSubject(options.label);
  const CertSpec spec{Level::kRoot, &subject, options.now - absl::Minutes(1),
                      options.now + absl::Hours(24 * 365 * 30)};
  VEIL_ASSIGN_OR_RETURN(SslPtr<X509> root, MakeCertificate(spec, root_key.get(), nullptr, nullptr));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> root_der, Der(root.get()));
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr || i2d_PKCS8PrivateKey_bio(bio.get(), root_key.get(), nullptr, nullptr, 0,
                                                nullptr, nullptr) != 1) {
    return Ssl("encoding the root key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  const SecretBytes pkcs8 = SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
  return GenerateUnderRoot(root_der, pkcs8, options);
}

absl::StatusOr<std::unique_ptr<SimulatorCa>> SimulatorCa::GenerateUnderRoot(
    absl::Span<const uint8_t> root_der, const SecretBytes& root_key_pkcs8,
    const SimulatorCaOptions& options) {
  VEIL_RETURN_IF_ERROR(CheckOptions(options));
  auto chain = std::make_unique<Chain>();
  Chain::Link& root = chain->links[0];
  const unsigned char* p = root_der.data();
  root.cert.reset(d2i_X509(nullptr, &p, static_cast<long>(root_der.size())));
  if (root.cert == nullptr || p != root_der.data() + root_der.size()) {
    return SslError(absl::StatusCode::kInvalidArgument, "the root is not one DER certificate");
  }
  root.der.assign(root_der.begin(), root_der.end());
  VEIL_ASSIGN_OR_RETURN(root.key, ParsePrivateKey(root_key_pkcs8, "the root key"));
  if (X509_check_private_key(root.cert.get(), root.key.get()) != 1) {
    return SslError(absl::StatusCode::kInvalidArgument, "the root key does not match the root");
  }

  std::string instance_id = options.instance_id;
  if (instance_id.empty()) {
    VEIL_ASSIGN_OR_RETURN(std::string hex, RandomHex(9));
    instance_id = absl::StrCat("i-", hex.substr(0, 17));
  }
  VEIL_ASSIGN_OR_RETURN(std::string regional_id, RandomHex(8));
  VEIL_ASSIGN_OR_RETURN(std::string zonal_id, RandomHex(8));
  const std::string& label = options.label;
  const std::string& region = options.region;
  const std::string suffix = absl::StrCat(region, ".", label, ".aws.nitro-enclaves");
  const std::vector<NameEntry> subjects[3] = {
      {{"C", "US"}, {"O", "Veil"}, {"OU", label}, {"CN", absl::StrCat(regional_id, ".", suffix)}},
      {{"CN", absl::StrCat(zonal_id, ".zonal.", suffix)},
       {"OU", label},
       {"O", "Veil"},
       {"C", "US"},
       {"ST", "WA"},
       {"L", "Seattle"}},
      {{"C", "US"},
       {"ST", "Washington"},
       {"L", "Seattle"},
       {"O", "Veil"},
       {"OU", label},
       {"CN", absl::StrCat(instance_id, ".", suffix)}},
  };
  const absl::Duration lifetimes[3] = {absl::Hours(24 * 365 * 5), absl::Hours(24 * 365 * 2),
                                       absl::Hours(24 * 365)};
  const Level levels[3] = {Level::kRegional, Level::kZonal, Level::kInstance};
  for (int i = 0; i < 3; ++i) {
    Chain::Link& link = chain->links[i + 1];
    const Chain::Link& issuer = chain->links[i];
    VEIL_ASSIGN_OR_RETURN(link.key, NewP384Key());
    const CertSpec spec{levels[i], &subjects[i], options.now - absl::Minutes(1),
                        options.now + lifetimes[i]};
    VEIL_ASSIGN_OR_RETURN(link.cert,
                          MakeCertificate(spec, link.key.get(), issuer.cert.get(), issuer.key.get()));
    VEIL_ASSIGN_OR_RETURN(link.der, Der(link.cert.get()));
  }
  return std::unique_ptr<SimulatorCa>(
      new SimulatorCa(std::move(chain), label, region, std::move(instance_id)));
}

absl::Status SimulatorCa::Save(const std::string& dir) const {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
  }
  const char* names[4] = {kRootFile, kIntermediateFiles[0], kIntermediateFiles[1],
                          kIntermediateFiles[2]};
  // Refuse before writing anything, so a second run cannot leave a mix of
  // two CAs behind.
  for (const char* name : names) {
    for (const char* ext : {".pem", ".key"}) {
      const std::string path = absl::StrCat(dir, "/", name, ext);
      if (::access(path.c_str(), F_OK) == 0) {
        return absl::AlreadyExistsError(
            absl::StrCat(path, " exists; a simulator CA is never overwritten"));
      }
    }
  }
  absl::MutexLock lock(&chain_->mu);
  for (int i = 0; i < 4; ++i) {
    const Chain::Link& link = chain_->links[i];
    VEIL_ASSIGN_OR_RETURN(SecretBytes key_pem, PrivateKeyPem(link.key.get()));
    VEIL_RETURN_IF_ERROR(WriteNewFile(absl::StrCat(dir, "/", names[i], ".key"), key_pem.Expose(), 0600));
    VEIL_ASSIGN_OR_RETURN(std::string cert_pem, CertificatePem(link.cert.get()));
    VEIL_RETURN_IF_ERROR(WriteNewFile(
        absl::StrCat(dir, "/", names[i], ".pem"),
        absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(cert_pem.data()), cert_pem.size()),
        0644));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SimulatorCa>> SimulatorCa::Load(const std::string& dir,
                                                               absl::Time now) {
  auto chain = std::make_unique<Chain>();
  const char* names[4] = {kRootFile, kIntermediateFiles[0], kIntermediateFiles[1],
                          kIntermediateFiles[2]};
  time_t now_t = absl::ToTimeT(now);
  for (int i = 0; i < 4; ++i) {
    Chain::Link& link = chain->links[i];
    const std::string cert_path = absl::StrCat(dir, "/", names[i], ".pem");
    const std::string key_path = absl::StrCat(dir, "/", names[i], ".key");
    VEIL_ASSIGN_OR_RETURN(std::string pem, ReadPublicFile(cert_path));
    VEIL_ASSIGN_OR_RETURN(link.cert, ParseCertificatePem(pem, cert_path));
    VEIL_ASSIGN_OR_RETURN(SecretBytes key_bytes, ReadSecretFile(key_path));
    VEIL_ASSIGN_OR_RETURN(link.key, ParsePrivateKey(key_bytes, key_path));
    if (X509_check_private_key(link.cert.get(), link.key.get()) != 1) {
      return SslError(absl::StatusCode::kInvalidArgument,
                      absl::StrCat(key_path, " is not the key of ", cert_path));
    }
    const Chain::Link& issuer = i == 0 ? link : chain->links[i - 1];
    SslPtr<EVP_PKEY> issuer_public(X509_get_pubkey(issuer.cert.get()));
    if (issuer_public == nullptr || X509_verify(link.cert.get(), issuer_public.get()) != 1 ||
        X509_NAME_cmp(X509_get_issuer_name(link.cert.get()),
                      X509_get_subject_name(issuer.cert.get())) != 0) {
      return SslError(absl::StatusCode::kInvalidArgument,
                      absl::StrCat(cert_path, " is not issued by ", names[i == 0 ? 0 : i - 1], ".pem"));
    }
    if (X509_cmp_time(X509_get0_notAfter(link.cert.get()), &now_t) < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(cert_path, " has expired; make a new simulator CA (veil attest simulate-ca)"));
    }
    VEIL_ASSIGN_OR_RETURN(link.der, Der(link.cert.get()));
  }
  // The instance intermediate is "<instance-id>.<region>.<label>.aws.nitro-enclaves".
  const std::vector<std::string> parts = absl::StrSplit(CommonName(chain->links[3].cert.get()), '.');
  if (parts.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, "/instance.pem does not name <instance-id>.<region>.<label>"));
  }
  return std::unique_ptr<SimulatorCa>(new SimulatorCa(std::move(chain), parts[2], parts[1], parts[0]));
}

const std::vector<uint8_t>& SimulatorCa::RootDer() const { return chain_->links[0].der; }

std::string SimulatorCa::RootPem() const {
  absl::MutexLock lock(&chain_->mu);
  absl::StatusOr<std::string> pem = CertificatePem(chain_->links[0].cert.get());
  return pem.ok() ? *pem : std::string();
}

std::vector<std::vector<uint8_t>> SimulatorCa::CaBundle() const {
  return {chain_->links[0].der, chain_->links[1].der, chain_->links[2].der, chain_->links[3].der};
}

absl::StatusOr<LeafSigner> SimulatorCa::IssueLeaf(std::string_view module_id,
                                                  absl::Time timestamp) const {
  if (module_id.empty() || module_id.size() > 48) {
    return absl::InvalidArgumentError("module_id must be 1 to 48 characters");
  }
  // Whole seconds, as in the certificates: the real leaf's notAfter is the
  // document's second plus three hours.
  const absl::Time second = absl::FromTimeT(absl::ToTimeT(timestamp));
  const std::vector<NameEntry> subject = {
      {"C", "US"},       {"ST", "Washington"}, {"L", "Seattle"},
      {"O", "Veil"},     {"OU", label_},
      {"CN", absl::StrCat(std::string(module_id), ".", region_, ".", label_, ".aws")}};
  const CertSpec spec{Level::kLeaf, &subject, second - kLeafBackdate, second + kLeafLifetime};
  auto key = std::make_unique<LeafSigner::Key>();
  VEIL_ASSIGN_OR_RETURN(key->pkey, NewP384Key());
  SslPtr<X509> cert;
  {
    absl::MutexLock lock(&chain_->mu);
    const Chain::Link& issuer = chain_->links[3];
    VEIL_ASSIGN_OR_RETURN(cert, MakeCertificate(spec, key->pkey.get(), issuer.cert.get(),
                                                issuer.key.get()));
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> der, Der(cert.get()));
  return LeafSigner(std::move(der), std::move(key));
}

}  // namespace veil::attestation::nsm
