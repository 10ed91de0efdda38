#include "veil/client/cli/model_command.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/local_files.h"
#include "veil/common/status_macros.h"
#include "veil/inference/model.h"

namespace veil::client {
namespace {

namespace fs = std::filesystem;

// The same bound LoadModel puts on weights by default.
constexpr size_t kMaxModelBytes = size_t{1} << 30;

absl::StatusOr<std::vector<uint8_t>> ReadModelFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open model ", path));
  absl::Cleanup closer = [fd] { ::close(fd); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("cannot stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("model ", path, " is not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxModelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("model ", path, " is larger than ", kMaxModelBytes, " bytes"));
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t total = 0;
  while (total < data.size()) {
    const ssize_t n = ::read(fd, data.data() + total, data.size() - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  if (total != data.size()) {
    return absl::DataLossError(absl::StrCat("model ", path, " changed while being read"));
  }
  return data;
}

// Manifest strings are identifiers; printable ASCII keeps them readable in
// logs and results, and renderable as JSON whatever the file name was.
bool IsPrintableAscii(const std::string& s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

CommandRunner AddModelManifestFlags(CLI::App& cmd) {
  auto o = std::make_shared<ModelManifestCommandOptions>();
  cmd.add_option("onnx", o->onnx, "The ONNX model to describe")
      ->required()
      ->type_name("MODEL.onnx");
  cmd.add_option("--family", o->family,
                 "yolov5 (rows already decoded to boxes) or yolox (grid decode)")
      ->capture_default_str()
      ->type_name("FAMILY");
  cmd.add_option("--id", o->id, "Model id (default: the file name without .onnx)")->type_name("ID");
  cmd.add_option("--version", o->version, "Model version")->capture_default_str()->type_name("V");
  cmd.add_option("--output", o->output, "Where to write the manifest (atomically), or - for stdout")
      ->capture_default_str()
      ->type_name("FILE");
  cmd.footer(
      "\nThe manifest names the ONNX file by its file name and pins its SHA-256: keep it "
      "beside the model as <stem>.json, where veil detect --model <stem>.onnx finds it.\n"
      "\nExample:\n"
      "  veil model manifest models/yolov5s.onnx --id yolov5s --version 7.0 \\\n"
      "      --output models/yolov5s.json\n");
  return [o] { return RunModelManifest(*o, std::cout); };
}

constexpr Subcommand kModelSubcommands[] = {
    {"manifest",
     "Print the manifest for an ONNX model (input size, classes, pre-processing, SHA-256)",
     &AddModelManifestFlags},
};

}  // namespace

absl::Status RunModelManifest(const ModelManifestCommandOptions& options, std::ostream& out) {
  if (options.onnx.empty()) return UsageError("give the ONNX model to describe");
  auto family = inference::ParseModelFamily(options.family);
  if (!family.ok()) {
    return UsageError(absl::StrCat("--family ", options.family, ": must be yolov5 or yolox"));
  }
  const fs::path path(options.onnx);
  const std::string file_name = path.filename().string();
  if (!IsPrintableAscii(file_name)) {
    return UsageError(absl::StrCat("model file name ", options.onnx,
                                   ": a manifest names its weights in printable ASCII; rename "
                                   "the file"));
  }
  const std::string id = options.id.empty() ? path.stem().string() : options.id;
  if (!IsPrintableAscii(id)) return UsageError("--id must be non-empty printable ASCII");
  if (!IsPrintableAscii(options.version)) {
    return UsageError("--version must be non-empty printable ASCII");
  }
  const bool to_stdout = options.output.empty() || options.output == "-";
  if (!to_stdout) {
    std::error_code ec_a, ec_b;
    if (fs::weakly_canonical(options.output, ec_a) == fs::weakly_canonical(path, ec_b) && !ec_a &&
        !ec_b) {
      return UsageError("--output names the model itself");
    }
  }

  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> weights, ReadModelFile(options.onnx));
  VEIL_ASSIGN_OR_RETURN(inference::ModelManifest manifest,
                        inference::DescribeOnnx(weights, *family, id, file_name));
  manifest.version = options.version;
  const std::string json = inference::ManifestToJson(manifest);
  if (to_stdout) {
    out << json << std::flush;
    if (!out) return absl::UnavailableError("cannot write the manifest (stdout)");
    return absl::OkStatus();
  }
  return WriteFileAtomically(
      options.output,
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(json.data()), json.size()));
}

absl::Span<const Subcommand> ModelSubcommands() { return kModelSubcommands; }

CommandRunner AddModelFlags(CLI::App& cmd) {
  cmd.require_subcommand(1);
  cmd.footer(
      "\nA model is an ONNX file plus a manifest beside it (veil/inference/model.h, "
      "models/README.md).\n"
      "\nRun 'veil model <command> --help' for the flags of a command.\n");
  auto chosen = std::make_shared<CommandRunner>();
  for (const Subcommand& command : kModelSubcommands) {
    CLI::App* sub = cmd.add_subcommand(command.name, command.summary);
    CommandRunner runner = command.add_flags(*sub);
    sub->final_callback([chosen, runner] { *chosen = runner; });
  }
  return [chosen]() -> absl::Status {
    if (!*chosen) return UsageError("no model command given (see 'veil model --help')");
    return (*chosen)();
  };
}

}  // namespace veil::client
