#include "fuzz/attestation_fuzzer.h"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/attestation/attestation_document.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/verifier.h"
#include "veil/common/cbor.h"

namespace veil::fuzz {
namespace {

using attestation::AttestationVerifier;
using attestation::VerifiedDocument;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "attestation_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

// The AWS Nitro Enclaves Root G1 (brief 1.4; published by AWS, SHA-256
// 641a0321...bb5b). Create checks the fingerprint, so a typo here fails
// loudly rather than fuzzing against the wrong root.
constexpr std::string_view kAwsRootPem = R"(-----BEGIN CERTIFICATE-----
MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
IwLz3/Y=
-----END CERTIFICATE-----
)";

std::unique_ptr<AttestationVerifier> MakeVerifier(size_t cache) {
  auto root = attestation::CertificateDerFromPem(kAwsRootPem);
  if (!root.ok()) Fail("the embedded AWS root does not parse");
  attestation::VerifierConfig config;
  config.tier = attestation::Tier::kProduction;
  config.roots = {*std::move(root)};
  config.chain_cache_capacity = cache;
  auto v = AttestationVerifier::Create(std::move(config));
  if (!v.ok()) Fail("the embedded AWS root is refused");
  return *std::move(v);
}

// Both verifiers are built once: the cached one keeps its cache across
// inputs, which is the state the differential check is about.
const AttestationVerifier& Cached() {
  static const AttestationVerifier* const v = MakeVerifier(64).release();
  return *v;
}
const AttestationVerifier& Uncached() {
  static const AttestationVerifier* const v = MakeVerifier(0).release();
  return *v;
}

bool Within(absl::Span<const uint8_t> inner, absl::Span<const uint8_t> outer) {
  return inner.empty() || (inner.data() >= outer.data() &&
                           inner.data() + inner.size() <= outer.data() + outer.size());
}

void CheckDocument(const attestation::AttestationDocument& doc, absl::Span<const uint8_t> input) {
  if (doc.module_id.empty() || doc.digest != "SHA384" || doc.timestamp_ms == 0) {
    Fail("parsed document breaks the scalar rules");
  }
  if (doc.pcrs.empty() || doc.pcrs.size() > attestation::kMaxPcrs) Fail("PCR count");
  for (const auto& [index, value] : doc.pcrs) {
    if (index < 0 || index > 31) Fail("PCR index");
    if (value.size() != 32 && value.size() != 48 && value.size() != 64) Fail("PCR size");
    if (!Within(value, input)) Fail("PCR value outside the input");
  }
  if (doc.certificate.empty() || doc.certificate.size() > attestation::kMaxCertificateSize ||
      !Within(doc.certificate, input)) {
    Fail("certificate");
  }
  if (doc.cabundle.empty() || doc.cabundle.size() > attestation::kMaxCabundle) Fail("cabundle");
  if (doc.nonce.has_value() && doc.nonce->size() > attestation::kMaxNonceSize) Fail("nonce");
  if (doc.user_data.has_value() && doc.user_data->size() > attestation::kMaxUserDataSize) {
    Fail("user_data");
  }
  if (doc.public_key.has_value() &&
      (doc.public_key->empty() || doc.public_key->size() > attestation::kMaxPublicKeySize)) {
    Fail("public_key");
  }
}

bool Same(const VerifiedDocument& a, const VerifiedDocument& b) {
  return a.module_id == b.module_id && a.timestamp_ms == b.timestamp_ms && a.pcrs == b.pcrs &&
         a.public_key == b.public_key && a.user_data == b.user_data && a.nonce == b.nonce &&
         a.debug == b.debug && a.mock == b.mock && a.root_sha256_hex == b.root_sha256_hex &&
         a.leaf_validity.not_before == b.leaf_validity.not_before &&
         a.leaf_validity.not_after == b.leaf_validity.not_after;
}

}  // namespace
}  // namespace veil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace a = veil::attestation;
  namespace f = veil::fuzz;
  const absl::Span<const uint8_t> input(data, size);

  if (auto v = veil::cbor::Decode(input); v.ok()) {
    if (v->encoded.size() != size || (size > 0 && v->encoded.data() != data)) {
      f::Fail("decoded item does not span the input");
    }
  }
  if (auto doc = a::ParseAttestationDocument(input); doc.ok()) f::CheckDocument(*doc, input);

  std::optional<a::AttestationDocument> parsed;
  if (auto cose = a::ParseCoseSign1(input); cose.ok()) {
    if (cose->signature.size() != a::kEs384SignatureSize || !f::Within(cose->payload, input) ||
        !f::Within(cose->protected_header, input)) {
      f::Fail("COSE_Sign1 spans");
    }
    if (auto doc = a::ParseAttestationDocument(cose->payload); doc.ok()) {
      f::CheckDocument(*doc, input);
      parsed = *doc;
    }
  }

  a::VerifyPolicy policy;
  policy.at = absl::FromUnixMillis(f::kFuzzVerificationTimeMs);
  policy.allow_debug = true;
  const auto cached = f::Cached().Verify(input, policy);
  const auto uncached = f::Uncached().Verify(input, policy);
  if (cached.ok() != uncached.ok()) f::Fail("cached and uncached verifiers disagree");
  if (cached.status().code() != uncached.status().code()) {
    f::Fail("cached and uncached verifiers fail differently");
  }
  if (cached.ok()) {
    if (!parsed.has_value()) f::Fail("verified a document the parsers refuse");
    if (!f::Same(*cached, *uncached)) f::Fail("cached and uncached results differ");
    if (cached->module_id != parsed->module_id ||
        cached->timestamp_ms != static_cast<int64_t>(parsed->timestamp_ms) ||
        cached->pcrs.size() != parsed->pcrs.size()) {
      f::Fail("verified contents differ from the parsed document");
    }
  }
  return 0;
}
