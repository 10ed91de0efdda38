#include "veil/client/cli/command_table.h"

#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "veil/client/cli/attest_command.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/decrypt_command.h"
#include "veil/client/cli/detect_command.h"
#include "veil/client/cli/encrypt_command.h"
#include "veil/client/cli/infer_command.h"
#include "veil/client/cli/keygen_command.h"
#include "veil/client/cli/measure_command.h"
#include "veil/client/cli/model_command.h"

namespace veil::client {
namespace {

constexpr Subcommand kSubcommands[] = {
    {"keygen", "Make a raw AES key file or an RSA key pair to use as a wrapping key",
     &AddKeygenFlags},
    {"encrypt", "Encrypt a file into an AWS Encryption SDK message", &AddEncryptFlags},
    {"decrypt", "Decrypt and verify an AWS Encryption SDK message", &AddDecryptFlags},
    {"attest", "Attestation: verify documents; simulated Nitro CA and documents (verify, "
               "simulate-ca, simulate)",
     &AddAttestFlags},
    {"measure", "Print the PCRs an enclave image measures to (like nitro-cli describe-eif)",
     &AddMeasureFlags},
    {"detect", "Detect objects in local images, in plaintext (the baseline for the enclave)",
     &AddDetectFlags},
    {"model", "Model files: derive a model's manifest (manifest)", &AddModelFlags},
    {"infer", "Confidential inference: encrypt here, detect inside an attested enclave",
     &AddInferFlags},
};

constexpr char kDescription[] =
    "veil: confidential ML inference, client side. Encrypts and decrypts files in the AWS "
    "Encryption SDK message format (byte-compatible with the official SDKs) under local "
    "wrapping keys.";

constexpr char kFooter[] =
    "\nGetting started:\n"
    "  veil keygen --aes 256 --out wrap.key\n"
    "  veil encrypt --input photo.jpg --output photo.jpg.veil \\\n"
    "      --wrapping-key raw-aes:acme:wrap-1:wrap.key --encryption-context tenant=acme\n"
    "  veil decrypt --input photo.jpg.veil --output photo.jpg \\\n"
    "      --wrapping-key raw-aes:acme:wrap-1:wrap.key --encryption-context tenant=acme\n"
    "\nRun 'veil <command> --help' for the flags of a command.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.";

}  // namespace

absl::Span<const Subcommand> Subcommands() { return kSubcommands; }

absl::StatusOr<CommandRunner> ParseCommandLine(int argc, const char* const* argv) {
  CLI::App app(kDescription, "veil");
  app.footer(kFooter);
  app.set_version_flag("--version", "veil 0.1.0");
  app.require_subcommand(1);
  app.get_formatter()->column_width(34);

  CommandRunner chosen;
  for (const Subcommand& command : kSubcommands) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    CommandRunner runner = command.add_flags(*sub);
    sub->final_callback([&chosen, runner] { chosen = runner; });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    // --help or --version: CLI11 prints it; there is nothing else to do.
    app.exit(e);
    return CommandRunner([] { return absl::OkStatus(); });
  } catch (const CLI::ParseError& e) {
    std::string help = "veil --help";
    for (const CLI::App* sub : app.get_subcommands()) {
      help = absl::StrCat("veil ", sub->get_name(), " --help");
    }
    return UsageError(absl::StrCat(e.what(), " (see '", help, "')"));
  }
  if (!chosen) return UsageError("no command given (see 'veil --help')");
  return chosen;
}

}  // namespace veil::client
