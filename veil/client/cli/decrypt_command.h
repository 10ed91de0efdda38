// `veil decrypt`: decrypt and verify an AWS Encryption SDK message.
#ifndef VEIL_CLIENT_CLI_DECRYPT_COMMAND_H_
#define VEIL_CLIENT_CLI_DECRYPT_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"
#include "veil/client/cli/common_flags.h"
#include "veil/esdk/decryptor.h"

namespace veil::client {

// DecryptCommandOptions are the flags of `veil decrypt`, unvalidated.
struct DecryptCommandOptions {
  std::string input;                            // path or "-" (stdin)
  std::string output;                           // path or "-" (stdout)
  std::vector<std::string> wrapping_keys;       // specs, tried in order
  std::vector<std::string> encryption_context;  // reproduced KEY=VALUE pairs
  std::string commitment_policy = kDefaultCommitmentPolicy;
  std::optional<uint64_t> max_encrypted_data_keys;
  std::vector<std::string> required_encryption_context_keys;
  bool refuse_signed = false;
  std::string metadata_output;  // empty: none; "-": stdout
};

// MessageInfoJson renders the metadata of a decrypted message: suite,
// suite_name, message_id (hex), encryption_context, frame_length and
// encrypted_data_keys. Never includes key material or plaintext.
std::string MessageInfoJson(const esdk::MessageInfo& info);

// RunDecrypt validates `options` (UsageError for bad flags) and decrypts
// with esdk::DecryptStream: the output appears only after the whole message
// (every frame, and the signature of signed suites) verified. Then the
// metadata, if asked for, is written; if that fails the output is removed
// again, so a failed command leaves no output file.
absl::Status RunDecrypt(const DecryptCommandOptions& options);

// AddDecryptFlags declares the `decrypt` flags on `cmd` and returns the
// runner (the command table's entry for `decrypt`).
CommandRunner AddDecryptFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_DECRYPT_COMMAND_H_
