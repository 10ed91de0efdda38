// Post-processing: decode the network's rows into candidate boxes, keep the
// confident ones, run class-aware non-maximum suppression and map the boxes
// back to image pixels.
#ifndef VEIL_INFERENCE_POSTPROCESS_H_
#define VEIL_INFERENCE_POSTPROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core/mat.hpp"
#include "veil/inference/model.h"
#include "veil/inference/preprocess.h"

namespace veil::inference {

struct PostprocessOptions {
  float conf_threshold = 0.25f;  // obj * best class probability
  float iou_threshold = 0.45f;   // suppress a box overlapping a kept one by more
  int max_detections = 300;
  // Candidates entering NMS, best first; bounds its quadratic cost.
  int max_candidates = 4096;
};

// Candidate is a box in network-input pixels (corners) before NMS.
struct Candidate {
  float x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  float score = 0;
  int class_id = 0;
};

// ExpectedRows returns the rows a model of `manifest`'s family and input
// size outputs: cells on strides 8, 16 and 32, times 3 anchors for YOLOv5
// (6300 at 320x320, 25200 at 640x640), once for YOLOX (3549 at 416x416).
int ExpectedRows(const ModelManifest& manifest);

// DecodeCandidates reads `output` (1 x rows x (5 + classes), CV_32F) for
// `manifest`'s family and returns every row whose score reaches
// conf_threshold, best first (ties by row order). YOLOv5 rows are already
// boxes in input pixels; YOLOX rows are decoded on strides 8, 16 and 32:
// cx = (tx + gx) * s, w = exp(tw) * s. Fails with FailedPrecondition when the
// shape does not fit the manifest (LoadModel already checks the rows
// against ExpectedRows when the model declares them).
absl::StatusOr<std::vector<Candidate>> DecodeCandidates(const cv::Mat& output,
                                                        const ModelManifest& manifest,
                                                        const PostprocessOptions& options);

// IntersectionOverUnion of two corner boxes (0 when either is empty).
float IntersectionOverUnion(const Candidate& a, const Candidate& b);

// NonMaxSuppression keeps, per class, each candidate that overlaps no kept
// candidate of its class by more than iou_threshold, visiting candidates in
// the given (best-first) order. Returns indices into `candidates`, at most
// max_detections, in visiting order.
std::vector<size_t> NonMaxSuppression(const std::vector<Candidate>& candidates,
                                      const PostprocessOptions& options);

// Detection is one result: a box [x, y, w, h] in pixels of the original
// image, clipped to it.
struct Detection {
  int class_id = 0;
  std::string label;
  float confidence = 0;
  float x = 0, y = 0, w = 0, h = 0;
};

// ToDetections maps kept candidates back through `letterbox` (computed on
// an image of `decoded_width` x `decoded_height`) to an original image of
// `width` x `height`, clips them, drops boxes that clip to nothing, and
// orders the result deterministically: confidence descending, then class
// id, then x, then y.
std::vector<Detection> ToDetections(const std::vector<Candidate>& candidates,
                                    const std::vector<size_t>& kept, const Letterbox& letterbox,
                                    int decoded_width, int decoded_height, int width, int height,
                                    const std::vector<std::string>& class_names);

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_POSTPROCESS_H_
