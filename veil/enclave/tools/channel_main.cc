// veil-channel: talks to an enclave's channel the way the host does, one
// request per invocation. An operator's and a test's tool; it links
// veil::wire only, so it can decrypt nothing and sends what it is given.
//
//   veil-channel --endpoint unix:RUN/sock/channel.sock health
//   veil-channel --endpoint E attest [--nonce HEX] [--user-data HEX] [--out FILE]
//   veil-channel --endpoint E infer --tenant T --request-id R --in FILE --out FILE
//   veil-channel --endpoint E credentials --from-environment [--ttl SECONDS]
//   veil-channel --endpoint E credentials < credentials.json
//
// `credentials --from-environment` reads AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (optional) and
// AWS_CREDENTIAL_EXPIRATION (optional, RFC 3339; default now + --ttl).
// Without the flag, stdin holds the JSON the instance metadata service and
// `aws sts` return: {"AccessKeyId", "SecretAccessKey", "Token" or
// "SessionToken", "Expiration"}.
//
// Exit status: 0 on success; 1 when the enclave answers with an error (the
// code is printed as `error: CODE` on stderr) or cannot be reached; 2 for a
// usage error.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "veil/common/secret_bytes.h"
#include "veil/wire/channel_client.h"
#include "veil/wire/messages.h"

namespace {

namespace wire = veil::wire;

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

absl::StatusOr<std::vector<uint8_t>> ParseHex(const std::string& text) {
  if (text.size() % 2 != 0) return absl::InvalidArgumentError("hex has an odd length");
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("not a hex string");
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

std::string Hex(const std::vector<uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

absl::Status WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot create ", path));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::DataLossError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

absl::StatusOr<absl::Time> ParseRfc3339(const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("not an RFC 3339 time: ", text));
  }
  return t;
}

// CredentialsFromEnvironment builds the request from the AWS_* variables.
absl::StatusOr<wire::CredentialsRequest> CredentialsFromEnvironment(absl::Duration ttl) {
  wire::CredentialsRequest r;
  r.access_key_id = Getenv("AWS_ACCESS_KEY_ID");
  std::string secret = Getenv("AWS_SECRET_ACCESS_KEY");
  if (r.access_key_id.empty() || secret.empty()) {
    return absl::InvalidArgumentError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
  }
  r.secret_access_key = veil::SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()));
  veil::SecureWipe(secret.data(), secret.size());
  r.session_token = Getenv("AWS_SESSION_TOKEN");
  const std::string expiration = Getenv("AWS_CREDENTIAL_EXPIRATION");
  if (expiration.empty()) {
    r.expiration = absl::Now() + ttl;
  } else {
    auto t = ParseRfc3339(expiration);
    if (!t.ok()) return t.status();
    r.expiration = *t;
  }
  return r;
}

// CredentialsFromJson builds the request from IMDS/STS-style JSON.
absl::StatusOr<wire::CredentialsRequest> CredentialsFromJson(std::string text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  veil::SecureWipe(text.data(), text.size());
  if (!j.is_object()) return absl::InvalidArgumentError("stdin is not a JSON object");
  const auto get = [&j](const char* key) -> std::string {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  wire::CredentialsRequest r;
  r.access_key_id = get("AccessKeyId");
  std::string secret = get("SecretAccessKey");
  r.session_token = get("Token");
  if (r.session_token.empty()) r.session_token = get("SessionToken");
  const std::string expiration = get("Expiration");
  if (r.access_key_id.empty() || secret.empty() || expiration.empty()) {
    veil::SecureWipe(secret.data(), secret.size());
    return absl::InvalidArgumentError("need AccessKeyId, SecretAccessKey and Expiration");
  }
  r.secret_access_key = veil::SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(secret.data()), secret.size()));
  veil::SecureWipe(secret.data(), secret.size());
  // The JSON object holds the secret too; overwrite it before it is freed.
  if (auto it = j.find("SecretAccessKey"); it != j.end() && it->is_string()) {
    auto& s = it->get_ref<std::string&>();
    veil::SecureWipe(s.data(), s.size());
  }
  auto t = ParseRfc3339(expiration);
  if (!t.ok()) return t.status();
  r.expiration = *t;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("veil-channel: one request to an enclave over its channel (docs/wire-protocol.md)",
               "veil-channel");
  std::string endpoint;
  double timeout_seconds = 60;
  app.add_option("--endpoint", endpoint, "unix:PATH, tcp:127.0.0.1:PORT or vsock:CID:PORT")
      ->required();
  app.add_option("--timeout", timeout_seconds, "Seconds for the whole call (default 60)")
      ->check(CLI::Range(0.1, 3600.0));
  app.require_subcommand(1);

  CLI::App* health = app.add_subcommand("health", "Print the enclave's health as JSON");

  CLI::App* attest = app.add_subcommand("attest", "Fetch an attestation document");
  std::string nonce_hex, user_data_hex, attest_out;
  attest->add_option("--nonce", nonce_hex, "Nonce, hex (0..64 bytes)");
  attest->add_option("--user-data", user_data_hex, "User data, hex (0..512 bytes)");
  attest->add_option("--out", attest_out, "Write the COSE_Sign1 document here (default: hex on stdout)");

  CLI::App* infer = app.add_subcommand("infer", "Send an encrypted image, write the encrypted result");
  std::string tenant, request_id, in_path, out_path;
  infer->add_option("--tenant", tenant, "The tenant the host authenticated")->required();
  infer->add_option("--request-id", request_id, "The request id in the encryption context")
      ->required();
  infer->add_option("--in", in_path, "ESDK ciphertext of the image")->required();
  infer->add_option("--out", out_path, "Where the ESDK ciphertext of the result goes")->required();

  CLI::App* credentials =
      app.add_subcommand("credentials", "Push AWS credentials for the enclave's KMS calls");
  bool from_environment = false;
  double ttl_seconds = 3600;
  credentials->add_flag("--from-environment", from_environment,
                        "Read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, "
                        "AWS_CREDENTIAL_EXPIRATION (default: JSON on stdin)");
  credentials->add_option("--ttl", ttl_seconds,
                          "With --from-environment and no AWS_CREDENTIAL_EXPIRATION: validity in "
                          "seconds (default 3600)")
      ->check(CLI::Range(1.0, 43200.0));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  const auto usage_error = [](const absl::Status& s) {
    std::fprintf(stderr, "veil-channel: %s\n", std::string(s.message()).c_str());
    return kExitUsage;
  };

  wire::Request request;
  if (*health) {
    request.message = wire::HealthRequest{};
  } else if (*attest) {
    wire::AttestRequest r;
    if (attest->count("--nonce") > 0) {
      auto nonce = ParseHex(nonce_hex);
      if (!nonce.ok()) return usage_error(nonce.status());
      r.nonce = *std::move(nonce);
    }
    if (attest->count("--user-data") > 0) {
      auto user_data = ParseHex(user_data_hex);
      if (!user_data.ok()) return usage_error(user_data.status());
      r.user_data = *std::move(user_data);
    }
    request.message = std::move(r);
  } else if (*infer) {
    auto body = ReadFile(in_path);
    if (!body.ok()) return usage_error(body.status());
    request.message = wire::InferRequest{tenant, request_id, *std::move(body)};
  } else {
    absl::StatusOr<wire::CredentialsRequest> r;
    if (from_environment) {
      r = CredentialsFromEnvironment(absl::Seconds(ttl_seconds));
    } else {
      std::string text(std::istreambuf_iterator<char>(std::cin), {});
      r = CredentialsFromJson(std::move(text));
    }
    if (!r.ok()) return usage_error(r.status());
    request.message = *std::move(r);
  }

  wire::ChannelClientOptions options;
  options.call_timeout = absl::Seconds(timeout_seconds);
  auto client = wire::ChannelClient::Create(endpoint, options);
  if (!client.ok()) return usage_error(client.status());
  absl::StatusOr<wire::Response> response = (*client)->Call(std::move(request));
  if (!response.ok()) {
    std::fprintf(stderr, "veil-channel: no answer from %s: %s\n", endpoint.c_str(),
                 std::string(response.status().message()).c_str());
    return kExitError;
  }

  if (const auto* e = std::get_if<wire::ErrorResponse>(&response->message)) {
    std::fprintf(stderr, "error: %s\n", std::string(wire::ErrorCodeName(e->code)).c_str());
    return kExitError;
  }
  if (const auto* h = std::get_if<wire::HealthResponse>(&response->message)) {
    nlohmann::json j = {{"status", h->status},           {"tier", h->tier},
                        {"model", h->model},             {"model_sha256", h->model_sha256},
                        {"queue_depth", h->queue_depth}, {"workers", h->workers}};
    std::printf("%s\n", j.dump().c_str());
  } else if (const auto* a = std::get_if<wire::AttestResponse>(&response->message)) {
    if (attest_out.empty()) {
      std::printf("%s\n", Hex(a->document).c_str());
    } else if (absl::Status s = WriteFile(attest_out, a->document); !s.ok()) {
      std::fprintf(stderr, "veil-channel: %s\n", std::string(s.message()).c_str());
      return kExitError;
    }
  } else if (const auto* r = std::get_if<wire::InferResponse>(&response->message)) {
    if (absl::Status s = WriteFile(out_path, r->body); !s.ok()) {
      std::fprintf(stderr, "veil-channel: %s\n", std::string(s.message()).c_str());
      return kExitError;
    }
  } else {
    std::printf("ok\n");
  }
  return 0;
}
