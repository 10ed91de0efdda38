// Small local-file helpers for the `veil` commands: reading key files into
// SecretBytes and writing new files without partial results.
#ifndef VEIL_CLIENT_CLI_LOCAL_FILES_H_
#define VEIL_CLIENT_CLI_LOCAL_FILES_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::client {

// ReadSecretFile returns the contents of `path` in wiping memory. Fails
// (InvalidArgument) if the file holds more than `max_len` bytes, or with an
// errno-derived status. `what` names the file in errors ("key file").
absl::StatusOr<SecretBytes> ReadSecretFile(const std::string& path, size_t max_len,
                                           const char* what);

// WriteNewFile creates `path` with `mode` (before umask), refusing to
// replace anything that exists (AlreadyExists), writes `data` and fsyncs.
// On failure the file is removed.
absl::Status WriteNewFile(const std::string& path, absl::Span<const uint8_t> data, mode_t mode);

// WriteFileAtomically replaces `path` with `data` through a temporary file
// in the same directory and rename(2); "-" writes to stdout instead.
absl::Status WriteFileAtomically(const std::string& path, absl::Span<const uint8_t> data);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_LOCAL_FILES_H_
