// Throughput of Veil's ESDK against its ceiling.
//
//   BM_EsdkEncrypt / BM_EsdkDecrypt   one-shot veil::esdk::Encrypt / Decrypt
//       through a DefaultCmm over a RawAesKeyring (AES-256 wrapping key),
//       for every size x suite x frame length below.
//   BM_AesGcmSeal / BM_AesGcmOpen     the ceiling: one AES-256-GCM Seal (or
//       Open) over the whole buffer with one veil::crypto::AesGcm context,
//       into a preallocated output. No ESDK message can be faster.
//   BM_EsdkEncryptEmpty / BM_EsdkDecryptEmpty   a 0-byte message: the fixed
//       per-message cost (materials, data-key wrapping, key derivation,
//       header, and for 0x0578 key generation and signing).
//
// Every benchmark reports bytes_per_second (plaintext bytes, wall clock) and
// the counters `size`, `suite` and `frame` (0 for the ceiling), so
// bench/run.sh can match each ESDK case with its ceiling and with the
// JavaScript ESDK. Keyrings, materials managers and inputs are made outside
// the timed loops.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/esdk/algorithm_suite.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"

namespace veil::esdk {
namespace {

constexpr int64_t kSizes[] = {4 << 10, 64 << 10, 1 << 20, 16 << 20};
constexpr int64_t kSuites[] = {kSuite0478, kSuite0578};
constexpr int64_t kFrames[] = {4096, 65536};

// Benchmark setup failures are programming errors: stop loudly.
template <typename T>
T Must(absl::StatusOr<T> v) {
  if (!v.ok()) {
    std::fprintf(stderr, "esdk_benchmark: %s\n", v.status().ToString().c_str());
    std::abort();
  }
  return std::move(*v);
}

std::vector<uint8_t> RandomPlaintext(size_t n) {
  std::vector<uint8_t> v(n);
  std::mt19937_64 rng(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Plaintext(n) returns the same n-byte buffer for every benchmark of that size.
const std::vector<uint8_t>& Plaintext(size_t n) {
  static std::map<size_t, std::vector<uint8_t>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, RandomPlaintext(n)).first;
  return it->second;
}

CryptoMaterialsManager& Cmm() {
  static const std::unique_ptr<DefaultCmm> cmm = [] {
    std::vector<uint8_t> key(32);
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(0xa0 + i);
    std::shared_ptr<const Keyring> keyring =
        Must(RawAesKeyring::Create("veil-bench", "bench-aes-256", SecretBytes::Copy(key)));
    return DefaultCmm::Create(std::move(keyring));
  }();
  return *cmm;
}

EncryptOptions Options(int64_t suite, int64_t frame) {
  EncryptOptions o;
  o.commitment_policy = CommitmentPolicy::kRequireEncryptRequireDecrypt;
  o.suite_id = static_cast<uint16_t>(suite);
  o.frame_length = static_cast<uint32_t>(frame);
  o.encryption_context = {{"purpose", "veil-bench"}};  // as bench/esdk_js_bench.mjs
  return o;
}

void SetCounters(benchmark::State& state, int64_t size, int64_t suite, int64_t frame) {
  state.SetBytesProcessed(state.iterations() * size);
  state.counters["size"] = static_cast<double>(size);
  state.counters["suite"] = static_cast<double>(suite);
  state.counters["frame"] = static_cast<double>(frame);
}

void BM_EsdkEncrypt(benchmark::State& state) {
  const int64_t size = state.range(0), suite = state.range(1), frame = state.range(2);
  const auto& plaintext = Plaintext(size);
  const EncryptOptions options = Options(suite, frame);
  CryptoMaterialsManager& cmm = Cmm();
  for (auto _ : state) {
    auto ct = Encrypt(cmm, plaintext, options);
    if (!ct.ok()) {
      state.SkipWithError(ct.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(ct->data());
  }
  SetCounters(state, size, suite, frame);
}

void BM_EsdkDecrypt(benchmark::State& state) {
  const int64_t size = state.range(0), suite = state.range(1), frame = state.range(2);
  CryptoMaterialsManager& cmm = Cmm();
  auto ct = Encrypt(cmm, Plaintext(size), Options(suite, frame));
  if (!ct.ok()) {
    state.SkipWithError(ct.status().ToString().c_str());
    return;
  }
  DecryptOptions options;  // require-encrypt-require-decrypt
  for (auto _ : state) {
    auto pt = Decrypt(cmm, *ct, options);
    if (!pt.ok() || pt->plaintext.size() != static_cast<size_t>(size)) {
      state.SkipWithError(pt.ok() ? "wrong plaintext length" : pt.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(pt->plaintext.Expose().data());
  }
  SetCounters(state, size, suite, frame);
}

std::unique_ptr<crypto::AesGcm> CeilingAead() {
  std::vector<uint8_t> key(32, 0x42);
  return Must(crypto::AesGcm::New(key));
}

constexpr uint8_t kIv[crypto::kGcmIvSize] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

void BM_AesGcmSeal(benchmark::State& state) {
  const int64_t size = state.range(0);
  const auto& plaintext = Plaintext(size);
  auto aead = CeilingAead();
  std::vector<uint8_t> out(size);
  uint8_t tag[crypto::kGcmTagSize];
  for (auto _ : state) {
    auto s = aead->Seal(kIv, {}, plaintext, absl::MakeSpan(out), absl::MakeSpan(tag));
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(tag);
  }
  SetCounters(state, size, 0, 0);
}

void BM_AesGcmOpen(benchmark::State& state) {
  const int64_t size = state.range(0);
  auto aead = CeilingAead();
  std::vector<uint8_t> ct(size), out(size);
  uint8_t tag[crypto::kGcmTagSize];
  if (!aead->Seal(kIv, {}, Plaintext(size), absl::MakeSpan(ct), absl::MakeSpan(tag)).ok()) {
    state.SkipWithError("seal failed");
    return;
  }
  for (auto _ : state) {
    auto s = aead->Open(kIv, {}, ct, tag, absl::MakeSpan(out));
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
  SetCounters(state, size, 0, 0);
}

void BM_EsdkEncryptEmpty(benchmark::State& state) {
  const int64_t suite = state.range(0);
  const EncryptOptions options = Options(suite, 4096);
  CryptoMaterialsManager& cmm = Cmm();
  for (auto _ : state) {
    auto ct = Encrypt(cmm, {}, options);
    if (!ct.ok()) {
      state.SkipWithError(ct.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(ct->data());
  }
  SetCounters(state, 0, suite, 4096);
}

void BM_EsdkDecryptEmpty(benchmark::State& state) {
  const int64_t suite = state.range(0);
  CryptoMaterialsManager& cmm = Cmm();
  auto ct = Encrypt(cmm, {}, Options(suite, 4096));
  if (!ct.ok()) {
    state.SkipWithError(ct.status().ToString().c_str());
    return;
  }
  DecryptOptions options;
  for (auto _ : state) {
    auto pt = Decrypt(cmm, *ct, options);
    if (!pt.ok()) {
      state.SkipWithError(pt.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(pt->info.message_id.data());
  }
  SetCounters(state, 0, suite, 4096);
}

void EsdkArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "suite", "frame"});
  for (int64_t size : kSizes) {
    for (int64_t suite : kSuites) {
      for (int64_t frame : kFrames) b->Args({size, suite, frame});
    }
  }
}

void SizeArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("size");
  for (int64_t size : kSizes) b->Arg(size);
}

void SuiteArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("suite");
  for (int64_t suite : kSuites) b->Arg(suite);
}

BENCHMARK(BM_EsdkEncrypt)->Apply(EsdkArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EsdkDecrypt)->Apply(EsdkArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AesGcmSeal)->Apply(SizeArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AesGcmOpen)->Apply(SizeArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EsdkEncryptEmpty)->Apply(SuiteArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EsdkDecryptEmpty)->Apply(SuiteArgs)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace veil::esdk

BENCHMARK_MAIN();
