#include "veil/inference/model.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"
#include "veil/inference/internal/onnx_shape.h"
#include "veil/inference/postprocess.h"

namespace veil::inference {
namespace {

constexpr char kManifestFormat[] = "veil-model-manifest/1";
constexpr size_t kMaxManifestBytes = 1 << 20;
constexpr int kMaxInputSide = 4096;
constexpr size_t kMaxClasses = 10000;

using nlohmann::json;

absl::Status Bad(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("model manifest: \"", std::string(key), "\" ", std::string(what)));
}

absl::StatusOr<std::string> RequiredString(const json& doc, std::string_view key) {
  auto it = doc.find(std::string(key));
  if (it == doc.end()) return Bad(key, "is missing");
  if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Bad(key, "must be a non-empty string");
  }
  return it->get<std::string>();
}

absl::StatusOr<int> InputSide(const json& input, std::string_view key) {
  auto it = input.find(std::string(key));
  if (it == input.end() || !it->is_number_integer()) {
    return Bad(absl::StrCat("input.", std::string(key)), "must be an integer");
  }
  const int64_t v = it->get<int64_t>();
  if (v < 32 || v > kMaxInputSide || v % 32 != 0) {
    return Bad(absl::StrCat("input.", std::string(key)),
               absl::StrCat("must be a multiple of 32 in [32, ", kMaxInputSide, "]"));
  }
  return static_cast<int>(v);
}

absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::string& path, size_t max_bytes,
                                              std::string_view what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::NotFoundError(absl::StrCat(std::string(what), " not found: ", path));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot stat ", path, ": ", ec.message()));
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " ", path, " is ", size,
                                                   " bytes; the limit is ", max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)) ||
      in.peek() != std::char_traits<char>::eof()) {
    return absl::DataLossError(absl::StrCat("could not read ", path, " in full"));
  }
  return bytes;
}

std::string Sha256Hex(absl::Span<const uint8_t> data) {
  return HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, data));
}

// CheckSignature checks the model's declared tensors: input [1, 3, H, W]
// and output [1, rows, 5 + classes]; symbolic dimensions are accepted.
absl::Status CheckSignature(const internal::OnnxSignature& sig, const ModelManifest& m) {
  const auto& in = sig.input.dims;
  const auto fixed = [](int64_t d, int64_t want) { return d < 0 || d == want; };
  if (in.size() != 4 || !fixed(in[0], 1) || !fixed(in[1], 3) || !fixed(in[2], m.input_height) ||
      !fixed(in[3], m.input_width)) {
    std::string dims;
    for (int64_t d : in) absl::StrAppend(&dims, dims.empty() ? "" : "x", d);
    return absl::FailedPreconditionError(absl::StrCat(
        "model input '", sig.input.name, "' is ", dims, "; the manifest expects 1x3x",
        m.input_height, "x", m.input_width));
  }
  const auto& out = sig.output.dims;
  const int64_t cols = 5 + static_cast<int64_t>(m.class_names.size());
  if (out.size() != 3 || !fixed(out[0], 1) || !fixed(out[2], cols)) {
    std::string dims;
    for (int64_t d : out) absl::StrAppend(&dims, dims.empty() ? "" : "x", d);
    return absl::FailedPreconditionError(absl::StrCat(
        "model output '", sig.output.name, "' is ", dims, "; expected 1xNx", cols, " (5 + ",
        m.class_names.size(), " classes)"));
  }
  const int64_t rows = ExpectedRows(m);
  if (out[1] >= 0 && out[1] != rows) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model output '", sig.output.name, "' has ", out[1], " rows; a ",
        std::string(ModelFamilyName(m.family)), " model with a ", m.input_width, "x",
        m.input_height, " input has ", rows,
        m.family == ModelFamily::kYolov5 ? " (is it a YOLOX model? use family yolox)"
                                         : " (is it a YOLOv5 model? use family yolov5)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view ModelFamilyName(ModelFamily family) {
  return family == ModelFamily::kYolov5 ? "yolov5" : "yolox";
}

absl::StatusOr<ModelFamily> ParseModelFamily(std::string_view name) {
  if (name == "yolov5") return ModelFamily::kYolov5;
  if (name == "yolox") return ModelFamily::kYolox;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model family '", std::string(name), "' (yolov5 or yolox)"));
}

Preprocessing DefaultPreprocessing(ModelFamily family) {
  if (family == ModelFamily::kYolox) {
    return Preprocessing{LetterboxPlacement::kTopLeft, 114, /*swap_rb=*/false, 1.0};
  }
  return Preprocessing{LetterboxPlacement::kCenter, 114, /*swap_rb=*/true, 1 / 255.0};
}

const std::vector<std::string>& CocoClassNames() {
  static const std::vector<std::string> names = {
      "person",        "bicycle",      "car",           "motorcycle",    "airplane",
      "bus",           "train",        "truck",         "boat",          "traffic light",
      "fire hydrant",  "stop sign",    "parking meter", "bench",         "bird",
      "cat",           "dog",          "horse",         "sheep",         "cow",
      "elephant",      "bear",         "zebra",         "giraffe",       "backpack",
      "umbrella",      "handbag",      "tie",           "suitcase",      "frisbee",
      "skis",          "snowboard",    "sports ball",   "kite",          "baseball bat",
      "baseball glove", "skateboard",  "surfboard",     "tennis racket", "bottle",
      "wine glass",    "cup",          "fork",          "knife",         "spoon",
      "bowl",          "banana",       "apple",         "sandwich",      "orange",
      "broccoli",      "carrot",       "hot dog",       "pizza",         "donut",
      "cake",          "chair",        "couch",         "potted plant",  "bed",
      "dining table",  "toilet",       "tv",            "laptop",        "mouse",
      "remote",        "keyboard",     "cell phone",    "microwave",     "oven",
      "toaster",       "sink",         "refrigerator",  "book",          "clock",
      "vase",          "scissors",     "teddy bear",    "hair drier",    "toothbrush"};
  return names;
}

absl::StatusOr<ModelManifest> ParseManifest(std::string_view text) {
  if (text.size() > kMaxManifestBytes) {
    return absl::InvalidArgumentError("model manifest is larger than 1 MiB");
  }
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("model manifest is not a JSON object");
  }
  static const char* const kKnown[] = {"format", "id",      "version", "family",  "weights",
                                       "weights_sha256", "input", "classes", "preprocess"};
  for (const auto& [key, value] : doc.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return Bad(key, "is not a manifest key");
    }
  }
  ModelManifest m;
  VEIL_ASSIGN_OR_RETURN(std::string format, RequiredString(doc, "format"));
  if (format != kManifestFormat) {
    return Bad("format", absl::StrCat("must be \"", kManifestFormat, "\""));
  }
  VEIL_ASSIGN_OR_RETURN(m.id, RequiredString(doc, "id"));
  VEIL_ASSIGN_OR_RETURN(m.version, RequiredString(doc, "version"));
  VEIL_ASSIGN_OR_RETURN(std::string family, RequiredString(doc, "family"));
  auto parsed_family = ParseModelFamily(family);
  if (!parsed_family.ok()) return Bad("family", "must be \"yolov5\" or \"yolox\"");
  m.family = *parsed_family;
  VEIL_ASSIGN_OR_RETURN(m.weights, RequiredString(doc, "weights"));
  if (m.weights.find('/') != std::string::npos || m.weights == "." || m.weights == "..") {
    return Bad("weights", "must be a file name beside the manifest");
  }
  VEIL_ASSIGN_OR_RETURN(m.weights_sha256, RequiredString(doc, "weights_sha256"));
  if (m.weights_sha256.size() != 64 ||
      m.weights_sha256.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return Bad("weights_sha256", "must be 64 lower-case hex digits");
  }
  auto input = doc.find("input");
  if (input == doc.end() || !input->is_object()) return Bad("input", "must be an object");
  VEIL_ASSIGN_OR_RETURN(m.input_width, InputSide(*input, "width"));
  VEIL_ASSIGN_OR_RETURN(m.input_height, InputSide(*input, "height"));

  auto classes = doc.find("classes");
  if (classes == doc.end() || (classes->is_string() && *classes == "coco80")) {
    m.class_names = CocoClassNames();
  } else if (classes->is_array() && !classes->empty() && classes->size() <= kMaxClasses) {
    for (const json& name : *classes) {
      if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
        return Bad("classes", "must hold non-empty strings");
      }
      m.class_names.push_back(name.get<std::string>());
    }
  } else {
    return Bad("classes", "must be \"coco80\" or a non-empty array of names");
  }

  m.preprocessing = DefaultPreprocessing(m.family);
  auto pre = doc.find("preprocess");
  if (pre != doc.end()) {
    if (!pre->is_object()) return Bad("preprocess", "must be an object");
    for (const auto& [key, value] : pre->items()) {
      if (key == "letterbox" && value == "center") {
        m.preprocessing.placement = LetterboxPlacement::kCenter;
      } else if (key == "letterbox" && value == "top_left") {
        m.preprocessing.placement = LetterboxPlacement::kTopLeft;
      } else if (key == "channel_order" && value == "rgb") {
        m.preprocessing.swap_rb = true;
      } else if (key == "channel_order" && value == "bgr") {
        m.preprocessing.swap_rb = false;
      } else if (key == "pad_value" && value.is_number_integer() && value >= 0 && value <= 255) {
        m.preprocessing.pad_value = value.get<int>();
      } else if (key == "scale" && value.is_number() && value.get<double>() > 0 &&
                 std::isfinite(value.get<double>())) {
        m.preprocessing.scale = value.get<double>();
      } else {
        return Bad(absl::StrCat("preprocess.", key), "has an invalid value or is unknown");
      }
    }
  }
  return m;
}

std::string ManifestToJson(const ModelManifest& m) {
  json doc = {
      {"format", kManifestFormat},
      {"id", m.id},
      {"version", m.version},
      {"family", std::string(ModelFamilyName(m.family))},
      {"weights", m.weights},
      {"weights_sha256", m.weights_sha256},
      {"input", {{"width", m.input_width}, {"height", m.input_height}}},
  };
  if (m.class_names == CocoClassNames()) {
    doc["classes"] = "coco80";
  } else {
    doc["classes"] = m.class_names;
  }
  const Preprocessing& p = m.preprocessing;
  doc["preprocess"] = {
      {"letterbox", p.placement == LetterboxPlacement::kCenter ? "center" : "top_left"},
      {"pad_value", p.pad_value},
      {"channel_order", p.swap_rb ? "rgb" : "bgr"},
      {"scale", p.scale},
  };
  return doc.dump(2) + "\n";
}

absl::StatusOr<ModelManifest> DescribeOnnx(absl::Span<const uint8_t> weights, ModelFamily family,
                                           std::string id, std::string weights_file) {
  VEIL_ASSIGN_OR_RETURN(internal::OnnxSignature sig, internal::ReadOnnxSignature(weights));
  const auto& in = sig.input.dims;
  if (in.size() != 4 || in[2] <= 0 || in[3] <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model input '", sig.input.name,
        "' has no fixed NCHW size; write a manifest that gives input.width and input.height"));
  }
  ModelManifest m;
  m.id = std::move(id);
  m.version = "unversioned";
  m.family = family;
  m.weights = std::move(weights_file);
  m.weights_sha256 = Sha256Hex(weights);
  m.input_height = static_cast<int>(in[2]);
  m.input_width = static_cast<int>(in[3]);
  m.class_names = CocoClassNames();
  m.preprocessing = DefaultPreprocessing(family);
  if (m.input_width > kMaxInputSide || m.input_height > kMaxInputSide) {
    return absl::InvalidArgumentError("model input is larger than 4096 pixels on a side");
  }
  VEIL_RETURN_IF_ERROR(CheckSignature(sig, m));
  return m;
}

absl::StatusOr<LoadedModel> LoadModel(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  LoadedModel model;
  fs::path p(path);
  fs::path manifest_path;
  if (p.extension() == ".json") {
    manifest_path = p;
  } else if (fs::path beside = fs::path(p).replace_extension(".json"); fs::exists(beside)) {
    manifest_path = beside;
  }

  if (manifest_path.empty()) {
    VEIL_ASSIGN_OR_RETURN(model.weights, ReadFile(path, options.max_weights_bytes, "model"));
    VEIL_ASSIGN_OR_RETURN(
        model.manifest,
        DescribeOnnx(model.weights, options.family.value_or(ModelFamily::kYolov5),
                     p.stem().string(), p.filename().string()));
    model.weights_path = path;
    model.derived = true;
    return model;
  }

  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> text,
                        ReadFile(manifest_path.string(), kMaxManifestBytes, "model manifest"));
  VEIL_ASSIGN_OR_RETURN(
      model.manifest,
      ParseManifest(std::string_view(reinterpret_cast<const char*>(text.data()), text.size())));
  model.manifest_path = manifest_path.string();
  const fs::path weights_path = manifest_path.parent_path() / model.manifest.weights;
  if (p.extension() != ".json" && fs::weakly_canonical(weights_path) != fs::weakly_canonical(p)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the manifest beside ", path, " (", model.manifest_path, ") describes ",
        weights_path.string(), ", not this file"));
  }
  model.weights_path = weights_path.string();
  VEIL_ASSIGN_OR_RETURN(model.weights,
                        ReadFile(model.weights_path, options.max_weights_bytes, "model weights"));
  // The digest is computed over the very bytes the network will be built
  // from, so a file swapped after this check changes nothing.
  const std::string actual = Sha256Hex(model.weights);
  if (actual != model.manifest.weights_sha256) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model weights ", model.weights_path, " do not match the manifest ",
        model.manifest_path, ": SHA-256 is ", actual, ", the manifest pins ",
        model.manifest.weights_sha256));
  }
  VEIL_ASSIGN_OR_RETURN(internal::OnnxSignature sig, internal::ReadOnnxSignature(model.weights));
  VEIL_RETURN_IF_ERROR(CheckSignature(sig, model.manifest));
  return model;
}

}  // namespace veil::inference
