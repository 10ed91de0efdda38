// `veil detect`: object detection on local images, in plaintext. This is the
// baseline the confidential path (the same detector inside an enclave) is
// measured against; nothing here is encrypted.
#ifndef VEIL_CLIENT_CLI_DETECT_COMMAND_H_
#define VEIL_CLIENT_CLI_DETECT_COMMAND_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "veil/client/cli/command.h"
#include "veil/inference/model.h"

namespace veil::client {

// DetectCommandOptions are the arguments of `veil detect`, unvalidated.
struct DetectCommandOptions {
  std::vector<std::string> images;  // JPEG or PNG files, processed in order
  std::string model;                // manifest or ONNX; empty: see ChooseModel
  std::string family;               // "yolov5" | "yolox"; empty: not given
  bool json = false;                // one JSON document per image per line
  std::string annotate;             // OUT.png, or a directory for <stem>.annotated.png
  double conf = 0.25;
  double iou = 0.45;
};

// ModelSearch is where `veil detect` looks for a model when --model is not
// given.
struct ModelSearch {
  std::optional<std::string> env_model;  // $VEIL_MODEL when set and not empty
  std::string repo_dir;                  // models/yolov5s.{json,onnx} under it
  std::string shared_dir;                // models/v5lite-e-320-decoded.onnx under it
};

// DefaultModelSearch reads $VEIL_MODEL, and takes the repository the binary
// was built from and the shared test data ($VEIL_SHARED_DIR, else the
// build-time default: ../shared beside the repository).
ModelSearch DefaultModelSearch();

// ModelChoice is the model `veil detect` will load.
struct ModelChoice {
  std::string path;
  // Set when the location fixes the family (the shared YOLOv5 test model).
  std::optional<inference::ModelFamily> family;
  std::string origin;  // "--model", "$VEIL_MODEL", "repository models/", "shared test data"
};

// ChooseModel returns `model_flag` when it is not empty. Otherwise, in this
// order: $VEIL_MODEL (used as given, never silently replaced by a fallback,
// so a typo there is an error), <repo>/models/yolov5s.json,
// <repo>/models/yolov5s.onnx, <shared>/models/v5lite-e-320-decoded.onnx
// (family yolov5). NotFound when none exists; the message lists every path
// tried and says how to export yolov5s.onnx.
absl::StatusOr<ModelChoice> ChooseModel(const std::string& model_flag, const ModelSearch& search);

// RunDetect validates `options` (UsageError: no images, --conf or --iou
// outside (0, 1], an unknown --family or one that contradicts a manifest,
// --annotate that is not a directory with several images), loads the model
// once, then detects on each image in order.
//
// stdout (`out`): with --json one line per image, ToJson's document with a
// leading "source" key holding the path as given; otherwise a header line
// per image ("dog.jpg: 768x576 jpeg, 4 detections in 27.1 ms") and one line
// per detection ("  dog        0.70  [135, 204, 194, 333]", box x, y, w, h
// rounded). Without --json the model used is described on `err` first.
//
// A failing image (unreadable, not JPEG/PNG, truncated, over the intake
// limits, or an annotation that cannot be written) prints
// "veil detect: <path>: <message>" on `err`, writes nothing on `out`, and
// the others still run; the result is then an error ("N of M images
// failed", exit status 1). Model errors fail the whole command.
absl::Status RunDetect(const DetectCommandOptions& options, const ModelSearch& search,
                       std::ostream& out, std::ostream& err);

// AddDetectFlags declares the arguments on `cmd` and returns the runner
// (the command table's entry for `detect`).
CommandRunner AddDetectFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_DETECT_COMMAND_H_
