// The cryptographic floor of one confidential inference request: each
// operation a request cannot avoid, measured alone on this machine.
// bench/confidential.sh sums them per request and compares the sum with the
// latency the confidential path adds to plaintext inference.
//
//   BM_ImageEncrypt/<suite>   ESDK encrypt of the image (dog.jpg, ~160 KB) with
//       a raw AES-256 keyring: 0x0478 (committing, unsigned) and 0x0578
//       (committing, ECDSA P-384 signature; the client's request default).
//   BM_ImageDecrypt/<suite>   ESDK decrypt of that message (for 0x0578 this
//       includes the signature verification).
//   BM_ResultEncrypt / BM_ResultDecrypt   a result JSON (~0.7 KB, four
//       detections) with 0x0478
//       (the enclave's result suite, veil/enclave/pipeline.h).
//   BM_RecipientUnwrap   crypto::DecryptEnvelopedData of an
//       EncryptForRecipient output holding a 32-byte key, RSA-2048
//       RSAES-OAEP-SHA-256 + AES-256-CBC: what the enclave does with every
//       CiphertextForRecipient (request Decrypt, result GenerateDataKey).
//   BM_AttestationVerifyCachedChain   AttestationVerifier::Verify of
//       simulated documents (a fresh leaf each, as the NSM makes them, with a
//       nonce and an RSA-2048 public key like the enclave's) by a verifier
//       whose chain cache already holds the intermediates.
//   BM_AttestationVerifyCold   the same with the chain cache disabled and a
//       new verifier per document: what `veil infer` does once per session.
//
// The raw AES keyring stands for the KMS keyring's local work: the KMS round
// trips are not crypto and are counted separately (KMS calls per request).
// The attestation document is generated NSM-side and is not in the floor.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/attestation/verifier.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/random.h"
#include "veil/crypto/rsa.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"

namespace veil {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

const std::vector<uint8_t>& Image() {
  static const std::vector<uint8_t> bytes = [] {
    const std::string shared = Env("VEIL_SHARED_DIR", VEIL_SHARED_DIR_DEFAULT);
    std::ifstream in(Env("VEIL_BENCH_IMAGE", shared + "/testdata/images/dog.jpg"),
                     std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }();
  return bytes;
}

// ResultJson is a result document of the shape and size the enclave returns
// (four detections; about 0.7 KB).
const std::vector<uint8_t>& ResultJson() {
  static const std::vector<uint8_t> bytes = [] {
    nlohmann::json dets = nlohmann::json::array();
    const char* labels[] = {"dog", "bicycle", "truck", "car"};
    for (int i = 0; i < 4; ++i) {
      dets.push_back({{"label", labels[i]},
                      {"class_id", 16 + i},
                      {"confidence", 0.8 - 0.1 * i},
                      {"box", {130.25 + i, 219.5, 180.75, 321.0}}});
    }
    const nlohmann::json doc = {
        {"model",
         {{"id", "v5lite-e-320-decoded"},
          {"version", "1"},
          {"family", "yolov5"},
          {"sha256", std::string(64, 'a')},
          {"engine", "opencv-dnn"}}},
        {"image", {{"width", 768}, {"height", 576}, {"format", "jpeg"}}},
        {"detections", dets},
        {"timings_ms",
         {{"decode", 3.1}, {"preprocess", 0.6}, {"forward", 20.4}, {"postprocess", 0.2},
          {"total", 24.3}}}};
    const std::string s = doc.dump();
    return std::vector<uint8_t>(s.begin(), s.end());
  }();
  return bytes;
}

std::shared_ptr<const esdk::Keyring> Keyring() {
  static const std::shared_ptr<const esdk::Keyring> keyring = [] {
    SecretBytes key = SecretBytes::Copy(crypto::RandomBytes(32).value());
    return std::shared_ptr<const esdk::Keyring>(
        esdk::RawAesKeyring::Create("veil", "acme", std::move(key)).value());
  }();
  return keyring;
}

esdk::EncryptOptions RequestOptions(uint16_t suite) {
  esdk::EncryptOptions o;
  o.suite_id = suite;
  o.encryption_context = {{"tenant", "acme"},
                          {"purpose", "ml-inference"},
                          {"request", "6f1c2a9e-0d3b-4c59-9a41-7e2d5b8c1f00"},
                          {"expires", "2030-01-01T00:00:00Z"}};
  return o;
}

esdk::EncryptOptions ResultOptions() {
  esdk::EncryptOptions o;
  o.suite_id = 0x0478;
  o.encryption_context = {{"tenant", "acme"},
                          {"purpose", "ml-inference-result"},
                          {"request", "6f1c2a9e-0d3b-4c59-9a41-7e2d5b8c1f00"}};
  return o;
}

esdk::DecryptOptions DecryptOptionsFor(const esdk::EncryptOptions& e) {
  esdk::DecryptOptions d;
  d.reproduced_encryption_context = e.encryption_context;
  return d;
}

bool HaveImage(benchmark::State& state) {
  if (Image().empty()) {
    state.SkipWithError("benchmark image not found (VEIL_BENCH_IMAGE / VEIL_SHARED_DIR)");
    return false;
  }
  return true;
}

void BM_ImageEncrypt(benchmark::State& state) {
  if (!HaveImage(state)) return;
  const auto options = RequestOptions(static_cast<uint16_t>(state.range(0)));
  for (auto _ : state) {
    auto c = esdk::Encrypt(Keyring(), Image(), options);
    if (!c.ok()) {
      state.SkipWithError(std::string(c.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(c->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Image().size()));
}
BENCHMARK(BM_ImageEncrypt)->Arg(0x0478)->Arg(0x0578)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ImageDecrypt(benchmark::State& state) {
  if (!HaveImage(state)) return;
  const auto options = RequestOptions(static_cast<uint16_t>(state.range(0)));
  const auto c = esdk::Encrypt(Keyring(), Image(), options);
  if (!c.ok()) {
    state.SkipWithError(std::string(c.status().message()).c_str());
    return;
  }
  const auto d = DecryptOptionsFor(options);
  for (auto _ : state) {
    auto p = esdk::Decrypt(Keyring(), *c, d);
    if (!p.ok()) {
      state.SkipWithError(std::string(p.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(p->plaintext.size());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * Image().size()));
}
BENCHMARK(BM_ImageDecrypt)->Arg(0x0478)->Arg(0x0578)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResultEncrypt(benchmark::State& state) {
  const auto options = ResultOptions();
  for (auto _ : state) {
    auto c = esdk::Encrypt(Keyring(), ResultJson(), options);
    if (!c.ok()) {
      state.SkipWithError(std::string(c.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(c->data());
  }
  state.counters["bytes"] = static_cast<double>(ResultJson().size());
}
BENCHMARK(BM_ResultEncrypt)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResultDecrypt(benchmark::State& state) {
  const auto options = ResultOptions();
  const auto c = esdk::Encrypt(Keyring(), ResultJson(), options);
  if (!c.ok()) {
    state.SkipWithError(std::string(c.status().message()).c_str());
    return;
  }
  const auto d = DecryptOptionsFor(options);
  for (auto _ : state) {
    auto p = esdk::Decrypt(Keyring(), *c, d);
    if (!p.ok()) {
      state.SkipWithError(std::string(p.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(p->plaintext.size());
  }
}
BENCHMARK(BM_ResultDecrypt)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RecipientUnwrap(benchmark::State& state) {
  static const auto* const setup = [] {
    auto key = crypto::RsaPrivateKey::Generate(2048).value();
    const auto spki = crypto::RecipientPublicKeyDer(*key).value();
    const SecretBytes data_key = SecretBytes::Copy(crypto::RandomBytes(32).value());
    auto cms = crypto::EncryptForRecipient(data_key, spki).value();
    return new std::pair<std::unique_ptr<crypto::RsaPrivateKey>, std::vector<uint8_t>>(
        std::move(key), std::move(cms));
  }();
  for (auto _ : state) {
    auto k = crypto::DecryptEnvelopedData(setup->second, *setup->first);
    if (!k.ok() || k->size() != 32) {
      state.SkipWithError("DecryptEnvelopedData failed");
      return;
    }
    benchmark::DoNotOptimize(k->size());
  }
}
BENCHMARK(BM_RecipientUnwrap)->Unit(benchmark::kMillisecond)->UseRealTime();

// Documents of one simulated enclave: same intermediates, a fresh leaf each,
// with a nonce and the enclave's RSA-2048 public key, as the enclave asks.
struct AttestationSetup {
  std::vector<uint8_t> root;
  std::vector<std::vector<uint8_t>> documents;
};

const AttestationSetup& Attestation() {
  static const AttestationSetup* const setup = [] {
    auto ca = std::shared_ptr<const attestation::nsm::SimulatorCa>(
        attestation::nsm::SimulatorCa::Generate().value());
    attestation::nsm::SimulatedNsmOptions o;
    o.image.pcr0.fill(0x11);
    auto device = attestation::nsm::SimulatedNsm::Create(ca, o).value();
    auto key = crypto::RsaPrivateKey::Generate(2048).value();
    const auto spki = crypto::RecipientPublicKeyDer(*key).value();
    auto* s = new AttestationSetup;
    s->root = ca->RootDer();
    for (int i = 0; i < 256; ++i) {
      const auto nonce = crypto::RandomBytes(32).value();
      s->documents.push_back(
          device->GetAttestationDocument(std::nullopt, nonce, spki).value());
    }
    return s;
  }();
  return *setup;
}

attestation::VerifyPolicy Policy() {
  attestation::VerifyPolicy p;  // the documents were made now
  p.require_public_key = true;
  return p;
}

void BM_AttestationVerifyCachedChain(benchmark::State& state) {
  const AttestationSetup& s = Attestation();
  attestation::VerifierConfig config;
  config.tier = attestation::Tier::kSimulated;
  config.roots = {s.root};
  config.chain_cache_capacity = 64;
  auto verifier = attestation::AttestationVerifier::Create(std::move(config)).value();
  const auto policy = Policy();
  if (!verifier->Verify(s.documents[0], policy).ok()) {
    state.SkipWithError("simulated document does not verify");
    return;
  }
  size_t i = 1;
  for (auto _ : state) {
    auto v = verifier->Verify(s.documents[i++ % s.documents.size()], policy);
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
  }
}
BENCHMARK(BM_AttestationVerifyCachedChain)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AttestationVerifyCold(benchmark::State& state) {
  const AttestationSetup& s = Attestation();
  const auto policy = Policy();
  size_t i = 0;
  for (auto _ : state) {
    attestation::VerifierConfig config;
    config.tier = attestation::Tier::kSimulated;
    config.roots = {s.root};
    config.chain_cache_capacity = 0;
    auto verifier = attestation::AttestationVerifier::Create(std::move(config));
    if (!verifier.ok()) {
      state.SkipWithError(std::string(verifier.status().message()).c_str());
      return;
    }
    auto v = (*verifier)->Verify(s.documents[i++ % s.documents.size()], policy);
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
  }
}
BENCHMARK(BM_AttestationVerifyCold)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace veil

BENCHMARK_MAIN();
