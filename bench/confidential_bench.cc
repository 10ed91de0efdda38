// confidential_bench: a closed-loop load generator for the confidential
// inference path, and its plaintext baseline.
//
// Confidential mode (default): each of --clients threads is one client doing
// what `veil infer` does (veil/client/cli/infer_command.cc), in a loop:
//
//   once per client, before its first request: GET /v1/attestation with a
//     fresh nonce and verify the document (pinned root, --expect-pcr, the
//     nonce, a public key, freshness), like `veil infer`; a session verifies
//     once, not per request, so this is outside the measured requests
//   per request: a new request id; ESDK-encrypt the image under the tenant's
//     keyring (KMS GenerateDataKey for --key; local AES for --local-key) with
//     context {tenant, purpose=ml-inference, request, expires=now+5min};
//     POST /v1/infer with Authorization: Bearer and Veil-Request-Id; ESDK-
//     decrypt the answer with the reproduced context {tenant,
//     purpose=ml-inference-result, request} (KMS Decrypt for --key); parse the
//     JSON and require detections.
//
// Each client has its own keyring (and so its own KMS client), and, like
// `veil infer`, a new HTTP connection per request. --cache wraps the client's
// keyring in an ESDK CachingCmm (veil/esdk/caching_cmm.h): since every
// request's encryption context carries a fresh request id and expiry, no
// cached entry can match, and the KMS calls per request do not drop (the
// bench reports the cache's hit counts to show it).
//
// Plaintext mode (--plaintext --model M): the same threads call
// inference::Detector::Detect in process on the same image, with the
// enclave's pool (1 network, OpenCV's default thread count): the baseline.
//
// Output: one JSON object on stdout: requests, errors, seconds, throughput
// (requests/s), latency_ms {p50, p90, p99, mean, min, max} and per-stage
// client time (confidential: encrypt, http, decrypt, and the enclave's own
// detect time from the result; plaintext: decode, preprocess, forward,
// postprocess), each {p50, mean} in ms.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/verifier.h"
#include "veil/client/cli/attest_verify_command.h"
#include "veil/client/cli/wrapping_key_spec.h"
#include "veil/common/encoding.h"
#include "veil/common/secret_bytes.h"
#include "veil/crypto/random.h"
#include "veil/esdk/caching_cmm.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/inference/detector.h"
#include "veil/inference/model.h"
#include "veil/inference/model_runner.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
  std::string endpoint;
  std::string api_key_file;
  std::string tenant;
  std::string kms_key;
  std::string local_key;
  std::string image;
  std::string attestation_root;
  bool allow_mock_attestation = false;
  std::vector<std::string> expect_pcr;
  bool cache = false;
  bool plaintext = false;
  std::string model;
  int clients = 1;
  double seconds = 5;
  int requests = 0;  // total; 0 = run for --seconds
  int warmup = 0;    // per client, before the measured window
  int timeout_seconds = 120;
};

// Sample is one finished request: total latency and its stages, in ms.
struct Sample {
  double total = 0;
  std::vector<double> stages;
};

const std::vector<std::string> kConfidentialStages = {"encrypt", "http", "decrypt",
                                                      "enclave_detect"};
const std::vector<std::string> kPlaintextStages = {"decode", "preprocess", "forward",
                                                   "postprocess"};

double Ms(SteadyClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

absl::StatusOr<std::string> NewRequestId() {
  auto bytes = veil::crypto::RandomBytes(16);
  if (!bytes.ok()) return bytes.status();
  std::vector<uint8_t>& b = *bytes;
  b[6] = (b[6] & 0x0F) | 0x40;
  b[8] = (b[8] & 0x3F) | 0x80;
  const std::string h = veil::HexEncode(b);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

// Run coordinates the threads: the measured window starts when every client
// is ready (attested, warmed up) and ends at the deadline or after
// `requests` requests.
class Run {
 public:
  explicit Run(const Options& o) : o_(o) {}

  // Ready blocks until all clients are ready, then returns the start time.
  SteadyClock::time_point Ready() {
    std::unique_lock<std::mutex> lock(mu_);
    if (++ready_ == o_.clients) {
      start_ = SteadyClock::now();
      deadline_ = start_ + std::chrono::duration_cast<SteadyClock::duration>(
                               std::chrono::duration<double>(o_.seconds));
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return ready_ >= o_.clients; });
    }
    return start_;
  }
  // NotReady counts a client that failed before the window as ready, so the
  // others do not wait for it.
  void NotReady(const std::string& error) {
    Error(error);
    Ready();
  }
  // Next says whether the client should start another request.
  bool Next() {
    if (o_.requests > 0) return issued_.fetch_add(1) < o_.requests;
    return SteadyClock::now() < deadline_;
  }
  void Done(Sample s) {
    std::lock_guard<std::mutex> lock(mu_);
    samples_.push_back(std::move(s));
    end_ = std::max(end_, SteadyClock::now());
  }
  void Error(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu_);
    end_ = std::max(end_, SteadyClock::now());
    if (errors_++ == 0) first_error_ = e;
  }
  void Warmup() { warmup_.fetch_add(1); }
  void AddCacheStats(uint64_t encrypt_hits, uint64_t decrypt_hits) {
    cache_encrypt_hits_ += encrypt_hits;
    cache_decrypt_hits_ += decrypt_hits;
  }

  Json Report(const std::vector<std::string>& stage_names) const {
    std::lock_guard<std::mutex> lock(mu_);
    const double seconds = std::max(1e-9, std::chrono::duration<double>(end_ - start_).count());
    std::vector<double> totals;
    for (const Sample& s : samples_) totals.push_back(s.total);
    Json j;
    j["mode"] = o_.plaintext ? "plaintext" : "confidential";
    j["clients"] = o_.clients;
    j["requests"] = samples_.size();
    j["errors"] = errors_;
    if (errors_ > 0) j["first_error"] = first_error_;
    j["warmup_requests"] = warmup_.load();
    j["seconds"] = seconds;
    j["throughput"] = static_cast<double>(samples_.size()) / seconds;
    j["latency_ms"] = Summary(totals, true);
    Json stages = Json::object();
    for (size_t i = 0; i < stage_names.size(); ++i) {
      std::vector<double> v;
      for (const Sample& s : samples_) {
        if (i < s.stages.size() && s.stages[i] >= 0) v.push_back(s.stages[i]);
      }
      if (!v.empty()) stages[stage_names[i]] = Summary(v, false);
    }
    j["stages_ms"] = stages;
    if (!o_.plaintext) {
      j["key"] = o_.kms_key.empty() ? "local" : "kms";
      j["caching_cmm"] = o_.cache;
      if (o_.cache) {
        j["cache_hits"] = {{"encrypt", cache_encrypt_hits_.load()},
                           {"decrypt", cache_decrypt_hits_.load()}};
      }
    }
    return j;
  }

 private:
  static double Percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(rank));
    const size_t hi = std::min(sorted.size() - 1, lo + 1);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
  }
  static Json Summary(std::vector<double> v, bool full) {
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    const double mean = v.empty() ? 0 : sum / static_cast<double>(v.size());
    auto r = [](double x) { return std::round(x * 100) / 100; };
    Json j = {{"p50", r(Percentile(v, 50))}, {"mean", r(mean)}};
    if (full) {
      j["p90"] = r(Percentile(v, 90));
      j["p99"] = r(Percentile(v, 99));
      j["min"] = r(v.empty() ? 0 : v.front());
      j["max"] = r(v.empty() ? 0 : v.back());
    }
    return j;
  }

  const Options& o_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int ready_ = 0;
  SteadyClock::time_point start_{};
  SteadyClock::time_point deadline_{};
  SteadyClock::time_point end_{};
  std::vector<Sample> samples_;
  uint64_t errors_ = 0;
  std::string first_error_;
  std::atomic<int> issued_{0};
  std::atomic<uint64_t> warmup_{0};
  std::atomic<uint64_t> cache_encrypt_hits_{0};
  std::atomic<uint64_t> cache_decrypt_hits_{0};
};

// CountingCmm passes every call to `inner` and counts the calls, so that a
// CachingCmm in front of it shows how many requests reached the keyring.
class CountingCmm : public veil::esdk::CryptoMaterialsManager {
 public:
  explicit CountingCmm(std::shared_ptr<veil::esdk::CryptoMaterialsManager> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<veil::esdk::EncryptionMaterials> GetEncryptionMaterials(
      const veil::esdk::EncryptionMaterialsRequest& request) override {
    encrypt_calls.fetch_add(1);
    return inner_->GetEncryptionMaterials(request);
  }
  absl::StatusOr<veil::esdk::DecryptionMaterials> DecryptMaterials(
      const veil::esdk::DecryptionMaterialsRequest& request) override {
    decrypt_calls.fetch_add(1);
    return inner_->DecryptMaterials(request);
  }
  std::atomic<uint64_t> encrypt_calls{0};
  std::atomic<uint64_t> decrypt_calls{0};

 private:
  std::shared_ptr<veil::esdk::CryptoMaterialsManager> inner_;
};

// Client is one confidential client: its keyring, materials manager and
// attestation state.
class Client {
 public:
  Client(const Options& o, std::string api_key, std::string tenant,
         const std::vector<uint8_t>& image)
      : o_(o), api_key_(std::move(api_key)), tenant_(std::move(tenant)), image_(image) {}

  absl::Status Init() {
    std::shared_ptr<const veil::esdk::Keyring> keyring;
    if (!o_.kms_key.empty()) {
      auto spec = veil::client::ParseWrappingKeySpec(absl::StrCat("kms:", o_.kms_key));
      if (!spec.ok()) return spec.status();
      veil::client::KeyringSources sources;
      sources.use = veil::client::KeyringUse::kDecrypt;
      auto k = veil::client::LoadKeyring(*spec, sources);
      if (!k.ok()) return k.status();
      keyring = *std::move(k);
    } else {
      const auto key = ReadFile(o_.local_key);
      if (!key) return absl::NotFoundError(absl::StrCat("--local-key ", o_.local_key));
      auto k = veil::esdk::RawAesKeyring::Create(
          "veil", tenant_,
          veil::SecretBytes::Copy(absl::MakeConstSpan(
              reinterpret_cast<const uint8_t*>(key->data()), key->size())));
      if (!k.ok()) return k.status();
      keyring = std::shared_ptr<const veil::esdk::Keyring>(*std::move(k));
    }
    std::shared_ptr<veil::esdk::CryptoMaterialsManager> cmm =
        veil::esdk::DefaultCmm::Create(keyring);
    if (o_.cache) {
      counting_ = std::make_shared<CountingCmm>(cmm);
      auto cache = veil::esdk::MaterialsCache::Create(64);
      if (!cache.ok()) return cache.status();
      veil::esdk::CachingCmmOptions options;
      options.max_age = absl::Minutes(5);
      auto caching = veil::esdk::CachingCmm::Create(counting_, *std::move(cache), options);
      if (!caching.ok()) return caching.status();
      cmm = std::shared_ptr<veil::esdk::CryptoMaterialsManager>(*std::move(caching));
    }
    cmm_ = std::move(cmm);
    return Attest();
  }

  // Request runs one confidential request and fills `sample`.
  absl::Status Request(Sample* sample) {
    const auto t0 = SteadyClock::now();
    auto request_id = NewRequestId();
    if (!request_id.ok()) return request_id.status();
    veil::esdk::EncryptOptions encrypt;
    encrypt.encryption_context = {
        {"tenant", tenant_},
        {"purpose", "ml-inference"},
        {"request", *request_id},
        {"expires", absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Minutes(5),
                                     absl::UTCTimeZone())}};
    auto body = veil::esdk::Encrypt(*cmm_, image_, encrypt);
    if (!body.ok()) return body.status();
    ++requests_;
    const auto t1 = SteadyClock::now();

    httplib::Client http(o_.endpoint);
    http.set_connection_timeout(10, 0);
    http.set_read_timeout(o_.timeout_seconds, 0);
    http.set_write_timeout(o_.timeout_seconds, 0);
    const httplib::Headers headers = {{"Authorization", absl::StrCat("Bearer ", api_key_)},
                                      {"Veil-Request-Id", *request_id}};
    httplib::Result r = http.Post("/v1/infer", headers,
                                  reinterpret_cast<const char*>(body->data()), body->size(),
                                  "application/octet-stream");
    if (!r) return absl::UnavailableError(absl::StrCat("POST: ", httplib::to_string(r.error())));
    if (r->status != 200) {
      return absl::UnavailableError(absl::StrCat("POST: HTTP ", r->status, " ", r->body));
    }
    const auto t2 = SteadyClock::now();

    veil::esdk::DecryptOptions decrypt;
    decrypt.reproduced_encryption_context = {
        {"tenant", tenant_}, {"purpose", "ml-inference-result"}, {"request", *request_id}};
    const std::vector<uint8_t> sealed(r->body.begin(), r->body.end());
    auto opened = veil::esdk::Decrypt(*cmm_, sealed, decrypt);
    if (!opened.ok()) return opened.status();
    const auto t3 = SteadyClock::now();
    const auto text = opened->plaintext.Expose();
    const Json result = Json::parse(text.begin(), text.end(), nullptr, false);
    if (result.is_discarded() || !result.is_object() || result.contains("error") ||
        !result.contains("detections")) {
      return absl::DataLossError("the result is not a detection document");
    }
    const auto t4 = SteadyClock::now();
    double enclave_detect = -1;
    if (result.contains("timings_ms") && result["timings_ms"].is_object()) {
      enclave_detect = result["timings_ms"].value("total", -1.0);
    }
    sample->total = Ms(t4 - t0);
    sample->stages = {Ms(t1 - t0), Ms(t2 - t1), Ms(t3 - t2), enclave_detect};
    return absl::OkStatus();
  }

  // CacheHits returns how many encrypt and decrypt calls the caching CMM
  // answered without asking the keyring.
  std::pair<uint64_t, uint64_t> CacheHits() const {
    if (!counting_) return {0, 0};
    const uint64_t e = counting_->encrypt_calls.load();
    const uint64_t d = counting_->decrypt_calls.load();
    return {requests_ > e ? requests_ - e : 0, requests_ > d ? requests_ - d : 0};
  }

 private:
  absl::Status Attest() {
    namespace att = veil::attestation;
    if (o_.attestation_root.empty() && !o_.allow_mock_attestation) return absl::OkStatus();
    att::VerifierConfig config;
    if (o_.allow_mock_attestation) config.tier = att::Tier::kLocal;
    if (!o_.attestation_root.empty()) {
      const auto pem = ReadFile(o_.attestation_root);
      if (!pem) return absl::NotFoundError(absl::StrCat("--attestation-root ", o_.attestation_root));
      auto root = att::CertificateDerFromPem(*pem);
      if (!root.ok()) return root.status();
      if (!o_.allow_mock_attestation) {
        config.tier = att::IsAwsNitroRoot(*root) ? att::Tier::kProduction : att::Tier::kSimulated;
      }
      config.roots.push_back(*std::move(root));
    }
    config.chain_cache_capacity = 0;
    auto verifier = att::AttestationVerifier::Create(std::move(config));
    if (!verifier.ok()) return verifier.status();
    att::VerifyPolicy policy;
    auto pcrs = veil::client::ParseExpectedPcrs(o_.expect_pcr);
    if (!pcrs.ok()) return pcrs.status();
    policy.expected_pcrs = *std::move(pcrs);
    auto nonce = veil::crypto::RandomBytes(32);
    if (!nonce.ok()) return nonce.status();
    policy.expected_nonce = *nonce;
    policy.require_public_key = true;
    policy.max_age = absl::Minutes(5);
    policy.allow_debug = o_.allow_mock_attestation;
    httplib::Client http(o_.endpoint);
    http.set_connection_timeout(10, 0);
    http.set_read_timeout(o_.timeout_seconds, 0);
    httplib::Result r =
        http.Get(absl::StrCat("/v1/attestation?nonce=", veil::HexEncode(*nonce)));
    if (!r || r->status != 200) return absl::UnavailableError("attestation: no document");
    const std::vector<uint8_t> document(r->body.begin(), r->body.end());
    auto verified = (*verifier)->Verify(document, policy);
    if (!verified.ok()) {
      return absl::PermissionDeniedError(
          absl::StrCat("attestation did not verify: ", verified.status().message()));
    }
    return absl::OkStatus();
  }

  const Options& o_;
  const std::string api_key_;
  const std::string tenant_;
  const std::vector<uint8_t>& image_;
  std::shared_ptr<veil::esdk::CryptoMaterialsManager> cmm_;
  std::shared_ptr<CountingCmm> counting_;
  uint64_t requests_ = 0;
};

int RunConfidential(const Options& o, const std::vector<uint8_t>& image) {
  if (o.kms_key.empty() == o.local_key.empty()) {
    std::cerr << "confidential_bench: give --key ARN or --local-key FILE\n";
    return 2;
  }
  auto key_text = ReadFile(o.api_key_file);
  if (!key_text) {
    std::cerr << "confidential_bench: cannot read --api-key-file\n";
    return 2;
  }
  std::string api_key = *key_text;
  while (!api_key.empty() &&
         (api_key.back() == '\n' || api_key.back() == '\r' || api_key.back() == ' ')) {
    api_key.pop_back();
  }
  std::string tenant = o.tenant;
  if (tenant.empty()) tenant = api_key.substr(0, api_key.find('.'));
  Run run(o);
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < o.clients; ++i) {
    clients.push_back(std::make_unique<Client>(o, api_key, tenant, image));
  }
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back([&, i] {
      Client& c = *clients[i];
      if (absl::Status s = c.Init(); !s.ok()) {
        run.NotReady(std::string(s.message()));
        return;
      }
      for (int w = 0; w < o.warmup; ++w) {
        Sample ignored;
        (void)c.Request(&ignored);
        run.Warmup();
      }
      run.Ready();
      while (run.Next()) {
        Sample s;
        if (absl::Status st = c.Request(&s); st.ok()) {
          run.Done(std::move(s));
        } else {
          run.Error(std::string(st.message()));
        }
      }
      const auto hits = c.CacheHits();
      run.AddCacheStats(hits.first, hits.second);
    });
  }
  for (auto& t : threads) t.join();
  std::cout << run.Report(kConfidentialStages).dump() << "\n";
  return 0;
}

int RunPlaintext(const Options& o, const std::vector<uint8_t>& image) {
  auto model = veil::inference::LoadModel(o.model);
  if (!model.ok()) {
    std::cerr << "confidential_bench: " << model.status() << "\n";
    return 2;
  }
  // The enclave's pool: one network, OpenCV's default thread count.
  auto runner = veil::inference::NewOpenCvModelRunner(*model, veil::inference::RunnerOptions{1, 0});
  if (!runner.ok()) {
    std::cerr << "confidential_bench: " << runner.status() << "\n";
    return 2;
  }
  auto detector = veil::inference::Detector::Create(model->manifest, *std::move(runner));
  if (!detector.ok()) {
    std::cerr << "confidential_bench: " << detector.status() << "\n";
    return 2;
  }
  Run run(o);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back([&] {
      for (int w = 0; w < o.warmup; ++w) {
        (void)(*detector)->Detect(image);
        run.Warmup();
      }
      run.Ready();
      while (run.Next()) {
        const auto t0 = SteadyClock::now();
        auto r = (*detector)->Detect(image);
        if (!r.ok()) {
          run.Error(std::string(r.status().message()));
          continue;
        }
        // The enclave renders the result too.
        const size_t json_bytes = veil::inference::ToJson(*r).size();
        Sample s;
        s.total = Ms(SteadyClock::now() - t0);
        if (json_bytes == 0) run.Error("empty result");
        s.stages = {r->timings.decode_ms, r->timings.preprocess_ms, r->timings.forward_ms,
                    r->timings.postprocess_ms};
        run.Done(std::move(s));
      }
    });
  }
  for (auto& t : threads) t.join();
  std::cout << run.Report(kPlaintextStages).dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"confidential_bench: load generator for confidential inference and its baseline"};
  app.add_option("--endpoint", o.endpoint, "veil-host URL");
  app.add_option("--api-key-file", o.api_key_file, "API key file '<tenant>.<secret>'");
  app.add_option("--tenant", o.tenant, "Tenant (default: the API key up to its first '.')");
  app.add_option("--key", o.kms_key, "The tenant's KMS key ARN");
  app.add_option("--local-key", o.local_key, "The tenant's raw AES-256 key file");
  app.add_option("--image", o.image, "JPEG or PNG")->required();
  app.add_option("--attestation-root", o.attestation_root, "Verify the enclave (pinned root PEM)");
  app.add_flag("--allow-mock-attestation", o.allow_mock_attestation, "Accept the MOCK root");
  app.add_option("--expect-pcr", o.expect_pcr, "Require PCR N to equal HEX (repeatable)");
  app.add_flag("--cache", o.cache, "Wrap the client's keyring in an ESDK CachingCmm");
  app.add_flag("--plaintext", o.plaintext, "Baseline: Detector::Detect in process");
  app.add_option("--model", o.model, "ONNX or manifest (--plaintext)");
  app.add_option("--clients", o.clients, "Concurrent clients (threads)")->capture_default_str();
  app.add_option("--seconds", o.seconds, "Measured window")->capture_default_str();
  app.add_option("--requests", o.requests, "Total measured requests (instead of --seconds)");
  app.add_option("--warmup", o.warmup, "Unmeasured requests per client first")
      ->capture_default_str();
  app.add_option("--timeout", o.timeout_seconds, "HTTP timeout (s)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.clients < 1) {
    std::cerr << "confidential_bench: --clients must be >= 1\n";
    return 2;
  }
  const auto image_text = ReadFile(o.image);
  if (!image_text || image_text->empty()) {
    std::cerr << "confidential_bench: cannot read --image " << o.image << "\n";
    return 2;
  }
  const std::vector<uint8_t> image(image_text->begin(), image_text->end());
  if (o.plaintext) {
    if (o.model.empty()) {
      std::cerr << "confidential_bench: --plaintext needs --model\n";
      return 2;
    }
    return RunPlaintext(o, image);
  }
  if (o.endpoint.empty() || o.api_key_file.empty()) {
    std::cerr << "confidential_bench: --endpoint and --api-key-file are required\n";
    return 2;
  }
  return RunConfidential(o, image);
}
