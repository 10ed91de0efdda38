// Pre-processing: letterbox an image into the network's input and build the
// NCHW float blob, per the model's Preprocessing.
#ifndef VEIL_INFERENCE_PREPROCESS_H_
#define VEIL_INFERENCE_PREPROCESS_H_

#include "absl/status/statusor.h"
#include "opencv2/core/mat.hpp"
#include "veil/inference/model.h"

namespace veil::inference {

// Letterbox records where the image landed inside the network input, so
// boxes can be mapped back: x_image = (x_input - pad_x) / scale.
struct Letterbox {
  double scale = 1;  // input pixels per image pixel (of the image given)
  int pad_x = 0;
  int pad_y = 0;
  int resized_width = 0;
  int resized_height = 0;
};

// ComputeLetterbox returns the placement of a `width` x `height` image in
// an `input_width` x `input_height` input. Centre placement follows
// Ultralytics' letterbox (round the resized size half to even, as Python's
// round does; split the padding with round(d - 0.1) before). Top-left
// placement rounds the resized size too, where upstream YOLOX truncates:
// 773 x 512 into 416 is 416 x 276, not 415 x 275 (the product is just under
// 416), which is what the reference detections for yolox_nano were made with.
Letterbox ComputeLetterbox(int width, int height, int input_width, int input_height,
                           LetterboxPlacement placement);

// MakeInputBlob letterboxes 8-bit BGR `image` into `manifest`'s input size
// (INTER_LINEAR, padding with pad_value) and returns the 1x3xHxW CV_32F blob
// (channels swapped to RGB when the model wants RGB, every sample times
// scale). `canvas` is scratch the caller may wipe afterwards.
absl::StatusOr<cv::Mat> MakeInputBlob(const cv::Mat& image, const ModelManifest& manifest,
                                      Letterbox* out_letterbox, cv::Mat* canvas);

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_PREPROCESS_H_
