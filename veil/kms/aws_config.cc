#include "veil/kms/aws_config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"

namespace veil::kms {
namespace {

using Sections = std::map<std::string, std::map<std::string, std::string>>;

std::string Trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Env returns a variable's value when it is set and not empty.
std::optional<std::string> Env(const AwsEnvironment& env, const char* name) {
  std::optional<std::string> v = env.getenv(name);
  if (v.has_value() && v->empty()) return std::nullopt;
  return v;
}

std::string HomeDir(const AwsEnvironment& env) {
  if (auto home = Env(env, "HOME")) return *home;
  return "";
}

// LoadedFile is one parsed shared file. Secret keys read from it are wiped
// when it goes away.
struct LoadedFile {
  std::string path;
  bool exists = false;
  Sections sections;

  LoadedFile() = default;
  LoadedFile(LoadedFile&&) = default;
  LoadedFile& operator=(LoadedFile&&) = default;
  ~LoadedFile() {
    for (auto& [name, section] : sections) {
      for (auto& [key, value] : section) {
        if (key == "aws_secret_access_key") SecureWipe(value.data(), value.size());
      }
    }
  }
};

absl::StatusOr<LoadedFile> LoadIni(const AwsEnvironment& env, const char* override_var,
                                   const char* default_name) {
  LoadedFile out;
  if (auto p = Env(env, override_var)) {
    out.path = *p;
  } else {
    const std::string home = HomeDir(env);
    if (home.empty()) return out;
    out.path = home + "/.aws/" + default_name;
  }
  if (out.path.size() > 1 && out.path[0] == '~' && out.path[1] == '/') {
    out.path = HomeDir(env) + out.path.substr(1);
  }
  absl::StatusOr<std::string> text = env.read_file(out.path);
  if (absl::IsNotFound(text.status())) return out;
  if (!text.ok()) return text.status();
  out.exists = true;
  out.sections = ParseAwsIni(*text);
  // The credentials file holds secret keys.
  SecureWipe(text->data(), text->size());
  return out;
}

const std::map<std::string, std::string>* Section(const LoadedFile& file,
                                                  const std::string& name) {
  auto it = file.sections.find(name);
  return it == file.sections.end() ? nullptr : &it->second;
}

std::optional<std::string> Get(const std::map<std::string, std::string>* section,
                               const char* key) {
  if (section == nullptr) return std::nullopt;
  auto it = section->find(key);
  if (it == section->end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::optional<AwsCredentials> CredentialsFrom(const std::map<std::string, std::string>* section) {
  auto id = Get(section, "aws_access_key_id");
  auto secret = Get(section, "aws_secret_access_key");
  if (!id.has_value() || !secret.has_value()) return std::nullopt;
  AwsCredentials c;
  c.access_key_id = *id;
  c.secret_access_key = SecretBytes::Copy(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(secret->data()), secret->size()));
  c.session_token = Get(section, "aws_session_token").value_or("");
  return c;
}

bool IsTrue(const std::optional<std::string>& v) {
  return v.has_value() && Lower(*v) == "true";
}

}  // namespace

AwsEnvironment AwsEnvironment::Process() {
  AwsEnvironment env;
  env.getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  env.read_file = [](const std::string& path) -> absl::StatusOr<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError("cannot open " + path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  return env;
}

Sections ParseAwsIni(std::string_view text) {
  Sections out;
  std::string current;
  bool in_section = false;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    // Indented lines are sub-settings of the previous key (e.g. "s3 =\n
    // max_concurrent_requests = 10"); none of them matter here.
    if (!raw.empty() && (raw[0] == ' ' || raw[0] == '\t')) continue;
    const std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      const size_t close = line.find(']');
      if (close == std::string::npos) {
        in_section = false;
        continue;
      }
      current = Trim(std::string_view(line).substr(1, close - 1));
      in_section = true;
      out[current];
      continue;
    }
    if (!in_section) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = Lower(Trim(std::string_view(line).substr(0, eq)));
    std::string value = Trim(std::string_view(line).substr(eq + 1));
    // Inline comments need whitespace before the marker, as in botocore.
    for (const char* marker : {" #", " ;", "\t#", "\t;"}) {
      const size_t c = value.find(marker);
      if (c != std::string::npos) value = Trim(std::string_view(value).substr(0, c));
    }
    out[current][std::move(key)] = std::move(value);
  }
  return out;
}

absl::StatusOr<ResolvedAwsConfig> ResolveAwsConfig(const AwsConfigOverrides& overrides,
                                                   const AwsEnvironment& env) {
  ResolvedAwsConfig out;
  bool profile_named = true;
  if (!overrides.profile.empty()) {
    out.profile = overrides.profile;
  } else if (auto p = Env(env, "AWS_PROFILE")) {
    out.profile = *p;
  } else {
    out.profile = "default";
    profile_named = false;
  }

  VEIL_ASSIGN_OR_RETURN(LoadedFile credentials_file,
                        LoadIni(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials"));
  VEIL_ASSIGN_OR_RETURN(LoadedFile config_file, LoadIni(env, "AWS_CONFIG_FILE", "config"));
  const auto* cred_section = Section(credentials_file, out.profile);
  const auto* config_section = Section(
      config_file, out.profile == "default" ? "default" : "profile " + out.profile);
  if (profile_named && cred_section == nullptr && config_section == nullptr) {
    return absl::NotFoundError("AWS profile '" + out.profile + "' is in neither " +
                               (credentials_file.path.empty() ? "the credentials file"
                                                              : credentials_file.path) +
                               " nor " +
                               (config_file.path.empty() ? "the config file" : config_file.path));
  }

  // Credentials.
  if (overrides.credentials.has_value()) {
    out.credentials = overrides.credentials->Clone();
    out.credentials_source = "explicit";
  } else if (auto id = Env(env, "AWS_ACCESS_KEY_ID"); id.has_value()) {
    std::optional<std::string> secret = Env(env, "AWS_SECRET_ACCESS_KEY");
    if (!secret.has_value()) {
      return absl::FailedPreconditionError(
          "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
    }
    out.credentials.access_key_id = *id;
    out.credentials.secret_access_key = SecretBytes::Copy(absl::MakeConstSpan(
        reinterpret_cast<const uint8_t*>(secret->data()), secret->size()));
    SecureWipe(secret->data(), secret->size());
    out.credentials.session_token = Env(env, "AWS_SESSION_TOKEN").value_or("");
    out.credentials_source = "environment";
  } else if (auto c = CredentialsFrom(cred_section)) {
    out.credentials = std::move(*c);
    out.credentials_source = "shared credentials file (" + credentials_file.path + ")";
  } else if (auto c2 = CredentialsFrom(config_section)) {
    out.credentials = std::move(*c2);
    out.credentials_source = "config file (" + config_file.path + ")";
  } else {
    return absl::FailedPreconditionError(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
        "aws_access_key_id/aws_secret_access_key for profile '" + out.profile + "' in " +
        (credentials_file.path.empty() ? "~/.aws/credentials" : credentials_file.path) + " or " +
        (config_file.path.empty() ? "~/.aws/config" : config_file.path));
  }

  // Region.
  if (!overrides.region.empty()) {
    out.region = overrides.region;
  } else if (auto r = Env(env, "AWS_REGION")) {
    out.region = *r;
  } else if (auto r2 = Env(env, "AWS_DEFAULT_REGION")) {
    out.region = *r2;
  } else if (auto r3 = Get(config_section, "region")) {
    out.region = *r3;
  } else {
    return absl::FailedPreconditionError(
        "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION), or `region` for "
        "profile '" + out.profile + "' in " +
        (config_file.path.empty() ? "~/.aws/config" : config_file.path));
  }

  // Endpoint.
  const bool ignore_configured = IsTrue(Env(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) ||
                                 IsTrue(Get(config_section, "ignore_configured_endpoint_urls"));
  out.endpoint_overridden = true;
  if (!overrides.endpoint_url.empty()) {
    out.endpoint_url = overrides.endpoint_url;
  } else if (auto e = ignore_configured ? std::nullopt : Env(env, "AWS_ENDPOINT_URL_KMS")) {
    out.endpoint_url = *e;
  } else if (auto e2 = ignore_configured ? std::nullopt : Env(env, "AWS_ENDPOINT_URL")) {
    out.endpoint_url = *e2;
  } else if (auto e3 = ignore_configured ? std::nullopt : Get(config_section, "endpoint_url")) {
    out.endpoint_url = *e3;
  } else {
    out.endpoint_overridden = false;
    const bool china = out.region.rfind("cn-", 0) == 0;
    out.endpoint_url = "https://kms." + out.region + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
  }

  // CA bundle.
  if (!overrides.ca_bundle.empty()) {
    out.ca_bundle = overrides.ca_bundle;
  } else if (auto ca = Env(env, "AWS_CA_BUNDLE")) {
    out.ca_bundle = *ca;
  } else if (auto ca2 = Get(config_section, "ca_bundle")) {
    out.ca_bundle = *ca2;
  }
  return out;
}

}  // namespace veil::kms
