// Finding AWS credentials, region and the KMS endpoint the way the AWS SDKs
// and CLI do, from explicit settings, the environment and the shared
// config/credentials files.
//
// Spec: https://docs.aws.amazon.com/sdkref/latest/guide/ ("Standardized
// credential providers", "Shared config and credentials files",
// "Service-specific endpoints").
#ifndef VEIL_KMS_AWS_CONFIG_H_
#define VEIL_KMS_AWS_CONFIG_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "veil/kms/sigv4.h"

namespace veil::kms {

// AwsEnvironment is where configuration is read from; tests substitute it.
struct AwsEnvironment {
  // getenv returns a variable's value, or nullopt when unset.
  std::function<std::optional<std::string>(const std::string& name)> getenv;
  // read_file returns a file's contents, or NotFound when it does not exist.
  std::function<absl::StatusOr<std::string>(const std::string& path)> read_file;

  // Process returns the real environment and file system.
  static AwsEnvironment Process();
};

// AwsConfigOverrides are explicit settings; each one set wins over every
// other source.
struct AwsConfigOverrides {
  std::optional<AwsCredentials> credentials;
  std::string profile;
  std::string region;
  std::string endpoint_url;
  std::string ca_bundle;
};

// ResolvedAwsConfig is the outcome of resolution.
struct ResolvedAwsConfig {
  AwsCredentials credentials;
  std::string credentials_source;  // "explicit", "environment", "shared credentials file", ...
  std::string profile;
  std::string region;
  // endpoint_url is the KMS endpoint: an override, or
  // https://kms.<region>.amazonaws.com (amazonaws.com.cn in China regions).
  std::string endpoint_url;
  bool endpoint_overridden = false;
  std::string ca_bundle;  // empty: the system CA store
};

// ResolveAwsConfig resolves, in the AWS SDKs' order:
//   profile:     explicit > AWS_PROFILE > "default";
//   credentials: explicit > AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//                (+ AWS_SESSION_TOKEN) > the profile in the shared credentials
//                file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) >
//                the profile in the config file (AWS_CONFIG_FILE, else
//                ~/.aws/config; sections "[default]" and "[profile name]");
//   region:      explicit > AWS_REGION > AWS_DEFAULT_REGION > the profile's
//                `region`;
//   endpoint:    explicit > AWS_ENDPOINT_URL_KMS > AWS_ENDPOINT_URL > the
//                profile's `endpoint_url` > the regional AWS endpoint
//                (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the
//                environment and file settings);
//   CA bundle:   explicit > AWS_CA_BUNDLE > the profile's `ca_bundle`.
// Missing credentials or region is FailedPrecondition with a message that
// names every place looked at; a named profile that exists in neither file
// is NotFound. Credential providers that need the network (SSO, IMDS,
// container, web identity, credential_process) are not implemented.
absl::StatusOr<ResolvedAwsConfig> ResolveAwsConfig(const AwsConfigOverrides& overrides,
                                                   const AwsEnvironment& env);

// IniSections parses an AWS shared config or credentials file into
// section -> key -> value. Comments (# and ;) and indented sub-settings are
// skipped; keys are lower-cased; values are trimmed.
std::map<std::string, std::map<std::string, std::string>> ParseAwsIni(std::string_view text);

}  // namespace veil::kms

#endif  // VEIL_KMS_AWS_CONFIG_H_
