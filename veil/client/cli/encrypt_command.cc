#include "veil/client/cli/encrypt_command.h"

#include <memory>
#include <set>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/help_text.h"
#include "veil/common/status_macros.h"
#include "veil/esdk/algorithm_suite.h"
#include "veil/esdk/file_io.h"

namespace veil::client {
namespace {

// veil writes only the committing suites; 0x0578 adds an ECDSA P-384
// signature so that holders of the data key cannot forge messages.
absl::StatusOr<uint16_t> ParseEncryptSuite(const std::string& text) {
  auto id = esdk::ParseSuiteId(text);
  if (!id.ok()) {
    return UsageError(absl::StrCat("--algorithm-suite '", text, "': unknown suite"));
  }
  if (*id != esdk::kSuite0578 && *id != esdk::kSuite0478) {
    return UsageError(absl::StrCat("--algorithm-suite ", esdk::SuiteIdString(*id),
                                   ": veil encrypts only with 0x0578 (default) or 0x0478"));
  }
  return *id;
}

}  // namespace

absl::Status RunEncrypt(const EncryptCommandOptions& options) {
  VEIL_RETURN_IF_ERROR(CheckInputOutput(options.input, options.output));
  esdk::EncryptOptions encrypt;
  VEIL_ASSIGN_OR_RETURN(encrypt.commitment_policy, ParsePolicyFlag(options.commitment_policy));
  if (encrypt.commitment_policy == esdk::CommitmentPolicy::kForbidEncryptAllowDecrypt) {
    return UsageError(
        "--commitment-policy forbid-encrypt-allow-decrypt forbids the key-committing suites "
        "(0x0578, 0x0478) that veil encrypts with");
  }
  VEIL_ASSIGN_OR_RETURN(encrypt.suite_id, ParseEncryptSuite(options.algorithm_suite));
  if (options.frame_length < 1 || options.frame_length > UINT32_MAX) {
    return UsageError(absl::StrCat("--frame-length ", options.frame_length,
                                   ": must be between 1 and 4294967295"));
  }
  encrypt.frame_length = static_cast<uint32_t>(options.frame_length);
  if (options.max_encrypted_data_keys) {
    if (*options.max_encrypted_data_keys == 0) {
      return UsageError("--max-encrypted-data-keys must be at least 1");
    }
    encrypt.max_encrypted_data_keys = *options.max_encrypted_data_keys;
  }
  VEIL_ASSIGN_OR_RETURN(encrypt.encryption_context,
                        ParseContextFlags(options.encryption_context, "--encryption-context"));
  for (const std::string& key : options.required_encryption_context_keys) {
    if (!encrypt.encryption_context.contains(key)) {
      return UsageError(absl::StrCat("--required-encryption-context-key ", key,
                                     ": not in the --encryption-context"));
    }
  }
  VEIL_ASSIGN_OR_RETURN(auto cmm,
                        MakeCmm(options.wrapping_keys, options.required_encryption_context_keys));
  return esdk::EncryptStream(*cmm, options.input, options.output, encrypt);
}

CommandRunner AddEncryptFlags(CLI::App& cmd) {
  auto o = std::make_shared<EncryptCommandOptions>();
  cmd.add_option("--input", o->input, "File to encrypt, or - for stdin")
      ->required()
      ->type_name("IN");
  cmd.add_option("--output", o->output,
                 "Where to write the message, or - for stdout; written only if encryption "
                 "succeeds")
      ->required()
      ->type_name("OUT");
  cmd.add_option("--wrapping-key", o->wrapping_keys, kWrappingKeyHelp)
      ->required()
      ->allow_extra_args(false)
      ->type_name("SPEC");
  cmd.add_option("--encryption-context", o->encryption_context,
                 "KEY=VALUE pair bound to the message (repeatable); not secret: stored in the "
                 "header unless the key is required")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  cmd.add_option("--algorithm-suite", o->algorithm_suite,
                 "0x0578 (AES-256-GCM, key commitment, ECDSA P-384 signature) or 0x0478 (no "
                 "signature)")
      ->capture_default_str()
      ->type_name("ID");
  cmd.add_option("--frame-length", o->frame_length, "Plaintext bytes per frame")
      ->capture_default_str()
      ->type_name("N");
  cmd.add_option("--commitment-policy", o->commitment_policy, kCommitmentPolicyHelp)
      ->type_name("POLICY");
  cmd.add_option_function<uint64_t>(
         "--max-encrypted-data-keys", [o](const uint64_t& n) { o->max_encrypted_data_keys = n; },
         "Fail if the wrapping keys produce more encrypted data keys than N")
      ->type_name("N");
  cmd.add_option("--required-encryption-context-key", o->required_encryption_context_keys,
                 "Context KEY that is authenticated but not stored in the message: decrypt "
                 "must reproduce it (repeatable)")
      ->allow_extra_args(false)
      ->type_name("KEY");
  cmd.footer(absl::StrCat(
      kWrappingKeySpecFooter,
      "\nExample:\n"
      "  veil encrypt --input photo.jpg --output photo.jpg.veil \\\n"
      "      --wrapping-key raw-aes:acme:wrap-1:wrap.key --encryption-context tenant=acme\n"));
  return [o] { return RunEncrypt(*o); };
}

}  // namespace veil::client
