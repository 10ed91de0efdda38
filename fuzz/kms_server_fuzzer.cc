#include "fuzz/kms_server_fuzzer.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "veil/common/byte_reader.h"
#include "veil/kms/sigv4.h"
#include "veil/kms_server/audit_log.h"
#include "veil/kms_server/key_service.h"
#include "veil/kms_server/principals.h"
#include "veil/kms_server/request_handler.h"
#include "veil/kms_server/root_key.h"
#include "veil/kms_server/store.h"

namespace veil::fuzz {
namespace {

constexpr char kAccessKeyId[] = "AKIAFUZZFUZZFUZZFUZZ";
constexpr char kSecret[] = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";
const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "kms_server_fuzzer: invariant violated: %s\n%s\n", what, detail.c_str());
  std::abort();
}

struct World {
  std::string dir;
  std::unique_ptr<kms_server::RootKey> root;
  std::unique_ptr<kms_server::Store> store;
  std::unique_ptr<kms_server::KeyService> service;
  std::unique_ptr<kms_server::PrincipalDirectory> principals;
  std::unique_ptr<kms_server::AuditLog> audit;
  std::unique_ptr<kms_server::RequestHandler> handler;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    char tmpl[] = "/tmp/veil-kms-fuzz-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail("mkdtemp", "");
    w->dir = tmpl;
    std::atexit([] { std::filesystem::remove_all(TheWorld().dir); });
    auto must = [](auto s, const char* what) {
      if (!s.ok()) Fail(what, s.status().ToString());
      return std::move(*s);
    };
    SecretBytes root_bytes(32);
    w->root = must(kms_server::RootKey::FromBytes(std::move(root_bytes)), "root key");
    w->store = must(kms_server::Store::Open(w->dir + "/kms.db", /*durable=*/false), "store");
    if (!kms_server::AddPrincipalWithCredentials(*w->store, *w->root,
                                                 "arn:aws:iam::111122223333:user/fuzz",
                                                 kAccessKeyId,
                                                 SecretBytes::Copy(AsBytes(kSecret)))
             .ok()) {
      Fail("principal", "");
    }
    kms_server::KeyServiceOptions so;
    so.now = [] { return kNow; };
    w->service = must(kms_server::KeyService::Create(w->store.get(), w->root.get(), so), "service");
    w->principals = std::make_unique<kms_server::PrincipalDirectory>(w->store.get(), w->root.get());
    w->audit = must(kms_server::AuditLog::Open(""), "audit");
    kms_server::RequestHandlerOptions ho;
    ho.now = [] { return kNow; };
    w->handler = must(kms_server::RequestHandler::Create(w->service.get(), w->principals.get(),
                                                         w->audit.get(), ho),
                      "handler");
    kms_server::Caller caller{"arn:aws:iam::111122223333:user/fuzz", "111122223333",
                              kAccessKeyId};
    kms_server::CallInfo info;
    auto key = w->service->Call(caller, "CreateKey", "{}", &info);
    if (!key.ok()) Fail("CreateKey", key.status().ToString());
    const nlohmann::json created = nlohmann::json::parse(*key);
    const nlohmann::json alias_request = {{"AliasName", "alias/fuzz"},
                                          {"TargetKeyId", created["KeyMetadata"]["KeyId"]}};
    auto alias = w->service->Call(caller, "CreateAlias", alias_request.dump(), &info);
    if (!alias.ok()) Fail("CreateAlias", alias.status().ToString());
    return w;
  }();
  return *world;
}

kms_server::HttpRequest SignedRequest(std::string_view input) {
  const size_t nl = input.find('\n');
  const std::string op(input.substr(0, nl));
  const std::string body(nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1));
  kms::HttpRequestParts parts;
  parts.method = "POST";
  parts.path = "/";
  parts.headers = {{"Host", "127.0.0.1:4566"},
                   {"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Amz-Target", "TrentService." + op}};
  parts.body = body;
  kms::AwsCredentials creds{kAccessKeyId, SecretBytes::Copy(AsBytes(kSecret)), ""};
  kms::SigningConfig config{"us-east-1", "kms", kNow};
  static const kms::SigV4Signer* signer = new kms::SigV4Signer;
  kms_server::HttpRequest r;
  if (signer->Sign(creds, config, parts).ok()) r.headers = parts.headers;
  r.method = "POST";
  r.path = "/";
  r.body = body;
  return r;
}

kms_server::HttpRequest RawRequest(std::string_view input) {
  kms_server::HttpRequest r;
  r.method = "POST";
  r.path = "/";
  while (!input.empty()) {
    const size_t nl = input.find('\n');
    const std::string_view line = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
    if (line.empty()) break;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  r.body = std::string(input);
  return r;
}

}  // namespace
}  // namespace veil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace veil;
  if (size == 0) return 0;
  fuzz::World& w = fuzz::TheWorld();
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const kms_server::HttpRequest request =
      (data[0] & 1) ? fuzz::SignedRequest(input) : fuzz::RawRequest(input);
  const kms_server::HttpResponse response = w.handler->Handle(request);

  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) fuzz::Fail("response is not a JSON object", response.body);
  if (response.status == 200) {
    if (body.contains("__type")) fuzz::Fail("success with an error type", response.body);
  } else {
    if (response.status != 400 && response.status != 403 && response.status != 404 &&
        response.status != 413) {
      fuzz::Fail("unexpected HTTP status (500 means an internal error)", response.body);
    }
    if (!body.contains("__type") || !body["__type"].is_string()) {
      fuzz::Fail("error without __type", response.body);
    }
  }
  // An unsigned request never gets past authentication.
  if (!(data[0] & 1) && response.status == 200) fuzz::Fail("unsigned request succeeded", response.body);
  return 0;
}
