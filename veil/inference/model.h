// Models and their manifests.
//
// A model is an ONNX file plus a manifest: a small JSON document next to it
// that says what the weights are (family, input size, pre-processing, class
// names) and pins them by SHA-256. LoadModel reads the weights once, checks
// the digest over exactly the bytes the network is then built from (no
// window between check and use), and checks the model's declared tensor
// shapes against the manifest. The digest is part of what an enclave
// measures and reports (docs/inference.md).
//
// Manifest (all keys but "classes" and "preprocess" required):
//   {
//     "format": "veil-model-manifest/1",
//     "id": "yolov5s", "version": "7.0",
//     "family": "yolov5" | "yolox",
//     "weights": "yolov5s.onnx",             // relative to the manifest
//     "weights_sha256": "<64 hex digits>",
//     "input": {"width": 640, "height": 640},
//     "classes": "coco80" | ["person", ...],  // default "coco80"
//     "preprocess": {                         // default: the family's
//       "letterbox": "center" | "top_left", "pad_value": 114,
//       "channel_order": "rgb" | "bgr", "scale": 0.003921568627451
//     }
//   }
#ifndef VEIL_INFERENCE_MODEL_H_
#define VEIL_INFERENCE_MODEL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::inference {

// ModelFamily selects pre-processing defaults and the output decoding.
//   kYolov5: rows [cx, cy, w, h, obj, p0..pC-1] with boxes already decoded
//            to pixels of the network input (Ultralytics' exported Detect).
//   kYolox:  rows [tx, ty, tw, th, obj, p...] on strides 8/16/32 that still
//            need the grid decode (Megvii YOLOX export).
enum class ModelFamily { kYolov5, kYolox };

std::string_view ModelFamilyName(ModelFamily family);
absl::StatusOr<ModelFamily> ParseModelFamily(std::string_view name);

enum class LetterboxPlacement { kCenter, kTopLeft };

struct Preprocessing {
  LetterboxPlacement placement = LetterboxPlacement::kCenter;
  int pad_value = 114;
  bool swap_rb = true;      // feed RGB (true) or BGR (false)
  double scale = 1 / 255.0;  // multiplies every 0..255 sample
};

// DefaultPreprocessing returns the family's published pre-processing:
// YOLOv5 centre letterbox, RGB in [0,1]; YOLOX top-left, BGR in 0..255.
Preprocessing DefaultPreprocessing(ModelFamily family);

struct ModelManifest {
  std::string id;
  std::string version;
  ModelFamily family = ModelFamily::kYolov5;
  std::string weights;         // file name, relative to the manifest
  std::string weights_sha256;  // lower-case hex
  int input_width = 0;
  int input_height = 0;
  std::vector<std::string> class_names;
  Preprocessing preprocessing;
};

// CocoClassNames returns the 80 COCO class names in YOLOv5's spelling and
// order (index = class id).
const std::vector<std::string>& CocoClassNames();

// ParseManifest parses and validates a manifest document. InvalidArgument
// names the offending key.
absl::StatusOr<ModelManifest> ParseManifest(std::string_view json);

// ManifestToJson renders a manifest (classes as "coco80" when they are).
std::string ManifestToJson(const ModelManifest& manifest);

// LoadedModel is a manifest with the verified weights it describes.
struct LoadedModel {
  ModelManifest manifest;
  std::vector<uint8_t> weights;  // exactly the bytes that were hashed
  std::string manifest_path;     // empty when derived from the ONNX alone
  std::string weights_path;
  // True when no manifest was found and the description was derived from
  // the ONNX file and the options (no digest was pinned).
  bool derived = false;
};

struct LoadOptions {
  // For an ONNX file without a manifest beside it: the family (default
  // yolov5). Ignored when a manifest is used.
  std::optional<ModelFamily> family;
  size_t max_weights_bytes = size_t{1} << 30;
};

// LoadModel loads `path`, which names a manifest (.json) or an ONNX file.
// For `X.onnx` the manifest `X.json` beside it is used when present;
// otherwise the family comes from `options`, the input size from the
// model's declared input, the classes are COCO-80 and the digest is computed
// and reported but pins nothing.
//
// Errors: NotFound for a missing file; InvalidArgument for a malformed
// manifest or model; FailedPrecondition when the weights' SHA-256 differs
// from the manifest's, or the model's declared input/output shapes
// disagree with the manifest.
absl::StatusOr<LoadedModel> LoadModel(const std::string& path,
                                      const LoadOptions& options = LoadOptions());

// DescribeOnnx derives a manifest for ONNX `weights` (as LoadModel does for
// an ONNX file without a manifest) with the given id and file name.
absl::StatusOr<ModelManifest> DescribeOnnx(absl::Span<const uint8_t> weights, ModelFamily family,
                                           std::string id, std::string weights_file);

}  // namespace veil::inference

#endif  // VEIL_INFERENCE_MODEL_H_
