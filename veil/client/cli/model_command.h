// `veil model ...`: model files, a group with its own small table of
// subcommands (today only `manifest`).
#ifndef VEIL_CLIENT_CLI_MODEL_COMMAND_H_
#define VEIL_CLIENT_CLI_MODEL_COMMAND_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// ModelManifestCommandOptions are the arguments of `veil model manifest`.
struct ModelManifestCommandOptions {
  std::string onnx;               // the ONNX file to describe
  std::string family = "yolov5";  // "yolov5" | "yolox"
  std::string id;                 // empty: the file's stem
  std::string version = "unversioned";
  std::string output = "-";  // "-": `out`
};

// RunModelManifest reads the ONNX file, derives its manifest with
// inference::DescribeOnnx (input size from the model, COCO-80 classes, the
// family's pre-processing, the weights' SHA-256) and writes
// inference::ManifestToJson of it to `out`, or atomically to --output.
// "weights" is the ONNX file's name, so the manifest belongs beside it.
// UsageError: an unknown family, an id or version that is empty or not
// printable ASCII, --output naming the ONNX file. NotFound for a missing
// file; InvalidArgument for a file that is not a usable ONNX model.
absl::Status RunModelManifest(const ModelManifestCommandOptions& options, std::ostream& out);

// ModelSubcommands returns the `veil model` subcommands, in help order.
absl::Span<const Subcommand> ModelSubcommands();

// AddModelFlags declares the `model` group on `cmd` (one subcommand
// required) and returns a runner that runs the chosen subcommand.
CommandRunner AddModelFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_MODEL_COMMAND_H_
