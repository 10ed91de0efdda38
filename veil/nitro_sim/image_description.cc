#include "veil/nitro_sim/image_description.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/status_macros.h"

namespace veil::nitro_sim {
namespace {

constexpr size_t kMaxDescriptionSize = 64 * 1024;
constexpr size_t kMaxLabelLength = 64;

absl::Status Bad(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("image description: \"", std::string(key), "\" ", std::string(what)));
}

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

absl::StatusOr<std::string> Label(const nlohmann::json& doc, std::string_view key) {
  const nlohmann::json& v = doc.at(std::string(key));
  if (!v.is_string()) return Bad(key, "must be a string");
  const std::string s = v.get<std::string>();
  if (s.empty() || s.size() > kMaxLabelLength) return Bad(key, "must be 1 to 64 characters");
  for (char c : s) {
    if (!IsLabelChar(c)) return Bad(key, "may hold only letters, digits and . _ + -");
  }
  return s;
}

absl::StatusOr<std::string> PathValue(const nlohmann::json& v, std::string_view key) {
  if (!v.is_string()) return Bad(key, "must hold path strings");
  std::string s = v.get<std::string>();
  if (s.empty()) return Bad(key, "holds an empty path");
  if (s.find('\0') != std::string::npos) return Bad(key, "holds a path with a NUL byte");
  const std::string base = BaseName(s);
  if (base.empty() || base == "." || base == "..") {
    return Bad(key, absl::StrCat("holds \"", s, "\", which does not name a file"));
  }
  return s;
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.front() == '/' || base_dir.empty()) return path;
  if (base_dir.back() == '/') return base_dir + path;
  return absl::StrCat(base_dir, "/", path);
}

}  // namespace

std::vector<std::string> EnclaveImageDescription::Parts() const {
  std::vector<std::string> parts;
  parts.reserve(files.size() + 1);
  parts.push_back(binary);
  parts.insert(parts.end(), files.begin(), files.end());
  return parts;
}

std::string BaseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::string(path);
  if (path.size() == 1) return "";  // "/"
  return std::string(path.substr(slash + 1));
}

absl::StatusOr<EnclaveImageDescription> ParseImageDescription(std::string_view json,
                                                              const std::string& base_dir) {
  if (json.size() > kMaxDescriptionSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("image description: larger than ", kMaxDescriptionSize, " bytes"));
  }
  // nlohmann keeps the last of repeated keys; the callback sees every key of
  // the top-level object (depth 1) so that a repeat can be refused.
  std::set<std::string> seen;
  std::string repeated;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t event,
                                             nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second && repeated.empty()) {
        repeated = parsed.get<std::string>();
      }
    }
    return true;
  };
  const nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), cb,
                                                   /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("image description: not valid JSON");
  if (!doc.is_object()) return absl::InvalidArgumentError("image description: not a JSON object");
  if (!repeated.empty()) return Bad(repeated, "appears more than once");
  static const char* const kKeys[] = {"format", "name", "version", "binary", "files", "config"};
  for (const auto& [key, value] : doc.items()) {
    bool known = false;
    for (const char* k : kKeys) known = known || key == k;
    if (!known) return Bad(key, "is not a known key (format, name, version, binary, files, config)");
  }
  for (const char* k : kKeys) {
    if (!doc.contains(k)) return Bad(k, "is missing");
  }

  const nlohmann::json& format = doc.at("format");
  if (!format.is_string() || format.get<std::string>() != kImageDescriptionFormat) {
    return Bad("format", absl::StrCat("must be \"", kImageDescriptionFormat, "\""));
  }
  EnclaveImageDescription d;
  VEIL_ASSIGN_OR_RETURN(d.name, Label(doc, "name"));
  VEIL_ASSIGN_OR_RETURN(d.version, Label(doc, "version"));
  VEIL_ASSIGN_OR_RETURN(std::string binary, PathValue(doc.at("binary"), "binary"));

  const nlohmann::json& files = doc.at("files");
  if (!files.is_array()) return Bad("files", "must be an array of paths");
  if (files.empty()) return Bad("files", "must name at least the configuration file");
  std::vector<std::string> raw_files;
  for (const nlohmann::json& f : files) {
    VEIL_ASSIGN_OR_RETURN(std::string path, PathValue(f, "files"));
    raw_files.push_back(std::move(path));
  }

  std::set<std::string> basenames = {BaseName(binary)};
  for (const std::string& f : raw_files) {
    if (!basenames.insert(BaseName(f)).second) {
      return Bad("files", absl::StrCat("has two parts named \"", BaseName(f),
                                       "\" (base names must be unique, binary included)"));
    }
  }

  const nlohmann::json& config = doc.at("config");
  if (!config.is_string()) return Bad("config", "must be a string");
  const std::string config_entry = config.get<std::string>();
  bool listed = false;
  for (const std::string& f : raw_files) listed = listed || f == config_entry;
  if (!listed) {
    return Bad("config", absl::StrCat("is \"", config_entry, "\", which is not one of \"files\""));
  }

  d.binary = Resolve(base_dir, binary);
  for (const std::string& f : raw_files) {
    if (f == config_entry) d.config = Resolve(base_dir, f);
    d.files.push_back(Resolve(base_dir, f));
  }
  return d;
}

absl::StatusOr<EnclaveImageDescription> LoadImageDescription(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read image description ", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string dir = ".";
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  absl::StatusOr<EnclaveImageDescription> d = ParseImageDescription(buf.str(), dir);
  if (!d.ok()) {
    return absl::Status(d.status().code(), absl::StrCat(path, ": ", d.status().message()));
  }
  return d;
}

}  // namespace veil::nitro_sim
