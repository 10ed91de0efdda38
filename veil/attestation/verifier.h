// AttestationVerifier: verifies a Nitro attestation document (COSE_Sign1,
// ES384) against pinned roots at a chosen time, then applies a policy (PCRs,
// nonce, debug mode). Spec: nitro-attestation-nsm-kms.md section 1.3; the
// order of checks is documented in docs/attestation.md.
#ifndef VEIL_ATTESTATION_VERIFIER_H_
#define VEIL_ATTESTATION_VERIFIER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/attestation/clock.h"

namespace veil::attestation {

// kAwsNitroRootG1Sha256Hex is the SHA-256 of the DER of the AWS Nitro
// Enclaves Root G1, as AWS publishes it (brief 1.4).
inline constexpr char kAwsNitroRootG1Sha256Hex[] =
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

// Tier says which roots a verifier may pin (STYLE.md C12).
enum class Tier {
  // kProduction pins only the AWS Nitro Enclaves Root G1.
  kProduction,
  // kSimulated pins the roots given (e.g. a simulator CA), never the MOCK
  // root of mock_root.h.
  kSimulated,
  // kLocal pins the roots given and, in addition, the published MOCK root;
  // documents chained to it come back with `mock = true`.
  kLocal,
};

// TierName returns "production", "simulated" or "local".
std::string_view TierName(Tier tier);

// VerifierConfig is everything a verifier is built from.
struct VerifierConfig {
  Tier tier = Tier::kProduction;
  // roots are DER certificates, pinned by the SHA-256 of their DER: a
  // document verifies only if its cabundle[0] is byte-identical to one.
  std::vector<std::vector<uint8_t>> roots;
  // clock gives the verification time when a policy has no `at`;
  // SystemClock() when null.
  std::shared_ptr<const Clock> clock;
  // chain_cache_capacity bounds the certificates whose chain to a pinned
  // root has been verified (intermediates and leaves); 0 disables the cache.
  size_t chain_cache_capacity = 256;
};

// VerifyPolicy is what a caller requires of one document beyond
// authenticity.
struct VerifyPolicy {
  // at is the verification time (certificate validity, freshness); the
  // verifier's clock when unset.
  std::optional<absl::Time> at;
  // max_age, when set, requires (verification time - timestamp) <= max_age,
  // and the timestamp to be no later than the verification time plus
  // `max_clock_skew`.
  std::optional<absl::Duration> max_age;
  absl::Duration max_clock_skew = absl::Seconds(60);
  // expected_pcrs: each listed PCR must be in the document with exactly this
  // value (compared in constant time).
  std::map<int, std::vector<uint8_t>> expected_pcrs;
  // expected_image_sha384, when set, must equal PCR0 (the enclave image).
  std::optional<std::vector<uint8_t>> expected_image_sha384;
  // expected_nonce, when set, must equal the document's nonce.
  std::optional<std::vector<uint8_t>> expected_nonce;
  // allow_debug accepts debug-mode enclaves (PCR0 all zero); refused
  // otherwise, since a debug enclave's memory is open to its parent.
  bool allow_debug = false;
  // require_public_key requires the document to carry a public_key.
  bool require_public_key = false;
};

// CertificateValidity is a certificate's notBefore and notAfter.
struct CertificateValidity {
  absl::Time not_before;
  absl::Time not_after;
};

// VerifiedDocument is what a document says, released only after every check
// passed.
struct VerifiedDocument {
  std::string module_id;
  int64_t timestamp_ms = 0;
  absl::Time timestamp;
  std::string digest;  // "SHA384"
  std::map<int, std::vector<uint8_t>> pcrs;
  std::optional<std::vector<uint8_t>> public_key;
  std::optional<std::vector<uint8_t>> user_data;
  std::optional<std::vector<uint8_t>> nonce;
  // debug: PCR0 is all zero (the enclave runs in debug mode).
  bool debug = false;
  // mock: the chain ends at the published MOCK root (tier kLocal only); such
  // a document proves nothing.
  bool mock = false;
  // root_sha256_hex names the pinned root the chain ends at.
  std::string root_sha256_hex;
  CertificateValidity leaf_validity;
};

// ChainCacheStats counts chain-cache use since the verifier was created.
struct ChainCacheStats {
  uint64_t hits = 0;       // documents whose intermediates were all found verified
  uint64_t leaf_hits = 0;  // ... whose leaf was found verified as well
  uint64_t misses = 0;     // documents whose chain went through X509_verify_cert
  size_t entries = 0;      // certificates cached now
};

// AttestationVerifier verifies attestation documents. Thread-safe: Verify
// may be called concurrently.
//
// Chain cache: once a chain has verified, its intermediates and leaf are
// remembered by SHA-256 fingerprint together with their issuer's
// fingerprint. A later document from the same enclave (same intermediates;
// real NSMs issue a fresh leaf for each document) then costs the leaf link
// and the COSE signature; the same document again costs the COSE signature
// only. Validity periods are checked at the verification time on every
// call, and the COSE signature is always verified. Intermediates with name
// or policy constraints are never used to shortcut a new leaf.
class AttestationVerifier {
 public:
  // Create checks and pins `config.roots`. InvalidArgument when a root does
  // not parse; when the tier is kProduction and a root is not the AWS Nitro
  // Enclaves Root G1 (or no root is given); when the MOCK root (or a root
  // whose subject carries kMockRootSubjectMarker) is given outside kLocal;
  // when kSimulated has no roots.
  static absl::StatusOr<std::unique_ptr<AttestationVerifier>> Create(VerifierConfig config);
  ~AttestationVerifier();
  AttestationVerifier(const AttestationVerifier&) = delete;
  AttestationVerifier& operator=(const AttestationVerifier&) = delete;

  // Verify checks `document` and applies `policy`. On success it returns the
  // document's contents; on failure nothing of the document is returned and
  // the message names the check that failed:
  //   InvalidArgument   malformed envelope, payload or certificate DER;
  //   Unauthenticated   root not pinned, certificate profile, COSE
  //                     signature, certificate chain or validity at the
  //                     verification time, timestamp outside the leaf's
  //                     validity, freshness (max_age);
  //   PermissionDenied  debug mode not allowed, PCR, image, nonce or
  //                     public-key policy not met.
  absl::StatusOr<VerifiedDocument> Verify(absl::Span<const uint8_t> document,
                                          const VerifyPolicy& policy) const;

  // tier returns the configured tier.
  Tier tier() const;
  // chain_cache_stats returns the cache counters.
  ChainCacheStats chain_cache_stats() const;

 private:
  struct State;
  explicit AttestationVerifier(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// CertificateDerFromPem returns the DER of the first certificate in `pem`
// (or `pem` itself if it already is one DER certificate). InvalidArgument if
// neither parses.
absl::StatusOr<std::vector<uint8_t>> CertificateDerFromPem(std::string_view pem);

// IsAwsNitroRoot says whether `der` is the AWS Nitro Enclaves Root G1.
bool IsAwsNitroRoot(absl::Span<const uint8_t> der);

}  // namespace veil::attestation

#endif  // VEIL_ATTESTATION_VERIFIER_H_
