#include "veil/attestation/verifier.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "veil/attestation/attestation_document.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/attestation/mock_root.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/constant_time.h"
#include "veil/crypto/hash.h"

namespace veil::attestation {
namespace {

using internal::SslError;
using internal::SslPtr;

// Each failure names its check (docs/attestation.md lists them in order).
absl::Status Malformed(std::string_view check, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(std::string(check), ": ", std::string(what)));
}
absl::Status Unauthenticated(std::string_view check, std::string_view what) {
  return absl::UnauthenticatedError(absl::StrCat(std::string(check), ": ", std::string(what)));
}
absl::Status Denied(std::string_view check, std::string_view what) {
  return absl::PermissionDeniedError(absl::StrCat(std::string(check), ": ", std::string(what)));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// Fingerprint is the SHA-256 of a certificate's DER, as 32 raw bytes.
std::string Fingerprint(absl::Span<const uint8_t> der) {
  const std::vector<uint8_t> d = crypto::Digest(crypto::HashAlgorithm::kSha256, der);
  return std::string(d.begin(), d.end());
}

std::string FingerprintHex(const std::string& fingerprint) {
  return HexEncode(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(fingerprint.data()), fingerprint.size()));
}

// ParseCertificate parses exactly one DER certificate spanning `der`.
absl::StatusOr<SslPtr<X509>> ParseCertificate(absl::Span<const uint8_t> der,
                                              std::string_view name) {
  const uint8_t* p = der.data();
  SslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr || p != der.data() + der.size()) {
    ERR_clear_error();
    return Malformed("certificate", absl::StrCat(std::string(name), " is not one DER certificate"));
  }
  return cert;
}

absl::StatusOr<int64_t> UnixSeconds(const ASN1_TIME* t) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ERR_clear_error();
    return Malformed("certificate", "validity time does not parse");
  }
  const absl::Time time =
      absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                        tm.tm_min, tm.tm_sec),
                      absl::UTCTimeZone());
  return absl::ToUnixSeconds(time);
}

// CertInfo is a parsed certificate whose place in a verified chain is known.
// It is shared (immutable) between the cache and in-flight verifications.
struct CertInfo {
  std::shared_ptr<X509> cert;
  std::string fingerprint;
  std::string issuer_fingerprint;  // empty for a root
  bool leaf = false;
  // simple: none of the extensions that make X509_verify_cert look beyond
  // one link (name or policy constraints). Only below simple CAs may a new
  // leaf be checked by its link alone.
  bool simple = true;
  int64_t not_before = 0;  // unix seconds
  int64_t not_after = 0;
};

std::shared_ptr<X509> Share(SslPtr<X509> cert) {
  return std::shared_ptr<X509>(cert.release(), X509_free);
}

absl::StatusOr<std::shared_ptr<CertInfo>> MakeInfo(SslPtr<X509> cert, std::string fingerprint) {
  auto info = std::make_shared<CertInfo>();
  VEIL_ASSIGN_OR_RETURN(info->not_before, UnixSeconds(X509_get0_notBefore(cert.get())));
  VEIL_ASSIGN_OR_RETURN(info->not_after, UnixSeconds(X509_get0_notAfter(cert.get())));
  for (int nid : {NID_name_constraints, NID_policy_constraints, NID_policy_mappings,
                  NID_inhibit_any_policy}) {
    if (X509_get_ext_by_NID(cert.get(), nid, -1) >= 0) info->simple = false;
  }
  info->cert = Share(std::move(cert));
  info->fingerprint = std::move(fingerprint);
  return info;
}

// CheckValidity mirrors OpenSSL's check_cert_time: valid when
// notBefore <= t < notAfter (X509_cmp_time maps "equal" to "earlier").
absl::Status CheckValidity(const CertInfo& c, int64_t t, std::string_view name, absl::Time at) {
  if (c.not_before > t) {
    return Unauthenticated("certificate chain",
                           absl::StrCat("certificate is not yet valid (", std::string(name),
                                        ") at ", Rfc3339(at)));
  }
  if (c.not_after <= t) {
    return Unauthenticated("certificate chain",
                           absl::StrCat("certificate has expired (", std::string(name), ") at ",
                                        Rfc3339(at)));
  }
  return absl::OkStatus();
}

// ChainName names chain position `depth` as OpenSSL counts it (0 = leaf)
// for a cabundle of `n` entries.
std::string ChainName(int depth, size_t n) {
  if (depth <= 0) return "leaf";
  return absl::StrCat("cabundle[", static_cast<int64_t>(n) - depth, "]");
}

bool IsP384(EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[32];
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
    ERR_clear_error();
    return false;
  }
  return std::string_view(group, len) == SN_secp384r1;
}

// CheckCaAlgorithms requires ecdsa-with-SHA384 on the root and every
// intermediate (brief 1.3 step 9).
absl::Status CheckCaAlgorithms(X509* root, const std::vector<std::shared_ptr<CertInfo>>& inter) {
  constexpr std::string_view kCheck = "certificate profile";
  if (X509_get_signature_nid(root) != NID_ecdsa_with_SHA384) {
    return Unauthenticated(kCheck, "cabundle[0] is not signed with ecdsa-with-SHA384");
  }
  for (size_t i = 0; i < inter.size(); ++i) {
    if (X509_get_signature_nid(inter[i]->cert.get()) != NID_ecdsa_with_SHA384) {
      return Unauthenticated(
          kCheck, absl::StrCat("cabundle[", i + 1, "] is not signed with ecdsa-with-SHA384"));
    }
  }
  return absl::OkStatus();
}

// CheckLeafProfile applies the leaf rules X509_verify_cert does not: signed
// with ecdsa-with-SHA384, an EC P-384 key, CA:FALSE, digitalSignature; and
// the ones it does that the cached path must repeat (no invalid or
// unsupported critical extensions).
absl::Status CheckLeafProfile(X509* leaf) {
  constexpr std::string_view kCheck = "certificate profile";
  if (X509_get_signature_nid(leaf) != NID_ecdsa_with_SHA384) {
    return Unauthenticated(kCheck, "leaf is not signed with ecdsa-with-SHA384");
  }
  if (!IsP384(X509_get0_pubkey(leaf))) {
    return Unauthenticated(kCheck, "leaf key is not EC P-384");
  }
  const uint32_t flags = X509_get_extension_flags(leaf);
  if ((flags & EXFLAG_INVALID) != 0) {
    return Unauthenticated(kCheck, "leaf has invalid extensions");
  }
  if ((flags & EXFLAG_CRITICAL) != 0) {
    return Unauthenticated(kCheck, "leaf has an unsupported critical extension");
  }
  if ((flags & EXFLAG_BCONS) == 0 || (flags & EXFLAG_CA) != 0) {
    return Unauthenticated(kCheck, "leaf is not CA:FALSE");
  }
  if ((flags & EXFLAG_KUSAGE) == 0 || (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0) {
    return Unauthenticated(kCheck, "leaf lacks key usage digitalSignature");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kProduction:
      return "production";
    case Tier::kSimulated:
      return "simulated";
    case Tier::kLocal:
      return "local";
  }
  return "unknown";
}

bool IsAwsNitroRoot(absl::Span<const uint8_t> der) {
  return FingerprintHex(Fingerprint(der)) == kAwsNitroRootG1Sha256Hex;
}

absl::StatusOr<std::vector<uint8_t>> CertificateDerFromPem(std::string_view pem) {
  SslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  SslPtr<X509> cert;
  if (bio != nullptr) cert.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    ERR_clear_error();
    const auto der = absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(pem.data()),
                                               pem.size());
    auto parsed = ParseCertificate(der, "root");
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("root: not a PEM or DER certificate");
    }
    cert = *std::move(parsed);
  }
  const int len = i2d_X509(cert.get(), nullptr);
  if (len <= 0) return SslError(absl::StatusCode::kInvalidArgument, "root: i2d_X509");
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_X509(cert.get(), &p);
  return der;
}

struct PinnedRoot {
  std::shared_ptr<CertInfo> info;
  std::shared_ptr<X509_STORE> store;
  std::string fingerprint_hex;
  bool mock = false;
};

struct AttestationVerifier::State {
  Tier tier;
  std::vector<PinnedRoot> roots;
  std::shared_ptr<const Clock> clock;
  size_t capacity;

  struct Entry {
    std::shared_ptr<const CertInfo> info;
    uint64_t last_used;
  };
  mutable absl::Mutex mu;
  mutable std::unordered_map<std::string, Entry> cache ABSL_GUARDED_BY(mu);
  mutable uint64_t tick ABSL_GUARDED_BY(mu) = 0;
  mutable uint64_t hits ABSL_GUARDED_BY(mu) = 0;
  mutable uint64_t misses ABSL_GUARDED_BY(mu) = 0;
  mutable uint64_t leaf_hits ABSL_GUARDED_BY(mu) = 0;

  // CachedChain is what the cache knows about one document's chain.
  struct CachedChain {
    // found: every intermediate is cached, each linked to the certificate
    // before it, and either the leaf is cached too or no CA in the chain has
    // constraints (so a new leaf needs only its link checked).
    bool found = false;
    std::vector<std::shared_ptr<const CertInfo>> intermediates;
    // leaf: the leaf itself, when it was verified under the same issuer.
    std::shared_ptr<const CertInfo> leaf;
  };

  CachedChain Lookup(const std::vector<std::string>& bundle, const std::string& leaf_fp,
                     bool root_simple) const {
    CachedChain chain;
    absl::MutexLock lock(&mu);
    if (capacity == 0) {
      ++misses;
      return chain;
    }
    ++tick;
    chain.intermediates.reserve(bundle.size());
    for (size_t i = 1; i < bundle.size(); ++i) {
      auto it = cache.find(bundle[i]);
      if (it == cache.end() || it->second.info->leaf ||
          it->second.info->issuer_fingerprint != bundle[i - 1]) {
        ++misses;
        return CachedChain();
      }
      it->second.last_used = tick;
      chain.intermediates.push_back(it->second.info);
    }
    auto it = cache.find(leaf_fp);
    if (it != cache.end() && it->second.info->leaf &&
        it->second.info->issuer_fingerprint == bundle.back()) {
      it->second.last_used = tick;
      chain.leaf = it->second.info;
    }
    // With no intermediates nothing was cached but the leaf: a new leaf goes
    // through X509_verify_cert.
    bool simple = root_simple && bundle.size() > 1;
    for (const auto& c : chain.intermediates) simple = simple && c->simple;
    if (!simple && chain.leaf == nullptr) {
      ++misses;
      return CachedChain();
    }
    chain.found = true;
    ++hits;
    if (chain.leaf != nullptr) ++leaf_hits;
    return chain;
  }

  void Insert(const std::vector<std::shared_ptr<CertInfo>>& verified) const {
    if (capacity == 0) return;
    absl::MutexLock lock(&mu);
    ++tick;
    for (const auto& info : verified) {
      auto it = cache.find(info->fingerprint);
      if (it != cache.end()) {
        it->second = Entry{info, tick};
        continue;
      }
      if (cache.size() >= capacity) {
        auto oldest = cache.begin();
        for (auto c = cache.begin(); c != cache.end(); ++c) {
          if (c->second.last_used < oldest->second.last_used) oldest = c;
        }
        cache.erase(oldest);
      }
      cache.emplace(info->fingerprint, Entry{info, tick});
    }
  }
};

AttestationVerifier::AttestationVerifier(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
AttestationVerifier::~AttestationVerifier() = default;

Tier AttestationVerifier::tier() const { return state_->tier; }

ChainCacheStats AttestationVerifier::chain_cache_stats() const {
  absl::MutexLock lock(&state_->mu);
  return ChainCacheStats{state_->hits, state_->leaf_hits, state_->misses, state_->cache.size()};
}

absl::StatusOr<std::unique_ptr<AttestationVerifier>> AttestationVerifier::Create(
    VerifierConfig config) {
  auto state = std::make_unique<State>();
  state->tier = config.tier;
  state->clock = config.clock != nullptr ? std::move(config.clock) : SystemClock();
  state->capacity = config.chain_cache_capacity;

  std::vector<std::vector<uint8_t>> roots = std::move(config.roots);
  if (roots.empty() && config.tier != Tier::kLocal) {
    return Malformed("config", absl::StrCat("tier ", std::string(TierName(config.tier)),
                                            " needs at least one pinned root"));
  }
  if (config.tier == Tier::kLocal) {
    const auto mock = MockRootCertificateDer();
    roots.emplace_back(mock.begin(), mock.end());
  }
  for (const auto& der : roots) {
    VEIL_ASSIGN_OR_RETURN(SslPtr<X509> cert, ParseCertificate(der, "pinned root"));
    std::string fp = Fingerprint(der);
    const std::string fp_hex = FingerprintHex(fp);
    bool duplicate = false;
    for (const auto& r : state->roots) duplicate = duplicate || r.fingerprint_hex == fp_hex;
    if (duplicate) continue;

    char subject[512];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof(subject));
    const bool mock = fp_hex == kMockRootSha256Hex ||
                      std::string_view(subject).find(kMockRootSubjectMarker) != std::string::npos;
    if (mock && config.tier != Tier::kLocal) {
      return Malformed("config", absl::StrCat("the MOCK attestation root (sha256 ", fp_hex,
                                              ") is accepted only in tier local, not ",
                                              std::string(TierName(config.tier))));
    }
    if (config.tier == Tier::kProduction && fp_hex != kAwsNitroRootG1Sha256Hex) {
      return Malformed("config",
                       absl::StrCat("tier production pins only the AWS Nitro Enclaves Root G1 "
                                    "(sha256 ",
                                    kAwsNitroRootG1Sha256Hex, "), not sha256 ", fp_hex));
    }
    SslPtr<X509_STORE> store(X509_STORE_new());
    if (store == nullptr || X509_STORE_add_cert(store.get(), cert.get()) != 1) {
      return SslError(absl::StatusCode::kInternal, "config: X509_STORE");
    }
    PinnedRoot root;
    VEIL_ASSIGN_OR_RETURN(root.info, MakeInfo(std::move(cert), std::move(fp)));
    root.store = std::shared_ptr<X509_STORE>(store.release(), X509_STORE_free);
    root.fingerprint_hex = fp_hex;
    root.mock = mock;
    state->roots.push_back(std::move(root));
  }
  return std::unique_ptr<AttestationVerifier>(new AttestationVerifier(std::move(state)));
}

absl::StatusOr<VerifiedDocument> AttestationVerifier::Verify(absl::Span<const uint8_t> document,
                                                             const VerifyPolicy& policy) const {
  const State& s = *state_;
  const absl::Time at = policy.at.has_value() ? *policy.at : s.clock->Now();
  const int64_t at_seconds = absl::ToUnixSeconds(at);

  // 1-2. Envelope and payload (brief 1.3 steps 1-4).
  VEIL_ASSIGN_OR_RETURN(CoseSign1 cose, ParseCoseSign1(document));
  VEIL_ASSIGN_OR_RETURN(AttestationDocument doc, ParseAttestationDocument(cose.payload));
  const size_t n = doc.cabundle.size();

  // 3. Root pin (step 8): cabundle[0] must be a pinned root, byte for byte.
  std::vector<std::string> bundle_fps;
  bundle_fps.reserve(n);
  for (const auto& der : doc.cabundle) bundle_fps.push_back(Fingerprint(der));
  const std::string leaf_fp = Fingerprint(doc.certificate);
  const PinnedRoot* root = nullptr;
  for (const auto& r : s.roots) {
    if (r.info->fingerprint == bundle_fps[0]) root = &r;
  }
  if (root == nullptr) {
    return Unauthenticated("root", absl::StrCat("cabundle[0] (sha256 ", FingerprintHex(bundle_fps[0]),
                                                ") is not a pinned root"));
  }

  // 4. The chain: known from the cache, or parsed and profiled now.
  const State::CachedChain cached = s.Lookup(bundle_fps, leaf_fp, root->info->simple);
  std::vector<std::shared_ptr<CertInfo>> fresh;  // newly parsed [intermediates..., leaf]
  if (!cached.found) {
    for (size_t i = 1; i < n; ++i) {
      VEIL_ASSIGN_OR_RETURN(SslPtr<X509> cert,
                            ParseCertificate(doc.cabundle[i], absl::StrCat("cabundle[", i, "]")));
      VEIL_ASSIGN_OR_RETURN(auto info, MakeInfo(std::move(cert), bundle_fps[i]));
      info->issuer_fingerprint = bundle_fps[i - 1];
      fresh.push_back(std::move(info));
    }
    VEIL_RETURN_IF_ERROR(CheckCaAlgorithms(root->info->cert.get(), fresh));
  }
  std::shared_ptr<const CertInfo> leaf_info = cached.leaf;
  if (leaf_info == nullptr) {
    VEIL_ASSIGN_OR_RETURN(SslPtr<X509> leaf_cert, ParseCertificate(doc.certificate, "leaf"));
    VEIL_RETURN_IF_ERROR(CheckLeafProfile(leaf_cert.get()));
    VEIL_ASSIGN_OR_RETURN(auto info, MakeInfo(std::move(leaf_cert), leaf_fp));
    info->issuer_fingerprint = bundle_fps[n - 1];
    info->leaf = true;
    fresh.push_back(info);
    leaf_info = std::move(info);
  }
  X509* const leaf = leaf_info->cert.get();

  // 5. The COSE signature with the leaf key (steps 5-7).
  if (absl::Status sig = VerifyCoseSign1(cose, X509_get0_pubkey(leaf)); !sig.ok()) {
    if (sig.code() == absl::StatusCode::kUnauthenticated) {
      return Unauthenticated("signature", "COSE_Sign1 signature does not verify with the leaf key");
    }
    return sig;
  }

  // 6. The chain at the verification time (step 9).
  if (cached.found) {
    // The cached certificates' signatures and extensions were verified when
    // they entered the cache; validity depends on the time and is checked on
    // every call, top down as X509_verify_cert does.
    VEIL_RETURN_IF_ERROR(CheckValidity(*root->info, at_seconds, "cabundle[0]", at));
    for (size_t i = 0; i < cached.intermediates.size(); ++i) {
      VEIL_RETURN_IF_ERROR(CheckValidity(*cached.intermediates[i], at_seconds,
                                         absl::StrCat("cabundle[", i + 1, "]"), at));
    }
    if (cached.leaf == nullptr) {
      // A new leaf under a cached chain: check its one link.
      X509* issuer = cached.intermediates.back()->cert.get();
      const int issued = X509_check_issued(issuer, leaf);
      if (issued != X509_V_OK) {
        return Unauthenticated("certificate chain",
                               absl::StrCat(X509_verify_cert_error_string(issued),
                                            " (leaf) at ", Rfc3339(at)));
      }
      if (X509_verify(leaf, X509_get0_pubkey(issuer)) != 1) {
        ERR_clear_error();
        return Unauthenticated(
            "certificate chain",
            absl::StrCat(X509_verify_cert_error_string(X509_V_ERR_CERT_SIGNATURE_FAILURE),
                         " (leaf) at ", Rfc3339(at)));
      }
    }
    VEIL_RETURN_IF_ERROR(CheckValidity(*leaf_info, at_seconds, "leaf", at));
    if (cached.leaf == nullptr) s.Insert(fresh);
  } else {
    SslPtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
    if (untrusted == nullptr) return SslError(absl::StatusCode::kInternal, "chain: sk_X509_new");
    for (size_t i = 0; i + 1 < fresh.size(); ++i) {
      if (sk_X509_push(untrusted.get(), fresh[i]->cert.get()) <= 0) {
        return SslError(absl::StatusCode::kInternal, "chain: sk_X509_push");
      }
    }
    SslPtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
    if (ctx == nullptr ||
        X509_STORE_CTX_init(ctx.get(), root->store.get(), leaf, untrusted.get()) != 1) {
      return SslError(absl::StatusCode::kInternal, "chain: X509_STORE_CTX_init");
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
    // A fixed time (X509_V_FLAG_USE_CHECK_TIME) and no CRL flags: AWS does
    // not publish CRLs for this hierarchy.
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(at_seconds));
    X509_VERIFY_PARAM_set_depth(param, static_cast<int>(kMaxCabundle));
    if (X509_verify_cert(ctx.get()) != 1) {
      const int err = X509_STORE_CTX_get_error(ctx.get());
      const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
      ERR_clear_error();
      return Unauthenticated("certificate chain",
                             absl::StrCat(X509_verify_cert_error_string(err), " (",
                                          ChainName(depth, n), ") at ", Rfc3339(at)));
    }
    // The chain OpenSSL built must be exactly leaf, cabundle[n-1], ...,
    // cabundle[0]: no certificate skipped, none from elsewhere.
    STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
    bool exact = built != nullptr && static_cast<size_t>(sk_X509_num(built)) == n + 1;
    for (size_t k = 0; exact && k <= n; ++k) {
      X509* want = k == 0 ? leaf : k == n ? root->info->cert.get() : fresh[n - 1 - k]->cert.get();
      exact = X509_cmp(sk_X509_value(built, static_cast<int>(k)), want) == 0;
    }
    ERR_clear_error();
    if (!exact) {
      return Unauthenticated("certificate chain", "the verified chain is not the cabundle in order");
    }
    s.Insert(fresh);
  }

  // 7. The timestamp lies within the leaf's validity, and is fresh enough.
  const absl::Time timestamp = absl::FromUnixMillis(static_cast<int64_t>(doc.timestamp_ms));
  const CertificateValidity leaf_validity{absl::FromUnixSeconds(leaf_info->not_before),
                                          absl::FromUnixSeconds(leaf_info->not_after)};
  if (timestamp < leaf_validity.not_before || timestamp > leaf_validity.not_after) {
    return Unauthenticated(
        "timestamp", absl::StrCat(Rfc3339(timestamp), " is outside the leaf certificate's "
                                  "validity ", Rfc3339(leaf_validity.not_before), " .. ",
                                  Rfc3339(leaf_validity.not_after)));
  }
  if (policy.max_age.has_value()) {
    // Spec: nitro-attestation-nsm-kms.md#13-verification-procedure step 10.
    if (timestamp > at + policy.max_clock_skew) {
      return Unauthenticated("freshness",
                             absl::StrCat("timestamp ", Rfc3339(timestamp), " is after ",
                                          Rfc3339(at), " beyond the allowed clock skew"));
    }
    if (at - timestamp > *policy.max_age) {
      return Unauthenticated("freshness",
                             absl::StrCat("document is ", absl::FormatDuration(at - timestamp),
                                          " old, max_age is ",
                                          absl::FormatDuration(*policy.max_age)));
    }
  }

  // 8. Policy (step 11).
  const auto pcr0 = doc.pcrs.find(0);
  bool debug = pcr0 == doc.pcrs.end();
  if (!debug) {
    uint8_t any = 0;
    for (uint8_t b : pcr0->second) any |= b;
    debug = any == 0;
  }
  if (debug && !policy.allow_debug) {
    return Denied("debug", "the enclave runs in debug mode (PCR0 is zero) and debug is not allowed");
  }
  for (const auto& [index, want] : policy.expected_pcrs) {
    const auto got = doc.pcrs.find(index);
    if (got == doc.pcrs.end()) {
      return Denied("pcrs", absl::StrCat("PCR", index, " is not in the document"));
    }
    if (!crypto::ConstantTimeEquals(got->second, want)) {
      return Denied("pcrs", absl::StrCat("PCR", index, " does not match"));
    }
  }
  if (policy.expected_image_sha384.has_value() &&
      (pcr0 == doc.pcrs.end() ||
       !crypto::ConstantTimeEquals(pcr0->second, *policy.expected_image_sha384))) {
    return Denied("image", "PCR0 does not match the expected image SHA-384");
  }
  if (policy.expected_nonce.has_value()) {
    if (!doc.nonce.has_value()) return Denied("nonce", "the document has no nonce");
    if (!crypto::ConstantTimeEquals(*doc.nonce, *policy.expected_nonce)) {
      return Denied("nonce", "the nonce does not match");
    }
  }
  if (policy.require_public_key && !doc.public_key.has_value()) {
    return Denied("public_key", "the document has no public_key");
  }

  // Every check passed: release the contents.
  VerifiedDocument out;
  out.module_id = std::string(doc.module_id);
  out.timestamp_ms = static_cast<int64_t>(doc.timestamp_ms);
  out.timestamp = timestamp;
  out.digest = std::string(doc.digest);
  for (const auto& [index, value] : doc.pcrs) {
    out.pcrs.emplace(index, std::vector<uint8_t>(value.begin(), value.end()));
  }
  auto copy = [](const std::optional<absl::Span<const uint8_t>>& b) {
    return b.has_value() ? std::optional<std::vector<uint8_t>>(std::in_place, b->begin(), b->end())
                         : std::nullopt;
  };
  out.public_key = copy(doc.public_key);
  out.user_data = copy(doc.user_data);
  out.nonce = copy(doc.nonce);
  out.debug = debug;
  out.mock = root->mock;
  out.root_sha256_hex = root->fingerprint_hex;
  out.leaf_validity = leaf_validity;
  return out;
}

}  // namespace veil::attestation
