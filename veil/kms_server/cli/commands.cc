#include "veil/kms_server/cli/commands.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/verifier.h"
#include "veil/common/byte_reader.h"
#include "veil/common/status_macros.h"
#include "veil/kms_server/audit_log.h"
#include "veil/kms_server/http_server.h"
#include "veil/kms_server/key_service.h"
#include "veil/kms_server/principals.h"
#include "veil/kms_server/recipient.h"
#include "veil/kms_server/request_handler.h"
#include "veil/kms_server/root_key.h"
#include "veil/kms_server/store.h"

namespace veil::kms_server {
namespace {

absl::Status EnsureDataDir(const std::string& dir) {
  if (dir.empty()) return UsageError("--data-dir must not be empty");
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  return absl::OkStatus();
}

// DataDir is the state a data directory holds.
struct DataDir {
  std::unique_ptr<RootKey> root_key;
  std::unique_ptr<Store> store;
};

absl::StatusOr<DataDir> OpenDataDir(const std::string& dir) {
  VEIL_RETURN_IF_ERROR(EnsureDataDir(dir));
  DataDir d;
  VEIL_ASSIGN_OR_RETURN(d.root_key, RootKey::LoadOrCreate(dir + "/root.key"));
  VEIL_ASSIGN_OR_RETURN(d.store, Store::Open(dir + "/kms.db"));
  return d;
}

}  // namespace

absl::StatusOr<std::pair<std::string, int>> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return UsageError(absl::StrCat("--listen must be HOST:PORT, got '", listen, "'"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  const std::string p = listen.substr(colon + 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535) {
    return UsageError(absl::StrCat("--listen port must be 0..65535, got '", p, "'"));
  }
  return std::make_pair(host, port);
}

absl::Status RunPrincipalAdd(const PrincipalAddOptions& options, std::ostream& out) {
  if (!ParsePrincipalArn(options.arn).ok()) {
    return UsageError(std::string(ParsePrincipalArn(options.arn).status().message()));
  }
  VEIL_ASSIGN_OR_RETURN(DataDir d, OpenDataDir(options.data_dir));
  VEIL_ASSIGN_OR_RETURN(NewCredentials creds, AddPrincipal(*d.store, *d.root_key, options.arn));
  // The secret is printed once, on the stdout the operator asked for.
  out << "AWS_ACCESS_KEY_ID=" << creds.access_key_id << "\n"
      << "AWS_SECRET_ACCESS_KEY=" << AsStringView(creds.secret_access_key.Expose()) << "\n";
  out.flush();
  if (!out) return absl::DataLossError("cannot write the credentials to stdout");
  return absl::OkStatus();
}

absl::Status RunServe(const ServeOptions& options) {
  VEIL_ASSIGN_OR_RETURN(auto listen, ParseListen(options.listen));
  if (options.threads < 1 || options.threads > 4096) {
    return UsageError("--threads must be between 1 and 4096");
  }
  VEIL_ASSIGN_OR_RETURN(DataDir d, OpenDataDir(options.data_dir));

  KeyServiceOptions service_options;
  service_options.region = options.region;
  std::string attestation_mode = "off";
  if (!options.attestation_roots.empty()) {
    VEIL_ASSIGN_OR_RETURN(auto roots, ReadRootPemFiles(options.attestation_roots));
    RecipientOptions recipient_options;
    recipient_options.roots = std::move(roots);
    recipient_options.max_age = absl::Seconds(options.attestation_max_age_seconds);
    bool all_aws = true;
    for (const auto& r : recipient_options.roots) {
      all_aws = all_aws && attestation::IsAwsNitroRoot(r);
    }
    attestation_mode = all_aws ? "aws-nitro" : "SIMULATED";
    VEIL_ASSIGN_OR_RETURN(service_options.recipients,
                          NewAttestationRecipientHandler(std::move(recipient_options)));
  }
  VEIL_ASSIGN_OR_RETURN(auto service,
                        KeyService::Create(d.store.get(), d.root_key.get(), service_options));
  PrincipalDirectory principals(d.store.get(), d.root_key.get());
  VEIL_ASSIGN_OR_RETURN(
      auto audit,
      AuditLog::Open(options.audit_log.empty() ? options.data_dir + "/audit.jsonl"
                                               : options.audit_log));
  RequestHandlerOptions handler_options;
  handler_options.region = options.region;
  handler_options.health = nlohmann::json{{"status", "ok"},
                                          {"service", "veil-kms"},
                                          {"region", options.region},
                                          {"recipientAttestation", attestation_mode}}
                               .dump();
  VEIL_ASSIGN_OR_RETURN(auto handler, RequestHandler::Create(service.get(), &principals,
                                                             audit.get(), handler_options));
  HttpServerOptions server_options;
  server_options.host = listen.first;
  server_options.port = listen.second;
  server_options.tls_cert = options.tls_cert;
  server_options.tls_key = options.tls_key;
  server_options.threads = options.threads;

  // SIGINT/SIGTERM are handled by one thread that stops the server; they are
  // blocked before any other thread starts so that none of them gets one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  VEIL_ASSIGN_OR_RETURN(auto server, HttpServer::Bind(handler.get(), server_options));
  const std::string scheme = options.tls_cert.empty() ? "http" : "https";
  std::fprintf(stderr,
               "veil-kms: listening on %s://%s:%d (region %s, Recipient attestation: %s)\n",
               scheme.c_str(), listen.first.c_str(), server->port(), options.region.c_str(),
               attestation_mode.c_str());
  if (attestation_mode == "SIMULATED") {
    std::fprintf(stderr,
                 "veil-kms: WARNING: Recipient documents are verified against a non-AWS root "
                 "(simulated Nitro); audit records mark them simulated\n");
  }
  if (!options.port_file.empty()) {
    const std::string tmp = options.port_file + ".tmp";
    std::ofstream(tmp) << server->port() << "\n";
    if (std::rename(tmp.c_str(), options.port_file.c_str()) != 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write ", options.port_file));
    }
  }
  std::thread stopper([&server, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    server->Stop();
  });
  const absl::Status status = server->Run();
  // Wake the stopper if the server ended on its own.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return status;
}

}  // namespace veil::kms_server
