#include "veil/client/cli/detect_command.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <utility>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/local_files.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/inference/annotate.h"
#include "veil/inference/detector.h"
#include "veil/inference/model_runner.h"

#ifndef VEIL_REPO_DIR
#error "VEIL_REPO_DIR must name the repository root (set in veil/client/CMakeLists.txt)"
#endif
#ifndef VEIL_SHARED_DIR_DEFAULT
#error "VEIL_SHARED_DIR_DEFAULT must name the shared test data (set in veil/client/CMakeLists.txt)"
#endif

namespace veil::client {
namespace {

namespace fs = std::filesystem;
using inference::ModelFamily;

constexpr char kSharedModel[] = "models/v5lite-e-320-decoded.onnx";

bool IsFile(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

bool IsDirectory(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// SamePath says whether `a` and `b` name the same file (either may not
// exist yet).
bool SamePath(const std::string& a, const std::string& b) {
  std::error_code ec_a, ec_b;
  const fs::path ca = fs::weakly_canonical(a, ec_a);
  const fs::path cb = fs::weakly_canonical(b, ec_b);
  return !ec_a && !ec_b && ca == cb;
}

std::string NoModelMessage(const std::vector<std::string>& tried, const std::string& repo_dir) {
  const std::string models = (fs::path(repo_dir) / "models").string();
  return absl::StrCat(
      "no model found (give --model MANIFEST|ONNX or set $VEIL_MODEL); tried: ",
      absl::StrJoin(tried, ", "),
      "\nTo get yolov5s.onnx, on a machine with internet access run: git clone "
      "https://github.com/ultralytics/yolov5 && cd yolov5 && pip install -r requirements.txt && "
      "python export.py --weights yolov5s.pt --include onnx --imgsz 640",
      "\nthen copy yolov5s.onnx to ", models, "/ and run: veil model manifest ", models,
      "/yolov5s.onnx --id yolov5s --version 7.0 > ", models,
      "/yolov5s.json (see models/README.md)");
}

absl::Status ValidateThreshold(const char* flag, double value) {
  // Written so that NaN fails too.
  if (!(value > 0 && value <= 1)) {
    return UsageError(absl::StrCat(flag, " ", value, ": must be in (0, 1]"));
  }
  return absl::OkStatus();
}

// AnnotationTargets returns, for each image, where its annotated copy goes
// (empty strings without --annotate).
absl::StatusOr<std::vector<std::string>> AnnotationTargets(const DetectCommandOptions& o) {
  std::vector<std::string> targets(o.images.size());
  if (o.annotate.empty()) return targets;
  if (o.annotate == "-") return UsageError("--annotate -: the annotated PNG goes to a file");
  if (IsDirectory(o.annotate)) {
    std::map<std::string, std::string> seen;  // target -> image
    for (size_t i = 0; i < o.images.size(); ++i) {
      const std::string stem = fs::path(o.images[i]).stem().string();
      targets[i] = (fs::path(o.annotate) / absl::StrCat(stem, ".annotated.png")).string();
      auto [it, inserted] = seen.emplace(targets[i], o.images[i]);
      if (!inserted) {
        return UsageError(absl::StrCat("--annotate ", o.annotate, ": ", it->second, " and ",
                                       o.images[i], " would both be written to ", targets[i]));
      }
    }
  } else if (o.images.size() > 1) {
    return UsageError(absl::StrCat(
        "--annotate ", o.annotate, ": with ", o.images.size(),
        " images, --annotate must name an existing directory (each image is written there as "
        "<image stem>.annotated.png)"));
  } else {
    targets[0] = o.annotate;
  }
  for (size_t i = 0; i < o.images.size(); ++i) {
    for (const std::string& image : o.images) {
      if (SamePath(targets[i], image)) {
        return UsageError(absl::StrCat("--annotate would overwrite the input image ", image));
      }
    }
  }
  return targets;
}

// IsUtf8 says whether `s` is what nlohmann::json accepts as a string:
// exactly when its replacing encoder leaves `s` unchanged.
bool IsUtf8(const std::string& s) {
  const nlohmann::json back = nlohmann::json::parse(
      nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), nullptr,
      /*allow_exceptions=*/false);
  return back.is_string() && back.get_ref<const std::string&>() == s;
}

std::string DescribeModel(const inference::LoadedModel& model, const ModelChoice& choice) {
  const inference::ModelManifest& m = model.manifest;
  const std::string where = model.derived ? absl::StrCat("derived from ", model.weights_path,
                                                         " (no manifest: the digest pins nothing)")
                                          : absl::StrCat("manifest ", model.manifest_path);
  return absl::StrCat("veil detect: model ", m.id, " ", m.version, ", ",
                      std::string(inference::ModelFamilyName(m.family)), ", ", m.input_width, "x",
                      m.input_height, ", sha256 ", m.weights_sha256.substr(0, 16), "..., ", where,
                      " (", choice.origin, ")");
}

absl::StatusOr<std::string> JsonLine(const inference::DetectionResult& result,
                                     const std::string& source) {
  const std::string doc = inference::ToJson(result);
  // ToJson has no notion of files; the path as given leads the document so
  // a reader can pair lines with inputs (ordered_json keeps ToJson's order).
  const nlohmann::ordered_json parsed =
      nlohmann::ordered_json::parse(doc, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InternalError("the detector produced a malformed JSON result");
  }
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["source"] = source;
  for (const auto& [key, value] : parsed.items()) line[key] = value;
  // A path need not be UTF-8; replace what is not rather than fail.
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string TextBlock(const inference::DetectionResult& result, const std::string& source,
                      const std::string& annotated) {
  const size_t n = result.detections.size();
  std::string block = absl::StrFormat(
      "%s: %dx%d %s, %d %s in %.1f ms\n", source, result.image.width, result.image.height,
      std::string(inference::ImageFormatName(result.image.format)), n,
      n == 1 ? "detection" : "detections", result.timings.total_ms);
  size_t width = 10;
  for (const inference::Detection& d : result.detections) width = std::max(width, d.label.size());
  for (const inference::Detection& d : result.detections) {
    absl::StrAppendFormat(&block, "  %-*s %.2f  [%d, %d, %d, %d]\n", static_cast<int>(width),
                          d.label, d.confidence, std::lround(d.x), std::lround(d.y),
                          std::lround(d.w), std::lround(d.h));
  }
  if (!annotated.empty()) absl::StrAppend(&block, "  annotated: ", annotated, "\n");
  return block;
}

// DetectOne runs one image and returns what to print for it.
absl::StatusOr<std::string> DetectOne(const inference::Detector& detector,
                                      const inference::DetectOptions& options,
                                      const std::string& path, const std::string& annotate_to,
                                      bool json) {
  // Images may be what the data owner means to keep confidential: hold them
  // in wiping memory, as the enclave does.
  VEIL_ASSIGN_OR_RETURN(SecretBytes image,
                        ReadSecretFile(path, options.limits.max_encoded_bytes, "image"));
  VEIL_ASSIGN_OR_RETURN(inference::DetectionResult result,
                        detector.Detect(image.Expose(), options));
  if (!annotate_to.empty()) {
    VEIL_ASSIGN_OR_RETURN(
        std::vector<uint8_t> png,
        inference::AnnotateToPng(image.Expose(), result.detections, options.limits));
    VEIL_RETURN_IF_ERROR(WriteFileAtomically(annotate_to, png));
  }
  if (json) {
    VEIL_ASSIGN_OR_RETURN(std::string line, JsonLine(result, path));
    return absl::StrCat(line, "\n");
  }
  return TextBlock(result, path, annotate_to);
}

}  // namespace

ModelSearch DefaultModelSearch() {
  ModelSearch search;
  if (const char* env = std::getenv("VEIL_MODEL"); env != nullptr && *env != '\0') {
    search.env_model = env;
  }
  search.repo_dir = VEIL_REPO_DIR;
  const char* shared = std::getenv("VEIL_SHARED_DIR");
  search.shared_dir = shared != nullptr && *shared != '\0' ? shared : VEIL_SHARED_DIR_DEFAULT;
  return search;
}

absl::StatusOr<ModelChoice> ChooseModel(const std::string& model_flag, const ModelSearch& search) {
  if (!model_flag.empty()) return ModelChoice{model_flag, std::nullopt, "--model"};
  if (search.env_model) {
    if (!IsFile(*search.env_model)) {
      return absl::NotFoundError(
          absl::StrCat("$VEIL_MODEL names ", *search.env_model, ", which is not a file"));
    }
    return ModelChoice{*search.env_model, std::nullopt, "$VEIL_MODEL"};
  }
  std::vector<std::string> tried = {"$VEIL_MODEL (not set)"};
  const fs::path models = fs::path(search.repo_dir) / "models";
  for (const char* name : {"yolov5s.json", "yolov5s.onnx"}) {
    const std::string path = (models / name).string();
    if (IsFile(path)) return ModelChoice{path, std::nullopt, "repository models/"};
    tried.push_back(path);
  }
  const std::string shared = (fs::path(search.shared_dir) / kSharedModel).string();
  if (IsFile(shared)) return ModelChoice{shared, ModelFamily::kYolov5, "shared test data"};
  tried.push_back(shared);
  return absl::NotFoundError(NoModelMessage(tried, search.repo_dir));
}

absl::Status RunDetect(const DetectCommandOptions& options, const ModelSearch& search,
                       std::ostream& out, std::ostream& err) {
  if (options.images.empty()) return UsageError("give the images to run detection on");
  VEIL_RETURN_IF_ERROR(ValidateThreshold("--conf", options.conf));
  VEIL_RETURN_IF_ERROR(ValidateThreshold("--iou", options.iou));
  std::optional<ModelFamily> family;
  if (!options.family.empty()) {
    auto parsed = inference::ParseModelFamily(options.family);
    if (!parsed.ok()) {
      return UsageError(absl::StrCat("--family ", options.family, ": must be yolov5 or yolox"));
    }
    family = *parsed;
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<std::string> annotate_to, AnnotationTargets(options));

  VEIL_ASSIGN_OR_RETURN(ModelChoice choice, ChooseModel(options.model, search));
  if (family && choice.family && *family != *choice.family) {
    return UsageError(absl::StrCat("--family ", options.family, " contradicts the ", choice.origin,
                                   " model ", choice.path, ", which is ",
                                   std::string(inference::ModelFamilyName(*choice.family)),
                                   "; name a model with --model"));
  }
  inference::LoadOptions load;
  load.family = family ? family : choice.family;
  VEIL_ASSIGN_OR_RETURN(inference::LoadedModel model, inference::LoadModel(choice.path, load));
  if (!model.derived && family && *family != model.manifest.family) {
    return UsageError(absl::StrCat("--family ", options.family, " contradicts the manifest ",
                                   model.manifest_path, ", which says ",
                                   std::string(inference::ModelFamilyName(model.manifest.family)),
                                   " (a manifest is authoritative; drop --family)"));
  }
  // A derived model is named after its file, and ToJson cannot render a
  // name that is not UTF-8.
  if (model.derived && !IsUtf8(model.manifest.id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model ", model.weights_path, ": the file name is not valid UTF-8; rename it"));
  }
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<inference::ModelRunner> runner,
                        inference::NewOpenCvModelRunner(model, inference::RunnerOptions{}));
  if (!options.json) err << DescribeModel(model, choice) << "\n";
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<inference::Detector> detector,
                        inference::Detector::Create(model.manifest, std::move(runner)));

  inference::DetectOptions detect;
  detect.postprocess.conf_threshold = static_cast<float>(options.conf);
  detect.postprocess.iou_threshold = static_cast<float>(options.iou);
  size_t failed = 0;
  absl::Status first_failure;
  for (size_t i = 0; i < options.images.size(); ++i) {
    const std::string& path = options.images[i];
    absl::StatusOr<std::string> text =
        DetectOne(*detector, detect, path, annotate_to[i], options.json);
    if (!text.ok()) {
      if (failed++ == 0) first_failure = text.status();
      err << "veil detect: " << path << ": " << text.status().message() << "\n" << std::flush;
      continue;
    }
    out << *text << std::flush;
  }
  if (!out) return absl::UnavailableError("cannot write the results (stdout)");
  if (failed == 0) return absl::OkStatus();
  return absl::Status(first_failure.code(),
                      absl::StrCat(failed, " of ", options.images.size(), " images failed"));
}

CommandRunner AddDetectFlags(CLI::App& cmd) {
  auto o = std::make_shared<DetectCommandOptions>();
  cmd.add_option("images", o->images, "JPEG or PNG files, processed in order")
      ->required()
      ->type_name("IMAGE");
  cmd.add_option("--model", o->model,
                 "Model manifest (.json) or ONNX file (a manifest X.json beside X.onnx is "
                 "used and checked). Default: $VEIL_MODEL, then models/yolov5s.json or "
                 ".onnx in the repository, then the shared test model")
      ->type_name("MANIFEST|ONNX");
  cmd.add_option("--family", o->family,
                 "yolov5 (default) or yolox, for an ONNX file without a manifest; must agree "
                 "with a manifest")
      ->type_name("FAMILY");
  cmd.add_flag("--json", o->json,
               "One JSON document per image per line on stdout, with \"source\": the path as "
               "given");
  cmd.add_option("--annotate", o->annotate,
                 "Write a PNG copy with boxes and labels to OUT, or to OUT/<image "
                 "stem>.annotated.png when OUT is an existing directory (required with several "
                 "images)")
      ->type_name("OUT");
  cmd.add_option("--conf", o->conf,
                 "Confidence threshold (objectness x class probability), in (0, 1]")
      ->capture_default_str()
      ->type_name("P");
  cmd.add_option("--iou", o->iou,
                 "Overlap above which NMS drops a box of the same class, in (0, 1]")
      ->capture_default_str()
      ->type_name("P");
  cmd.footer(
      "\nPlaintext inference on this machine: the baseline for the confidential path. A "
      "failing image is reported as 'veil detect: IMAGE: reason' and the others still run "
      "(exit status 1).\n"
      "\nExamples:\n"
      "  veil detect dog.jpg\n"
      "  veil detect dog.jpg horses.jpg --json --model models/yolov5s.json\n"
      "  veil detect dog.jpg --model yolox_nano.onnx --family yolox --annotate dog.png\n");
  return [o] { return RunDetect(*o, DefaultModelSearch(), std::cout, std::cerr); };
}

}  // namespace veil::client
