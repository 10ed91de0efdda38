// FakeModelRunner: a ModelRunner that returns a prepared output, for tests
// of the layers above the engine (detector, enclave pipeline). It records
// the shape of every blob it was given and keeps a copy of the last one.
#ifndef VEIL_INFERENCE_TESTING_FAKE_MODEL_RUNNER_H_
#define VEIL_INFERENCE_TESTING_FAKE_MODEL_RUNNER_H_

#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core/mat.hpp"
#include "veil/inference/model_runner.h"

namespace veil::inference::testing {

class FakeModelRunner final : public ModelRunner {
 public:
  // Every Run passes a copy of `output` to its consumer; `status`, when not
  // OK, is returned instead.
  explicit FakeModelRunner(cv::Mat output, absl::Status status = absl::OkStatus())
      : output_(std::move(output)), status_(std::move(status)) {}

  absl::Status Run(const cv::Mat& blob,
                   absl::FunctionRef<absl::Status(const cv::Mat& output)> consume) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_shapes_.emplace_back(blob.size.p, blob.size.p + blob.dims);
      last_blob_ = blob.clone();
    }
    if (!status_.ok()) return status_;
    return consume(output_.clone());
  }
  std::string_view name() const override { return "fake"; }

  std::vector<std::vector<int>> seen_shapes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_shapes_;
  }

  // last_blob returns a copy of the blob given to the latest Run (empty
  // before the first). The detector wipes its own blob after Run; this copy
  // is what the network would have seen.
  cv::Mat last_blob() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_blob_.clone();
  }

  // Rows builds a 1 x rows.size() x (5 + classes) output from rows of
  // [cx, cy, w, h, obj, p0, ...], zero-filling missing class scores.
  static cv::Mat Rows(const std::vector<std::vector<float>>& rows, int classes) {
    const int dims[] = {1, static_cast<int>(rows.size()), 5 + classes};
    cv::Mat out(3, dims, CV_32F, cv::Scalar(0));
    for (size_t i = 0; i < rows.size(); ++i) {
      float* r = out.ptr<float>() + i * (5 + classes);
      for (size_t j = 0; j < rows[i].size() && j < static_cast<size_t>(5 + classes); ++j) {
        r[j] = rows[i][j];
      }
    }
    return out;
  }

 private:
  const cv::Mat output_;
  const absl::Status status_;
  mutable std::mutex mu_;
  std::vector<std::vector<int>> seen_shapes_;
  cv::Mat last_blob_;
};

}  // namespace veil::inference::testing

#endif  // VEIL_INFERENCE_TESTING_FAKE_MODEL_RUNNER_H_
