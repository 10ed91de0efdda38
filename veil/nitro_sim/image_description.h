// EnclaveImageDescription: what veil-nitro-run launches, the simulated
// counterpart of an EIF. A JSON file names the enclave binary and the
// application's files; their measurement is the image's (PCR0-2, see
// veil/attestation/nsm/measurement.h and docs/enclave-launcher.md):
//
//   {"format": "veil-enclave-image/1", "name": "veil-enclave", "version": "0.1.0",
//    "binary": "veil-enclave", "files": ["model.json", "model.onnx", "enclave.json"],
//    "config": "enclave.json"}
#ifndef VEIL_NITRO_SIM_IMAGE_DESCRIPTION_H_
#define VEIL_NITRO_SIM_IMAGE_DESCRIPTION_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace veil::nitro_sim {

// kImageDescriptionFormat is the only accepted value of "format".
inline constexpr char kImageDescriptionFormat[] = "veil-enclave-image/1";

// EnclaveImageDescription is a parsed image description. Paths are resolved
// against the description file's directory (absolute paths are kept).
struct EnclaveImageDescription {
  std::string name;
  std::string version;
  // binary is the enclave executable, the image's first part (PCR1).
  std::string binary;
  // files are the application's files in measurement order (PCR2).
  std::vector<std::string> files;
  // config is the entry of `files` passed to the enclave as --config.
  std::string config;

  // Parts returns the image's parts in measurement order: binary, files...
  std::vector<std::string> Parts() const;
};

// BaseName returns the last component of `path` ("a/b.json" -> "b.json").
std::string BaseName(std::string_view path);

// ParseImageDescription parses `json` strictly: exactly the keys format,
// name, version, binary, files and config, each once and of the right type;
// format equal to kImageDescriptionFormat; name and version 1-64 characters
// of [A-Za-z0-9._+-]; binary and each file a non-empty path whose base name
// is not "." or ".."; base names unique across binary and files; config
// equal to one of the `files` entries. Relative paths are resolved against
// `base_dir`. Fails with InvalidArgument naming the offending key.
absl::StatusOr<EnclaveImageDescription> ParseImageDescription(std::string_view json,
                                                              const std::string& base_dir);

// LoadImageDescription reads and parses the description at `path`, resolving
// its paths against the directory that holds it. NotFound when it cannot be
// read; InvalidArgument (prefixed with `path`) when it does not parse.
absl::StatusOr<EnclaveImageDescription> LoadImageDescription(const std::string& path);

}  // namespace veil::nitro_sim

#endif  // VEIL_NITRO_SIM_IMAGE_DESCRIPTION_H_
