#include <condition_variable>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "opencv2/core/utility.hpp"
#include "opencv2/dnn/dnn.hpp"
#include "veil/common/status_macros.h"
#include "veil/inference/detector.h"
#include "veil/inference/internal/cv_status.h"
#include "veil/inference/model_runner.h"

namespace veil::inference {
namespace {

// OpenCvModelRunner holds a pool of independent cv::dnn::Net instances; a
// Net is not safe to share between threads, so each Run borrows one.
class OpenCvModelRunner final : public ModelRunner {
 public:
  static absl::StatusOr<std::unique_ptr<ModelRunner>> Create(const LoadedModel& model,
                                                             const RunnerOptions& options) {
    if (options.networks < 1 || options.networks > 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("networks must be in [1, 64], not ", options.networks));
    }
    if (options.threads < 0) return absl::InvalidArgumentError("threads must be >= 0");
    if (options.threads > 0) cv::setNumThreads(options.threads);
    std::unique_ptr<OpenCvModelRunner> runner(new OpenCvModelRunner());
    for (int i = 0; i < options.networks; ++i) {
      VEIL_ASSIGN_OR_RETURN(
          cv::dnn::Net net,
          internal::CallOpenCv("OpenCV could not import the ONNX model",
                               absl::StatusCode::kInvalidArgument,
                               [&]() -> absl::StatusOr<cv::dnn::Net> {
                                 cv::dnn::Net n = cv::dnn::readNetFromONNX(
                                     reinterpret_cast<const char*>(model.weights.data()),
                                     model.weights.size());
                                 n.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
                                 n.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
                                 return n;
                               }));
      if (net.empty()) return absl::InvalidArgumentError("OpenCV imported an empty network");
      runner->free_.push_back(runner->nets_.size());
      runner->nets_.push_back(std::move(net));
    }
    // One pass over a blank input: fails now, at load, for a model whose
    // layers OpenCV cannot run, and pays OpenCV's lazy set-up.
    const int dims[] = {1, 3, model.manifest.input_height, model.manifest.input_width};
    runner->blank_ = cv::Mat(4, dims, CV_32F, cv::Scalar(0));
    const cv::Mat& blank = runner->blank_;
    for (size_t i = 0; i < runner->nets_.size(); ++i) {
      VEIL_RETURN_IF_ERROR(runner->Run(blank, [](const cv::Mat&) { return absl::OkStatus(); }));
    }
    return std::unique_ptr<ModelRunner>(std::move(runner));
  }

  absl::Status Run(const cv::Mat& blob,
                   absl::FunctionRef<absl::Status(const cv::Mat& output)> consume) override {
    size_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      available_.wait(lock, [this] { return !free_.empty(); });
      index = free_.back();
      free_.pop_back();
    }
    cv::dnn::Net& net = nets_[index];
    cv::Mat output;  // the network's own buffer, not a copy
    absl::Status status = internal::CallOpenCv(
        "model forward pass failed", absl::StatusCode::kInternal, [&]() -> absl::Status {
          net.setInput(blob);
          output = net.forward();
          return absl::OkStatus();
        });
    if (status.ok()) status = consume(output);
    // Image-derived data must not outlive the request: zero the output in
    // place and replace the network's input with a blank one.
    WipeMat(output);
    status.Update(internal::CallOpenCv("clearing the model input failed",
                                       absl::StatusCode::kInternal, [&]() -> absl::Status {
                                         net.setInput(blank_);
                                         return absl::OkStatus();
                                       }));
    {
      std::lock_guard<std::mutex> lock(mu_);
      free_.push_back(index);
    }
    available_.notify_one();
    return status;
  }

  std::string_view name() const override { return "opencv-dnn"; }

 private:
  OpenCvModelRunner() = default;

  std::vector<cv::dnn::Net> nets_;  // fixed after Create
  cv::Mat blank_;                    // zeros of the input's shape; read-only
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<size_t> free_;  // guarded by mu_
};

}  // namespace

absl::StatusOr<std::unique_ptr<ModelRunner>> NewOpenCvModelRunner(const LoadedModel& model,
                                                                  const RunnerOptions& options) {
  return OpenCvModelRunner::Create(model, options);
}

}  // namespace veil::inference
