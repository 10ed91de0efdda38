// Attestation verification latency against its floor.
//
//   BM_P384Verify          the floor: one ECDSA P-384 / SHA-384 verification
//       of doc1's COSE signature over its 4,694-byte Sig_structure with
//       veil::crypto (key from the leaf's SubjectPublicKeyInfo, DER
//       signature), i.e. what every verification must do at least once.
//   BM_P384KeyParse        the SubjectPublicKeyInfo decoding inside
//       BM_P384Verify; BM_P384Verify minus this is the bare verification.
//   BM_ParseDocument       ParseCoseSign1 + ParseAttestationDocument of doc1.
//   BM_VerifyCachedDocument  Verify of doc1 by a verifier that has seen it:
//       intermediates and leaf come from the chain cache; the COSE signature
//       and every validity period are still checked.
//   BM_VerifyCachedChainNewLeaf  Verify of documents from one simulated
//       enclave (SimulatedNsm: same intermediates, a fresh leaf per document,
//       as real NSMs do): the leaf link and the COSE signature.
//   BM_VerifyCold          Create a verifier, then Verify doc1: the whole chain
//       (three intermediates and the leaf) through X509_verify_cert, plus the
//       COSE signature.
//
// Targets (docs/attestation.md): cached <= 1.5 x (P384Verify + ParseDocument);
// cold <= (chain length 4 + 1) x P384Verify x 1.2. The real documents are
// read from $VEIL_SHARED_DIR/testdata/nitro (else the shared directory
// configured at build time); without them the benchmarks report an error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/attestation_document.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/attestation/verifier.h"
#include "veil/common/encoding.h"
#include "veil/crypto/ecdsa.h"

namespace veil::attestation {
namespace {

// Fixtures is doc1, the AWS root and what the floor needs, read once.
struct Fixtures {
  std::vector<uint8_t> doc1;
  std::vector<uint8_t> aws_root;
  int64_t timestamp_ms = 0;
  std::vector<uint8_t> leaf_spki;
  std::vector<uint8_t> signature_der;
  std::vector<uint8_t> sig_structure;
};

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const Fixtures* LoadFixtures() {
  static const Fixtures* const fixtures = []() -> const Fixtures* {
    const char* env = std::getenv("VEIL_SHARED_DIR");
    const std::string dir =
        std::string(env != nullptr && *env != '\0' ? env : VEIL_SHARED_DIR_DEFAULT) +
        "/testdata/nitro/";
    const auto doc = ReadText(dir + "doc1-eu-central-1-2025-01-06.cbor");
    const auto root = ReadText(dir + "aws-nitro-enclaves-root-g1.pem");
    const auto expected = ReadText(dir + "expected.json");
    if (!doc || !root || !expected) return nullptr;
    const auto json = nlohmann::json::parse(*expected, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return nullptr;
    const auto& e = json["documents"][0];
    auto* f = new Fixtures;
    f->doc1.assign(doc->begin(), doc->end());
    f->aws_root = CertificateDerFromPem(*root).value();
    f->timestamp_ms = e["timestamp_ms"].get<int64_t>();
    f->leaf_spki = HexDecode(e["leaf_spki_der_hex"].get<std::string>()).value();
    f->signature_der = HexDecode(e["signature_der_hex"].get<std::string>()).value();
    const CoseSign1 cose = ParseCoseSign1(f->doc1).value();
    f->sig_structure = CoseSign1SigStructure(cose.protected_header, cose.payload);
    return f;
  }();
  return fixtures;
}

std::unique_ptr<AttestationVerifier> MakeVerifier(Tier tier, std::vector<uint8_t> root) {
  VerifierConfig config;
  config.tier = tier;
  config.roots = {std::move(root)};
  auto v = AttestationVerifier::Create(std::move(config));
  if (!v.ok()) {
    std::fprintf(stderr, "attestation_benchmark: %s\n", v.status().ToString().c_str());
    std::abort();
  }
  return *std::move(v);
}

VerifyPolicy AtDoc1(const Fixtures& f) {
  VerifyPolicy p;
  p.at = absl::FromUnixMillis(f.timestamp_ms);
  return p;
}

#define VEIL_REQUIRE_FIXTURES(state, f)                                              \
  const Fixtures* f = LoadFixtures();                                                \
  if (f == nullptr) {                                                                \
    state.SkipWithError("shared test data not found (set VEIL_SHARED_DIR)");         \
    return;                                                                          \
  }

void BM_P384Verify(benchmark::State& state) {
  VEIL_REQUIRE_FIXTURES(state, f);
  for (auto _ : state) {
    auto verifier = crypto::EcdsaVerifier::FromSpkiDer(crypto::EcCurve::kP384, f->leaf_spki);
    if (!verifier.ok() || !(*verifier)->Update(f->sig_structure).ok() ||
        !(*verifier)->Finish(f->signature_der).ok()) {
      state.SkipWithError("P-384 verification failed");
      return;
    }
  }
}

// BM_P384KeyParse is the part of BM_P384Verify that is not the verification
// (SubjectPublicKeyInfo to an OpenSSL key), so the floor can be stated both
// ways.
void BM_P384KeyParse(benchmark::State& state) {
  VEIL_REQUIRE_FIXTURES(state, f);
  for (auto _ : state) {
    auto verifier = crypto::EcdsaVerifier::FromSpkiDer(crypto::EcCurve::kP384, f->leaf_spki);
    benchmark::DoNotOptimize(verifier);
  }
}

void BM_ParseDocument(benchmark::State& state) {
  VEIL_REQUIRE_FIXTURES(state, f);
  for (auto _ : state) {
    auto cose = ParseCoseSign1(f->doc1);
    auto doc = ParseAttestationDocument(cose->payload);
    benchmark::DoNotOptimize(doc);
  }
}

void BM_VerifyCachedDocument(benchmark::State& state) {
  VEIL_REQUIRE_FIXTURES(state, f);
  auto verifier = MakeVerifier(Tier::kProduction, f->aws_root);
  const VerifyPolicy policy = AtDoc1(*f);
  if (!verifier->Verify(f->doc1, policy).ok()) {
    state.SkipWithError("doc1 does not verify");
    return;
  }
  for (auto _ : state) {
    auto v = verifier->Verify(f->doc1, policy);
    if (!v.ok()) {
      state.SkipWithError("doc1 does not verify");
      return;
    }
  }
  const ChainCacheStats stats = verifier->chain_cache_stats();
  state.counters["leaf_hit_rate"] =
      static_cast<double>(stats.leaf_hits) / static_cast<double>(stats.hits + stats.misses);
}

void BM_VerifyCachedChainNewLeaf(benchmark::State& state) {
  // One simulated enclave; more documents than cache entries so that no
  // leaf is ever found cached, while the intermediates (used every call)
  // stay.
  constexpr int kDocuments = 512;
  static const auto* const setup = [] {
    auto ca = std::shared_ptr<const nsm::SimulatorCa>(nsm::SimulatorCa::Generate().value());
    nsm::SimulatedNsmOptions o;
    o.image.pcr0.fill(0x11);
    auto device = nsm::SimulatedNsm::Create(ca, o).value();
    auto* docs = new std::pair<std::vector<uint8_t>, std::vector<std::vector<uint8_t>>>();
    docs->first = ca->RootDer();
    for (int i = 0; i < kDocuments; ++i) {
      docs->second.push_back(
          device->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt).value());
    }
    return docs;
  }();
  VerifierConfig config;
  config.tier = Tier::kSimulated;
  config.roots = {setup->first};
  config.chain_cache_capacity = 64;
  auto verifier = AttestationVerifier::Create(std::move(config)).value();
  const VerifyPolicy policy;  // the documents were made now
  if (!verifier->Verify(setup->second[0], policy).ok()) {
    state.SkipWithError("simulated document does not verify");
    return;
  }
  size_t i = 1;
  for (auto _ : state) {
    auto v = verifier->Verify(setup->second[i++ % setup->second.size()], policy);
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
  }
  const ChainCacheStats stats = verifier->chain_cache_stats();
  state.counters["chain_hit_rate"] =
      static_cast<double>(stats.hits) / static_cast<double>(stats.hits + stats.misses);
  state.counters["leaf_hit_rate"] =
      static_cast<double>(stats.leaf_hits) / static_cast<double>(stats.hits + stats.misses);
}

void BM_VerifyCold(benchmark::State& state) {
  VEIL_REQUIRE_FIXTURES(state, f);
  const VerifyPolicy policy = AtDoc1(*f);
  for (auto _ : state) {
    auto verifier = MakeVerifier(Tier::kProduction, f->aws_root);
    auto v = verifier->Verify(f->doc1, policy);
    if (!v.ok()) {
      state.SkipWithError("doc1 does not verify");
      return;
    }
  }
}

BENCHMARK(BM_P384Verify)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_P384KeyParse)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseDocument)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyCachedDocument)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyCachedChainNewLeaf)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_VerifyCold)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace veil::attestation

BENCHMARK_MAIN();
