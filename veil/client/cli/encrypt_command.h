// `veil encrypt`: encrypt a file into an AWS Encryption SDK message.
#ifndef VEIL_CLIENT_CLI_ENCRYPT_COMMAND_H_
#define VEIL_CLIENT_CLI_ENCRYPT_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"
#include "veil/client/cli/common_flags.h"
#include "veil/esdk/encryptor.h"

namespace veil::client {

// EncryptCommandOptions are the flags of `veil encrypt`, unvalidated.
struct EncryptCommandOptions {
  std::string input;                            // path or "-" (stdin)
  std::string output;                           // path or "-" (stdout)
  std::vector<std::string> wrapping_keys;       // specs; the first is the generator
  std::vector<std::string> encryption_context;  // KEY=VALUE
  std::string algorithm_suite = "0x0578";
  uint64_t frame_length = esdk::kDefaultFrameLength;
  std::string commitment_policy = kDefaultCommitmentPolicy;
  std::optional<uint64_t> max_encrypted_data_keys;
  std::vector<std::string> required_encryption_context_keys;
};

// RunEncrypt validates `options` (UsageError for bad flags: a suite other
// than 0x0578 or 0x0478, a frame length outside 1..2^32-1, a policy that
// forbids committing suites, a required key missing from the context), then
// encrypts with esdk::EncryptStream: the output appears only if encryption
// succeeded.
absl::Status RunEncrypt(const EncryptCommandOptions& options);

// AddEncryptFlags declares the `encrypt` flags on `cmd` and returns the
// runner (the command table's entry for `encrypt`).
CommandRunner AddEncryptFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_ENCRYPT_COMMAND_H_
