// `veil keygen`: make wrapping-key files for the raw AES and RSA keyrings.
#ifndef VEIL_CLIENT_CLI_KEYGEN_COMMAND_H_
#define VEIL_CLIENT_CLI_KEYGEN_COMMAND_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// KeygenCommandOptions: exactly one of aes_bits and rsa_bits is set.
struct KeygenCommandOptions {
  std::optional<int> aes_bits;  // 128, 192 or 256
  std::optional<int> rsa_bits;  // 2048, 3072 or 4096
  std::string out;              // AES: the key file; RSA: the prefix
};

// RunKeygen writes a random raw AES key (`out`, mode 0600) or an RSA key
// pair (`out`.pem, PKCS#8 private, mode 0600; `out`.pub.pem, SPKI public).
// It never overwrites a file (AlreadyExists) and leaves no partial file on
// failure. Bad sizes or flag combinations are UsageError. Prints nothing.
absl::Status RunKeygen(const KeygenCommandOptions& options);

// AddKeygenFlags declares the `keygen` flags on `cmd` and returns the runner.
CommandRunner AddKeygenFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_KEYGEN_COMMAND_H_
