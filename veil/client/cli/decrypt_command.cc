#include "veil/client/cli/decrypt_command.h"

#include <unistd.h>

#include <memory>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/help_text.h"
#include "veil/client/cli/local_files.h"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/esdk/algorithm_suite.h"
#include "veil/esdk/file_io.h"

namespace veil::client {

std::string MessageInfoJson(const esdk::MessageInfo& info) {
  nlohmann::ordered_json j;
  j["suite"] = esdk::SuiteIdString(info.suite_id);
  const esdk::AlgorithmSuite* suite = esdk::FindSuite(info.suite_id);
  j["suite_name"] = suite != nullptr ? suite->name : "";
  j["message_id"] = HexEncode(info.message_id);
  j["encryption_context"] = nlohmann::ordered_json::object();
  for (const auto& [key, value] : info.encryption_context) j["encryption_context"][key] = value;
  j["frame_length"] = info.frame_length;
  j["encrypted_data_keys"] = info.encrypted_data_key_count;
  // The replace handler never throws (context strings are UTF-8 checked
  // already; this is belt and braces).
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

absl::Status RunDecrypt(const DecryptCommandOptions& options) {
  VEIL_RETURN_IF_ERROR(CheckInputOutput(options.input, options.output));
  const std::string& metadata = options.metadata_output;
  if (!metadata.empty()) {
    if (metadata == "-" && options.output == "-") {
      return UsageError("--metadata-output - and --output - cannot both use stdout");
    }
    if (metadata != "-" && (metadata == options.output || metadata == options.input)) {
      return UsageError(
          absl::StrCat("--metadata-output ", metadata, " must differ from --input and --output"));
    }
  }
  esdk::DecryptOptions decrypt;
  VEIL_ASSIGN_OR_RETURN(decrypt.commitment_policy, ParsePolicyFlag(options.commitment_policy));
  if (options.max_encrypted_data_keys) {
    if (*options.max_encrypted_data_keys == 0) {
      return UsageError("--max-encrypted-data-keys must be at least 1");
    }
    decrypt.max_encrypted_data_keys = *options.max_encrypted_data_keys;
  }
  VEIL_ASSIGN_OR_RETURN(decrypt.reproduced_encryption_context,
                        ParseContextFlags(options.encryption_context, "--encryption-context"));
  for (const std::string& key : options.required_encryption_context_keys) {
    if (!decrypt.reproduced_encryption_context.contains(key)) {
      return UsageError(absl::StrCat("--required-encryption-context-key ", key,
                                     ": reproduce it with --encryption-context ", key, "=VALUE"));
    }
  }
  decrypt.refuse_signed_suites = options.refuse_signed;
  VEIL_ASSIGN_OR_RETURN(auto cmm, MakeCmm(options.wrapping_keys,
                                          options.required_encryption_context_keys,
                                          KeyringUse::kDecrypt));

  esdk::MessageInfo info;
  VEIL_RETURN_IF_ERROR(esdk::DecryptStream(*cmm, options.input, options.output, decrypt, &info));
  if (metadata.empty()) return absl::OkStatus();
  const std::string json = MessageInfoJson(info);
  absl::Status s = WriteFileAtomically(metadata, AsBytes(json));
  if (!s.ok()) {
    if (options.output != "-") ::unlink(options.output.c_str());
    return absl::Status(s.code(), absl::StrCat(s.message(), " (metadata; the decrypted output ",
                                               options.output, " was removed)"));
  }
  return absl::OkStatus();
}

CommandRunner AddDecryptFlags(CLI::App& cmd) {
  auto o = std::make_shared<DecryptCommandOptions>();
  cmd.add_option("--input", o->input, "Message to decrypt, or - for stdin")
      ->required()
      ->type_name("IN");
  cmd.add_option("--output", o->output,
                 "Where to write the plaintext, or - for stdout; written only after the whole "
                 "message verified")
      ->required()
      ->type_name("OUT");
  cmd.add_option("--wrapping-key", o->wrapping_keys,
                 "Wrapping key SPEC that may unwrap the data key (repeatable; tried in order)")
      ->required()
      ->allow_extra_args(false)
      ->type_name("SPEC");
  cmd.add_option("--encryption-context", o->encryption_context,
                 "Reproduced KEY=VALUE pair: must equal the stored pair, or supplies a required "
                 "key that was not stored (repeatable)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  cmd.add_option("--commitment-policy", o->commitment_policy,
                 absl::StrCat(kCommitmentPolicyHelp,
                              "; only the require-decrypt policy refuses messages without key "
                              "commitment"))
      ->type_name("POLICY");
  cmd.add_option_function<uint64_t>(
         "--max-encrypted-data-keys", [o](const uint64_t& n) { o->max_encrypted_data_keys = n; },
         "Refuse messages with more than N encrypted data keys")
      ->type_name("N");
  cmd.add_option("--required-encryption-context-key", o->required_encryption_context_keys,
                 "Context KEY that must be reproduced with --encryption-context (repeatable)")
      ->allow_extra_args(false)
      ->type_name("KEY");
  cmd.add_flag("--refuse-signed", o->refuse_signed,
               "Refuse messages with signed suites (0x0578, 0x0378, ...)");
  cmd.add_option("--metadata-output", o->metadata_output,
                 "Write JSON metadata (suite, message id, encryption context, frame length) "
                 "to FILE or - for stdout, after a successful decrypt")
      ->type_name("FILE");
  cmd.footer(absl::StrCat(
      kWrappingKeySpecFooter,
      "\nExample:\n"
      "  veil decrypt --input photo.jpg.veil --output photo.jpg \\\n"
      "      --wrapping-key raw-aes:acme:wrap-1:wrap.key --encryption-context tenant=acme\n"));
  return [o] { return RunDecrypt(*o); };
}

}  // namespace veil::client
