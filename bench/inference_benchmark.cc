// The full detect path against a bare net.forward(), same model, same image,
// same run (issue target: overhead above forward() at most 5% at 320x320).
//
//   BM_BareForward      cv::dnn::Net::forward() on a blob prepared once
//   BM_DetectFull       Detector::Detect: intake + JPEG decode + letterbox +
//                       blob + forward + decode + NMS + wiping
//                       (counters: each stage's mean time; /1 with JPEG DCT scaling)
//   BM_Throughput/N     images per second with N workers sharing N networks
//                       (cv::setNumThreads(2 / N), so the cores are used once)
//
// Model and image: $VEIL_BENCH_MODEL (default the shared
// v5lite-e-320-decoded.onnx) and $VEIL_BENCH_IMAGE (default shared dog.jpg).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "opencv2/core/utility.hpp"
#include "opencv2/dnn/dnn.hpp"
#include "veil/inference/detector.h"
#include "veil/inference/image_intake.h"
#include "veil/inference/model.h"
#include "veil/inference/preprocess.h"

namespace veil::inference {
namespace {

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

const std::string& ModelPath() {
  static const std::string p =
      Env("VEIL_BENCH_MODEL", std::string(VEIL_SHARED_DIR_DEFAULT) + "/models/v5lite-e-320-decoded.onnx");
  return p;
}

const std::vector<uint8_t>& Image() {
  static const std::vector<uint8_t> bytes = [] {
    std::ifstream in(Env("VEIL_BENCH_IMAGE", std::string(VEIL_SHARED_DIR_DEFAULT) +
                                                 "/testdata/images/dog.jpg"),
                     std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
  }();
  return bytes;
}

const LoadedModel* Model(benchmark::State& state) {
  static const absl::StatusOr<LoadedModel> model = LoadModel(ModelPath());
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return nullptr;
  }
  if (Image().empty()) {
    state.SkipWithError("benchmark image not found");
    return nullptr;
  }
  return &*model;
}

std::unique_ptr<Detector> MakeDetector(const LoadedModel& model, int networks, int threads) {
  auto runner = NewOpenCvModelRunner(model, RunnerOptions{networks, threads});
  if (!runner.ok()) return nullptr;
  auto detector = Detector::Create(model.manifest, *std::move(runner));
  return detector.ok() ? *std::move(detector) : nullptr;
}

// BareNetwork is the baseline: one cv::dnn::Net built from the same bytes and
// the benchmark image's blob, prepared once.
struct BareNetwork {
  explicit BareNetwork(const LoadedModel& model)
      : net(cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(model.weights.data()),
                                     model.weights.size())) {
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    auto decoded = DecodeImage(Image());
    Letterbox lb;
    cv::Mat canvas;
    blob = *MakeInputBlob(decoded->bgr, model.manifest, &lb, &canvas);
  }
  void Forward() {
    net.setInput(blob);
    cv::Mat out = net.forward();
    benchmark::DoNotOptimize(out.data);
  }
  cv::dnn::Net net;
  cv::Mat blob;
};

void BM_BareForward(benchmark::State& state) {
  const LoadedModel* model = Model(state);
  if (model == nullptr) return;
  cv::setNumThreads(static_cast<int>(std::thread::hardware_concurrency()));
  BareNetwork bare(*model);
  for (auto _ : state) bare.Forward();
}
BENCHMARK(BM_BareForward)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

void BM_DetectFull(benchmark::State& state) {
  const LoadedModel* model = Model(state);
  if (model == nullptr) return;
  auto detector =
      MakeDetector(*model, 1, static_cast<int>(std::thread::hardware_concurrency()));
  DetectOptions options;
  options.jpeg_dct_scaling = state.range(0) != 0;
  double decode = 0, pre = 0, fwd = 0, post = 0;
  for (auto _ : state) {
    auto result = detector->Detect(Image(), options);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    decode += result->timings.decode_ms;
    pre += result->timings.preprocess_ms;
    fwd += result->timings.forward_ms;
    post += result->timings.postprocess_ms;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["decode_ms"] = decode / n;
  state.counters["preprocess_ms"] = pre / n;
  state.counters["forward_ms"] = fwd / n;
  state.counters["postprocess_ms"] = post / n;
}
// Arg: DetectOptions::jpeg_dct_scaling (0 = full decode, the default).
BENCHMARK(BM_DetectFull)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

// BM_Interleaved alternates one bare forward() and one full Detect() per
// iteration on the same network pool size and thread count, so machine
// noise hits both alike; counters give each mean and the overhead ratio.
void BM_Interleaved(benchmark::State& state) {
  const LoadedModel* model = Model(state);
  if (model == nullptr) return;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  auto detector = MakeDetector(*model, 1, cores);
  cv::setNumThreads(cores);
  BareNetwork bare(*model);
  using Clock = std::chrono::steady_clock;
  double bare_ms = 0, detect_ms = 0, decode_ms = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    bare.Forward();
    auto t1 = Clock::now();
    auto result = detector->Detect(Image());
    auto t2 = Clock::now();
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    bare_ms += std::chrono::duration<double, std::milli>(t1 - t0).count();
    detect_ms += std::chrono::duration<double, std::milli>(t2 - t1).count();
    decode_ms += result->timings.decode_ms;
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["bare_forward_ms"] = bare_ms / n;
  state.counters["detect_ms"] = detect_ms / n;
  state.counters["decode_ms"] = decode_ms / n;
  state.counters["overhead_pct"] = 100 * (detect_ms - bare_ms) / bare_ms;
  state.counters["overhead_without_decode_pct"] = 100 * (detect_ms - decode_ms - bare_ms) / bare_ms;
}
BENCHMARK(BM_Interleaved)->Unit(benchmark::kMillisecond)->MinTime(5)->UseRealTime();

void BM_Throughput(benchmark::State& state) {
  const LoadedModel* model = Model(state);
  if (model == nullptr) return;
  const int workers = static_cast<int>(state.range(0));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  auto detector = MakeDetector(*model, workers, std::max(1, cores / workers));
  constexpr int kImagesPerWorker = 8;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&] {
        for (int i = 0; i < kImagesPerWorker; ++i) {
          if (!detector->Detect(Image()).ok()) failures++;
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failures > 0) state.SkipWithError("detect failed");
  }
  state.counters["images_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * workers * kImagesPerWorker),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Throughput)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

}  // namespace
}  // namespace veil::inference

BENCHMARK_MAIN();
