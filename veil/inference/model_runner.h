// ModelRunner: the seam between the detector and the network engine
// (STYLE.md C12). OpenCvModelRunner runs ONNX on OpenCV's DNN module;
// testing/fake_model_runner.h returns prepared outputs for the layers above.
#ifndef VEIL_INFERENCE_MODEL_RUNNER_H_
#define VEIL_INFERENCE_MODEL_RUNNER_H_

#include <memory>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "opencv2/core/mat.hpp"
#include "veil/inference/model.h"

namespace veil::inference {

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  // Run feeds one 1x3xHxW CV_32F blob to the network and calls `consume`
  // with the network's first output while the runner still holds it (so
  // the output is read in place, never copied). The output is valid only
  // during the call. When `consume` returns, the runner wipes the output and
  // drops its reference to the input. Returns the engine's error or
  // `consume`'s. Implementations are thread-safe.
  virtual absl::Status Run(const cv::Mat& blob,
                           absl::FunctionRef<absl::Status(const cv::Mat& output)> consume) = 0;

  // name identifies the engine in logs and results ("opencv-dnn", "fake").
  virtual std::string_view name() const = 0;
};

struct RunnerOptions {
  // Networks in the pool: this many Run calls proceed at once; more wait.
  int networks = 1;
  // cv::setNumThreads for OpenCV's parallel loops: 0 leaves OpenCV's choice
  // (one thread per core). This is process-wide in OpenCV; with several
  // networks on a small machine, 1 thread each usually gives the best
  // throughput and N threads the best single-image latency.
  int threads = 0;
};

// NewOpenCvModelRunner builds `options.networks` networks from the model's
// verified weight bytes (never re-reading the file) on OpenCV's CPU backend
// and checks one forward pass of a blank input. InvalidArgument when OpenCV
// cannot import the model.
absl::StatusOr<std::unique_ptr<ModelRunner>> NewOpenCvModelRunner(const LoadedModel& model,
                                                                  const RunnerOptions& options);

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_MODEL_RUNNER_H_
