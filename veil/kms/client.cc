#include "veil/kms/client.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/kms/json_codec.h"

namespace veil::kms {
namespace {

constexpr char kContentType[] = "application/x-amz-json-1.1";
constexpr char kService[] = "kms";

// Endpoint is a parsed endpoint URL.
struct Endpoint {
  std::string scheme_host_port;  // for httplib::Client
  std::string host;              // the host alone (no brackets, no port), as httplib keys it
  std::string host_header;       // host[:port] as sent in Host
  std::string path = "/";
  uint16_t port = 0;             // explicit, or the scheme's default
};

absl::StatusOr<Endpoint> ParseEndpoint(const std::string& url) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos) {
    return absl::InvalidArgumentError("KMS endpoint '" + url +
                                      "' must start with https:// or http://");
  }
  const std::string scheme = url.substr(0, sep);
  if (scheme != "https" && scheme != "http") {
    return absl::InvalidArgumentError("KMS endpoint '" + url +
                                      "' must start with https:// or http://");
  }
  std::string rest = url.substr(sep + 3);
  Endpoint out;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    out.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  if (rest.empty() || rest.find_first_of("?#@ ") != std::string::npos) {
    return absl::InvalidArgumentError("KMS endpoint '" + url + "' has no valid host");
  }
  if (out.path.find_first_of("?#") != std::string::npos) {
    return absl::InvalidArgumentError("KMS endpoint '" + url + "' must not have a query");
  }
  // Drop a default port from Host, as HTTP clients do.
  std::string host = rest;
  const std::string default_port = scheme == "https" ? ":443" : ":80";
  if (host.size() > default_port.size() &&
      host.compare(host.size() - default_port.size(), default_port.size(), default_port) == 0) {
    host.resize(host.size() - default_port.size());
  }
  out.host_header = host;
  out.scheme_host_port = scheme + "://" + rest;
  if (rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) {
      return absl::InvalidArgumentError("KMS endpoint '" + url + "' has no valid host");
    }
    out.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    out.host = rest.substr(0, rest.find(':'));
    rest = rest.substr(out.host.size());
  }
  out.port = scheme == "https" ? 443 : 80;
  if (!rest.empty()) {
    uint32_t port = 0;
    if (rest.front() != ':' || !absl::SimpleAtoi(rest.substr(1), &port) || port == 0 ||
        port > 65535) {
      return absl::InvalidArgumentError("KMS endpoint '" + url + "' has a bad port");
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}


}  // namespace

absl::StatusOr<uint16_t> KmsEndpointPort(const std::string& url) {
  VEIL_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(url));
  return endpoint.port;
}

namespace {

bool IsTlsVerificationError(httplib::Error e) {
  return e == httplib::Error::SSLServerVerification || e == httplib::Error::SSLLoadingCerts;
}

absl::StatusCode CodeForUnknownType(int http_status) {
  if (http_status >= 500) return absl::StatusCode::kUnavailable;
  switch (http_status) {
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 413:
      return absl::StatusCode::kInvalidArgument;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kUnknown;
  }
}

// Retryable reports whether an error answer is worth another attempt.
bool RetryableAnswer(int http_status, const absl::Status& status) {
  if (http_status >= 500 || http_status == 429) return true;
  std::optional<ErrorType> type = GetKmsErrorType(status);
  return type.has_value() && IsRetryable(*type);
}

}  // namespace

absl::Status ErrorFromHttpResponse(const char* operation, int http_status,
                                   std::string_view error_type_header, std::string_view body) {
  std::string type_name;
  std::string message;
  if (absl::StatusOr<ErrorResponse> e = DecodeJson<ErrorResponse>(body); e.ok()) {
    type_name = e->type;
    message = e->message;
  }
  if (type_name.empty()) type_name = std::string(error_type_header);
  std::string context = std::string("KMS ") + operation + " failed (HTTP " +
                        std::to_string(http_status) + ")";
  if (!message.empty()) context += ": " + message;
  if (std::optional<ErrorType> type = ParseErrorType(type_name)) {
    return KmsError(*type, context);
  }
  // An error type this client does not know: keep its name for the reader.
  std::string name = type_name;
  if (const size_t hash = name.rfind('#'); hash != std::string::npos) name = name.substr(hash + 1);
  if (const size_t colon = name.find(':'); colon != std::string::npos) name.resize(colon);
  if (name.empty()) name = "UnknownError";
  return absl::Status(CodeForUnknownType(http_status), name + ": " + context);
}

struct HttpKmsClient::State {
  HttpKmsClientOptions options;
  Endpoint endpoint;
  SigV4Signer signer;
  std::mutex http_mu;  // httplib::Client is used by one call at a time
  std::unique_ptr<httplib::Client> http;
  std::mutex rng_mu;
  std::mt19937_64 rng{std::random_device{}()};
};

HttpKmsClient::HttpKmsClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpKmsClient::~HttpKmsClient() = default;

absl::StatusOr<std::unique_ptr<KmsClient>> HttpKmsClient::Create(HttpKmsClientOptions options) {
  VEIL_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(options.endpoint));
  if (options.region.empty()) return absl::InvalidArgumentError("KMS client needs a region");
  if (options.credentials.access_key_id.empty() ||
      options.credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError("KMS client needs an access key id and a secret key");
  }
  if (options.retry.max_attempts < 1 || options.retry.max_attempts > 20 ||
      options.retry.base_delay < absl::ZeroDuration() ||
      options.retry.max_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "KMS client retry options: max_attempts must be 1..20 and delays non-negative");
  }
  if (!options.connect_host.empty()) {
    in_addr v4;
    in6_addr v6;
    if (::inet_pton(AF_INET, options.connect_host.c_str(), &v4) != 1 &&
        ::inet_pton(AF_INET6, options.connect_host.c_str(), &v6) != 1) {
      return absl::InvalidArgumentError("KMS client connect_host '" + options.connect_host +
                                        "' must be a numeric IPv4 or IPv6 address");
    }
  }
  if (!options.now) options.now = [] { return absl::Now(); };
  if (!options.sleep) options.sleep = [](absl::Duration d) { absl::SleepFor(d); };

  auto state = std::make_unique<State>();
  state->http = std::make_unique<httplib::Client>(endpoint.scheme_host_port);
  if (!state->http->is_valid()) {
    return absl::InvalidArgumentError("KMS endpoint '" + options.endpoint +
                                      "' is not usable (is TLS support available?)");
  }
  if (!options.ca_file.empty()) state->http->set_ca_cert_path(options.ca_file);
  if (!options.connect_host.empty()) {
    // httplib connects to the mapped address but keeps the host name for
    // SNI, certificate verification and the Host header.
    state->http->set_hostname_addr_map({{endpoint.host, options.connect_host}});
  }
  state->http->enable_server_certificate_verification(true);
  state->http->set_keep_alive(true);
  state->http->set_connection_timeout(absl::ToChronoMicroseconds(options.connect_timeout));
  state->http->set_read_timeout(absl::ToChronoMicroseconds(options.timeout));
  // Requests are small and written in pieces; without TCP_NODELAY, Nagle and
  // delayed ACKs add ~40 ms to every call.
  state->http->set_tcp_nodelay(true);
  state->http->set_write_timeout(absl::ToChronoMicroseconds(options.timeout));
  state->endpoint = std::move(endpoint);
  if (!options.jitter) {
    State* s = state.get();
    options.jitter = [s] {
      std::lock_guard<std::mutex> lock(s->rng_mu);
      return std::uniform_real_distribution<double>(0.0, 1.0)(s->rng);
    };
  }
  state->options = std::move(options);
  return std::unique_ptr<KmsClient>(new HttpKmsClient(std::move(state)));
}

absl::StatusOr<std::string> HttpKmsClient::Call(const char* operation, std::string& body) {
  const HttpKmsClientOptions& o = state_->options;
  const std::string target = std::string("TrentService.") + operation;
  absl::Status last;
  for (int attempt = 0; attempt < o.retry.max_attempts; ++attempt) {
    if (attempt > 0) {
      // Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))].
      const absl::Duration ceiling =
          std::min(o.retry.max_delay, o.retry.base_delay * std::ldexp(1.0, attempt - 1));
      o.sleep(ceiling * std::clamp(o.jitter(), 0.0, 1.0));
    }
    HttpRequestParts parts;
    parts.method = "POST";
    parts.path = state_->endpoint.path;
    parts.headers = {{"Host", state_->endpoint.host_header},
                     {"Content-Type", kContentType},
                     {"X-Amz-Target", target}};
    parts.body = body;
    absl::StatusOr<SigningResult> signed_request =
        state_->signer.Sign(o.credentials, SigningConfig{o.region, kService, o.now()}, parts);
    if (!signed_request.ok()) {
      SecureWipe(parts.body.data(), parts.body.size());
      return signed_request.status();
    }

    httplib::Request req;
    req.method = "POST";
    req.path = parts.path;
    for (auto& [name, value] : parts.headers) req.headers.emplace(name, value);
    req.headers.emplace("User-Agent", o.user_agent);
    req.body = std::move(parts.body);
    httplib::Response res;
    httplib::Error error = httplib::Error::Success;
    bool sent = false;
    {
      std::lock_guard<std::mutex> lock(state_->http_mu);
      sent = state_->http->send(req, res, error);
    }
    SecureWipe(req.body.data(), req.body.size());
    if (!sent) {
      std::string via;
      if (!o.connect_host.empty()) via = " (connecting to " + o.connect_host + ")";
      last = absl::UnavailableError(std::string("KMS ") + operation + ": request to " +
                                    state_->endpoint.scheme_host_port + via +
                                    " failed: " + httplib::to_string(error));
      if (IsTlsVerificationError(error)) return last;
      continue;
    }
    if (res.status >= 200 && res.status < 300) return std::move(res.body);
    last = ErrorFromHttpResponse(operation, res.status,
                                 res.get_header_value("x-amzn-ErrorType"), res.body);
    SecureWipe(res.body.data(), res.body.size());
    if (!RetryableAnswer(res.status, last)) return last;
  }
  return last;
}

template <typename Response, typename Request>
absl::StatusOr<Response> HttpKmsClient::Invoke(const char* operation, const Request& request) {
  VEIL_ASSIGN_OR_RETURN(std::string body, EncodeJson(request));
  absl::StatusOr<std::string> answer = Call(operation, body);
  // The body may carry plaintext (Encrypt), as may the answer (Decrypt,
  // GenerateDataKey, GenerateRandom).
  SecureWipe(body.data(), body.size());
  if (!answer.ok()) return answer.status();
  absl::StatusOr<Response> out = DecodeJson<Response>(*answer);
  SecureWipe(answer->data(), answer->size());
  if (!out.ok()) {
    return absl::InternalError(std::string("KMS ") + operation +
                               " returned a malformed response: " +
                               std::string(out.status().message()));
  }
  return out;
}

template <typename Request>
absl::Status HttpKmsClient::InvokeEmpty(const char* operation, const Request& request) {
  return Invoke<EmptyResponse>(operation, request).status();
}

absl::StatusOr<EncryptResponse> HttpKmsClient::Encrypt(const EncryptRequest& r) {
  return Invoke<EncryptResponse>("Encrypt", r);
}
absl::StatusOr<DecryptResponse> HttpKmsClient::Decrypt(const DecryptRequest& r) {
  return Invoke<DecryptResponse>("Decrypt", r);
}
absl::StatusOr<ReEncryptResponse> HttpKmsClient::ReEncrypt(const ReEncryptRequest& r) {
  return Invoke<ReEncryptResponse>("ReEncrypt", r);
}
absl::StatusOr<GenerateDataKeyResponse> HttpKmsClient::GenerateDataKey(
    const GenerateDataKeyRequest& r) {
  return Invoke<GenerateDataKeyResponse>("GenerateDataKey", r);
}
absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
HttpKmsClient::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyWithoutPlaintextRequest& r) {
  return Invoke<GenerateDataKeyWithoutPlaintextResponse>("GenerateDataKeyWithoutPlaintext", r);
}
absl::StatusOr<GenerateRandomResponse> HttpKmsClient::GenerateRandom(
    const GenerateRandomRequest& r) {
  return Invoke<GenerateRandomResponse>("GenerateRandom", r);
}
absl::StatusOr<CreateKeyResponse> HttpKmsClient::CreateKey(const CreateKeyRequest& r) {
  return Invoke<CreateKeyResponse>("CreateKey", r);
}
absl::StatusOr<DescribeKeyResponse> HttpKmsClient::DescribeKey(const DescribeKeyRequest& r) {
  return Invoke<DescribeKeyResponse>("DescribeKey", r);
}
absl::StatusOr<ListKeysResponse> HttpKmsClient::ListKeys(const ListKeysRequest& r) {
  return Invoke<ListKeysResponse>("ListKeys", r);
}
absl::Status HttpKmsClient::CreateAlias(const CreateAliasRequest& r) {
  return InvokeEmpty("CreateAlias", r);
}
absl::Status HttpKmsClient::UpdateAlias(const UpdateAliasRequest& r) {
  return InvokeEmpty("UpdateAlias", r);
}
absl::Status HttpKmsClient::DeleteAlias(const DeleteAliasRequest& r) {
  return InvokeEmpty("DeleteAlias", r);
}
absl::StatusOr<ListAliasesResponse> HttpKmsClient::ListAliases(const ListAliasesRequest& r) {
  return Invoke<ListAliasesResponse>("ListAliases", r);
}
absl::StatusOr<GetKeyPolicyResponse> HttpKmsClient::GetKeyPolicy(const GetKeyPolicyRequest& r) {
  return Invoke<GetKeyPolicyResponse>("GetKeyPolicy", r);
}
absl::Status HttpKmsClient::PutKeyPolicy(const PutKeyPolicyRequest& r) {
  return InvokeEmpty("PutKeyPolicy", r);
}
absl::Status HttpKmsClient::EnableKey(const EnableKeyRequest& r) {
  return InvokeEmpty("EnableKey", r);
}
absl::Status HttpKmsClient::DisableKey(const DisableKeyRequest& r) {
  return InvokeEmpty("DisableKey", r);
}
absl::StatusOr<ScheduleKeyDeletionResponse> HttpKmsClient::ScheduleKeyDeletion(
    const ScheduleKeyDeletionRequest& r) {
  return Invoke<ScheduleKeyDeletionResponse>("ScheduleKeyDeletion", r);
}
absl::StatusOr<CancelKeyDeletionResponse> HttpKmsClient::CancelKeyDeletion(
    const CancelKeyDeletionRequest& r) {
  return Invoke<CancelKeyDeletionResponse>("CancelKeyDeletion", r);
}
absl::Status HttpKmsClient::EnableKeyRotation(const EnableKeyRotationRequest& r) {
  return InvokeEmpty("EnableKeyRotation", r);
}
absl::Status HttpKmsClient::DisableKeyRotation(const DisableKeyRotationRequest& r) {
  return InvokeEmpty("DisableKeyRotation", r);
}
absl::StatusOr<GetKeyRotationStatusResponse> HttpKmsClient::GetKeyRotationStatus(
    const GetKeyRotationStatusRequest& r) {
  return Invoke<GetKeyRotationStatusResponse>("GetKeyRotationStatus", r);
}

absl::StatusOr<std::unique_ptr<KmsClient>> NewKmsClientFromEnvironment(
    const AwsConfigOverrides& overrides, const AwsEnvironment& env, HttpKmsClientOptions base) {
  VEIL_ASSIGN_OR_RETURN(ResolvedAwsConfig config, ResolveAwsConfig(overrides, env));
  base.endpoint = config.endpoint_url;
  base.region = config.region;
  base.credentials = std::move(config.credentials);
  base.ca_file = config.ca_bundle;
  return HttpKmsClient::Create(std::move(base));
}

}  // namespace veil::kms
