#include "veil/kms/testing/fake_kms_server.h"

#include <httplib.h>

#include <chrono>
#include <functional>
#include <thread>
#include <utility>

#include "veil/kms/json_codec.h"
#include "veil/kms/sigv4.h"

namespace veil::kms::testing {
namespace {

struct Answer {
  int status = 200;
  std::string body;
};

Answer ErrorAnswer(const absl::Status& status) {
  const ErrorType type = GetKmsErrorType(status).value_or(ErrorType::kInternal);
  std::string message(status.message());
  // KmsError put "<__type>: " in front; the wire message is what follows.
  const std::string prefix = std::string(ErrorTypeName(type)) + ": ";
  if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
  absl::StatusOr<std::string> body = EncodeJson(ErrorResponse{ErrorTypeName(type), message});
  return {ErrorHttpStatus(type), body.ok() ? *body : "{}"};
}

template <typename Request, typename Response>
Answer Serve(const std::string& body,
             const std::function<absl::StatusOr<Response>(const Request&)>& op) {
  absl::StatusOr<Request> req = DecodeJson<Request>(body);
  if (!req.ok()) return ErrorAnswer(req.status());
  absl::StatusOr<Response> resp = op(*req);
  if (!resp.ok()) return ErrorAnswer(resp.status());
  absl::StatusOr<std::string> out = EncodeJson(*resp);
  if (!out.ok()) return ErrorAnswer(out.status());
  return {200, std::move(out).value()};
}

template <typename Request>
Answer ServeEmpty(const std::string& body, const std::function<absl::Status(const Request&)>& op) {
  return Serve<Request, EmptyResponse>(
      body, [&op](const Request& r) -> absl::StatusOr<EmptyResponse> {
        absl::Status s = op(r);
        if (!s.ok()) return s;
        return EmptyResponse{};
      });
}

Answer Dispatch(KmsClient& k, const std::string& op, const std::string& body) {
  if (op == "Encrypt") {
    return Serve<EncryptRequest, EncryptResponse>(body, [&](const auto& r) { return k.Encrypt(r); });
  }
  if (op == "Decrypt") {
    return Serve<DecryptRequest, DecryptResponse>(body, [&](const auto& r) { return k.Decrypt(r); });
  }
  if (op == "ReEncrypt") {
    return Serve<ReEncryptRequest, ReEncryptResponse>(body,
                                                      [&](const auto& r) { return k.ReEncrypt(r); });
  }
  if (op == "GenerateDataKey") {
    return Serve<GenerateDataKeyRequest, GenerateDataKeyResponse>(
        body, [&](const auto& r) { return k.GenerateDataKey(r); });
  }
  if (op == "GenerateDataKeyWithoutPlaintext") {
    return Serve<GenerateDataKeyWithoutPlaintextRequest, GenerateDataKeyWithoutPlaintextResponse>(
        body, [&](const auto& r) { return k.GenerateDataKeyWithoutPlaintext(r); });
  }
  if (op == "GenerateRandom") {
    return Serve<GenerateRandomRequest, GenerateRandomResponse>(
        body, [&](const auto& r) { return k.GenerateRandom(r); });
  }
  if (op == "CreateKey") {
    return Serve<CreateKeyRequest, CreateKeyResponse>(body,
                                                      [&](const auto& r) { return k.CreateKey(r); });
  }
  if (op == "DescribeKey") {
    return Serve<DescribeKeyRequest, DescribeKeyResponse>(
        body, [&](const auto& r) { return k.DescribeKey(r); });
  }
  if (op == "ListKeys") {
    return Serve<ListKeysRequest, ListKeysResponse>(body, [&](const auto& r) { return k.ListKeys(r); });
  }
  if (op == "CreateAlias") {
    return ServeEmpty<CreateAliasRequest>(body, [&](const auto& r) { return k.CreateAlias(r); });
  }
  if (op == "UpdateAlias") {
    return ServeEmpty<UpdateAliasRequest>(body, [&](const auto& r) { return k.UpdateAlias(r); });
  }
  if (op == "DeleteAlias") {
    return ServeEmpty<DeleteAliasRequest>(body, [&](const auto& r) { return k.DeleteAlias(r); });
  }
  if (op == "ListAliases") {
    return Serve<ListAliasesRequest, ListAliasesResponse>(
        body, [&](const auto& r) { return k.ListAliases(r); });
  }
  if (op == "EnableKey") {
    return ServeEmpty<KeyIdRequest>(body, [&](const auto& r) { return k.EnableKey(r); });
  }
  if (op == "DisableKey") {
    return ServeEmpty<KeyIdRequest>(body, [&](const auto& r) { return k.DisableKey(r); });
  }
  return ErrorAnswer(KmsError(ErrorType::kUnknownOperation, op + " is not served here"));
}

}  // namespace

struct FakeKmsServer::Impl {
  std::shared_ptr<KmsClient> backend;
  std::unique_ptr<SigV4Verifier> verifier;
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

FakeKmsServer::FakeKmsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FakeKmsServer::~FakeKmsServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string FakeKmsServer::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}

absl::StatusOr<std::unique_ptr<FakeKmsServer>> FakeKmsServer::Start(
    std::shared_ptr<KmsClient> backend, std::map<std::string, std::string> credentials,
    std::string region) {
  auto impl = std::make_unique<Impl>();
  impl->backend = std::move(backend);
  VerifierOptions options;
  options.service = "kms";
  options.region = std::move(region);
  auto verifier = SigV4Verifier::Create(
      options, [credentials = std::move(credentials)](
                   const std::string& id) -> absl::StatusOr<SecretBytes> {
        auto it = credentials.find(id);
        if (it == credentials.end()) return absl::NotFoundError(id);
        return SecretBytes::Copy(absl::MakeConstSpan(
            reinterpret_cast<const uint8_t*>(it->second.data()), it->second.size()));
      });
  if (!verifier.ok()) return verifier.status();
  impl->verifier = std::move(verifier).value();

  std::unique_ptr<FakeKmsServer> server(new FakeKmsServer(std::move(impl)));
  FakeKmsServer* self = server.get();
  Impl* state = server->impl_.get();
  state->server.Post("/", [state, self](const httplib::Request& req, httplib::Response& res) {
    HttpRequestParts parts;
    parts.method = req.method;
    parts.path = req.path;
    for (const auto& [n, v] : req.headers) parts.headers.emplace_back(n, v);
    parts.body = req.body;
    Answer answer;
    if (absl::StatusOr<VerifiedRequest> v = state->verifier->Verify(parts); !v.ok()) {
      const std::optional<SigV4Failure> f = GetSigV4Failure(v.status());
      const std::string type = f.has_value() ? SigV4FailureAwsType(*f) : "KMSInternalException";
      answer = {400, "{\"__type\":\"" + type + "\"}"};
    } else {
      ++self->requests_;
      const std::string target = req.get_header_value("X-Amz-Target");
      const std::string prefix = "TrentService.";
      answer = target.rfind(prefix, 0) == 0
                   ? Dispatch(*state->backend, target.substr(prefix.size()), req.body)
                   : ErrorAnswer(KmsError(ErrorType::kUnknownOperation, "bad X-Amz-Target"));
    }
    res.status = answer.status;
    res.set_content(answer.body, "application/x-amz-json-1.1");
  });
  state->port = state->server.bind_to_any_port("127.0.0.1");
  if (state->port <= 0) return absl::UnavailableError("FakeKmsServer cannot bind 127.0.0.1");
  state->thread = std::thread([state] { state->server.listen_after_bind(); });
  while (!state->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return server;
}

}  // namespace veil::kms::testing
