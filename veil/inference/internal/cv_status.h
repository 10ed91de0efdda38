// The one adapter from OpenCV's exceptions to absl::Status (STYLE.md C4).
// Every call into OpenCV that can throw goes through CallOpenCv.
#ifndef VEIL_INFERENCE_INTERNAL_CV_STATUS_H_
#define VEIL_INFERENCE_INTERNAL_CV_STATUS_H_

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "opencv2/core.hpp"

namespace veil::inference::internal {

// CallOpenCv runs `fn`, which returns absl::Status or absl::StatusOr<T>,
// and returns its result; if OpenCV throws, it returns `code` with `what`
// and OpenCV's reason (ResourceExhausted for std::bad_alloc).
template <typename Fn>
auto CallOpenCv(std::string_view what, absl::StatusCode code, Fn&& fn)
    -> std::invoke_result_t<Fn> {
  using Out = std::invoke_result_t<Fn>;
  try {
    return std::forward<Fn>(fn)();
  } catch (const cv::Exception& e) {
    return Out(absl::Status(code, absl::StrCat(std::string(what), ": ", e.err)));
  } catch (const std::bad_alloc&) {
    return Out(absl::ResourceExhaustedError(absl::StrCat(std::string(what), ": out of memory")));
  } catch (const std::exception& e) {
    return Out(absl::Status(code, absl::StrCat(std::string(what), ": ", e.what())));
  }
}

}  // namespace veil::inference::internal

#endif  // VEIL_INFERENCE_INTERNAL_CV_STATUS_H_
