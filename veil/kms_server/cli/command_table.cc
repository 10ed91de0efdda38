#include "CLI/CLI.hpp"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "veil/kms_server/cli/commands.h"

#include <iostream>
#include <memory>

namespace veil::kms_server {
namespace {

constexpr char kUsagePayload[] = "type.veil.dev/usage-error";

constexpr char kDescription[] =
    "veil-kms: a local key service that speaks the AWS KMS API (JSON 1.1, SigV4), so the AWS "
    "CLI and SDKs work against it unchanged, and that honours Recipient attestation documents "
    "and kms:RecipientAttestation:* policy conditions.";

constexpr char kFooter[] =
    "\nGetting started:\n"
    "  veil-kms principal add --data-dir ./kms --arn arn:aws:iam::111122223333:user/alice\n"
    "  veil-kms serve --listen 127.0.0.1:4566 --data-dir ./kms\n"
    "  AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=us-east-1 \\\n"
    "      aws --endpoint-url http://127.0.0.1:4566 kms create-key\n"
    "\nExit status: 0 success, 1 failure, 2 usage error.";

// Subcommand is one row of the table: it declares its flags on `app` and
// returns the runner to call after parsing.
struct Subcommand {
  const char* name;
  const char* summary;
  std::function<absl::Status()> (*add)(CLI::App& app);
};

std::function<absl::Status()> AddServe(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  app.add_option("--listen", o->listen, "HOST:PORT to listen on (PORT 0: any free port)")
      ->required();
  app.add_option("--data-dir", o->data_dir, "State directory (created on first start)")
      ->required();
  app.add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve HTTPS");
  app.add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
  app.add_option("--attestation-root", o->attestation_roots,
                 "PEM root certificate that Recipient attestation documents must chain to "
                 "(repeatable): the simulator's root, or the AWS Nitro Enclaves root");
  app.add_option("--region", o->region, "Region of the keys' ARNs and of SigV4 scopes")
      ->capture_default_str();
  app.add_option("--threads", o->threads, "Connection threads (bounds concurrent clients)")
      ->capture_default_str();
  app.add_option("--attestation-max-age", o->attestation_max_age_seconds,
                 "Oldest attestation document accepted, in seconds")
      ->capture_default_str();
  app.add_option("--audit-log", o->audit_log, "Audit log (default DATA-DIR/audit.jsonl)");
  app.add_option("--port-file", o->port_file, "Write the bound port here once listening");
  return [o] { return RunServe(*o); };
}

std::function<absl::Status()> AddPrincipal(CLI::App& app) {
  CLI::App* add = app.add_subcommand("add", "Register a principal and print its credentials");
  auto o = std::make_shared<PrincipalAddOptions>();
  add->add_option("--data-dir", o->data_dir, "State directory")->required();
  add->add_option("--arn", o->arn, "arn:aws:iam::<account>:user/<name> or :role/<name>")
      ->required();
  app.require_subcommand(1);
  return [o] { return RunPrincipalAdd(*o, std::cout); };
}

constexpr Subcommand kSubcommands[] = {
    {"serve", "Serve the KMS API", &AddServe},
    {"principal", "Manage the principals that may call the service", &AddPrincipal},
};

}  // namespace

absl::Status UsageError(const std::string& message) {
  absl::Status s = absl::InvalidArgumentError(message);
  s.SetPayload(kUsagePayload, absl::Cord("1"));
  return s;
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  return status.GetPayload(kUsagePayload).has_value() ? 2 : 1;
}

absl::StatusOr<std::function<absl::Status()>> ParseCommandLine(int argc,
                                                               const char* const* argv) {
  CLI::App app(kDescription, "veil-kms");
  app.footer(kFooter);
  app.set_version_flag("--version", "veil-kms 0.1.0");
  app.require_subcommand(1);
  std::function<absl::Status()> chosen;
  for (const Subcommand& command : kSubcommands) {
    CLI::App* sub = app.add_subcommand(command.name, command.summary);
    std::function<absl::Status()> runner = command.add(*sub);
    sub->final_callback([&chosen, runner] { chosen = runner; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    app.exit(e);
    return std::function<absl::Status()>([] { return absl::OkStatus(); });
  } catch (const CLI::ParseError& e) {
    return UsageError(absl::StrCat(e.what(), " (see 'veil-kms --help')"));
  }
  if (!chosen) return UsageError("no command given (see 'veil-kms --help')");
  return chosen;
}

}  // namespace veil::kms_server
