// HttpKmsClient against a small in-process HTTP(S) server that checks the
// wire format (method, path, X-Amz-Target, Content-Type, JSON body) and the
// SigV4 signature of every request, and answers with canned bodies.
#include "veil/kms/client.h"

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "veil/kms/json_codec.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

constexpr char kAccessKeyId[] = "AKIDVEILTEST";
constexpr char kSecret[] = "veil-test-secret-key";
constexpr char kRegion[] = "eu-west-1";
constexpr char kKeyArn[] = "arn:aws:kms:eu-west-1:111122223333:key/0b7b5a1e-1111-2222-3333-444455556666";

SecretBytes Secret(std::string_view s) {
  return SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// Received is one request as the test server saw it.
struct Received {
  std::string host;
  std::string target;
  std::string content_type;
  std::string path;
  std::string amz_date;
  std::string security_token;
  std::string body;
  absl::Status signature;
};

// Answer is what the server replies: HTTP status, body, extra headers.
struct Answer {
  int status = 200;
  std::string body = "{}";
  std::vector<std::pair<std::string, std::string>> headers;
};

// TestKmsServer listens on 127.0.0.1 (plain HTTP, or HTTPS when given a
// certificate) and verifies each request with SigV4Verifier.
class TestKmsServer {
 public:
  using Responder = std::function<Answer(const Received&)>;

  explicit TestKmsServer(Responder responder, const std::string& cert = "",
                         const std::string& key = "")
      : responder_(std::move(responder)) {
    if (cert.empty()) {
      server_ = std::make_unique<httplib::Server>();
    } else {
      server_ = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    }
    VerifierOptions options;
    options.service = "kms";
    options.region = kRegion;
    verifier_ = std::move(SigV4Verifier::Create(options, [](const std::string& id)
                                                     -> absl::StatusOr<SecretBytes> {
                            if (id != kAccessKeyId) return absl::NotFoundError(id);
                            return Secret(kSecret);
                          }).value());
    server_->Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res);
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // httplib 0.11 has no wait_until_ready().
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TestKmsServer() {
    server_->stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url(bool tls = false) const {
    return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    HttpRequestParts parts;
    parts.method = req.method;
    parts.path = req.path;
    for (const auto& [n, v] : req.headers) parts.headers.emplace_back(n, v);
    parts.body = req.body;
    Received r;
    r.host = req.get_header_value("Host");
    r.target = req.get_header_value("X-Amz-Target");
    r.content_type = req.get_header_value("Content-Type");
    r.path = req.path;
    r.amz_date = req.get_header_value("X-Amz-Date");
    r.security_token = req.get_header_value("X-Amz-Security-Token");
    r.body = req.body;
    r.signature = verifier_->Verify(parts).status();
    Answer a;
    if (!r.signature.ok()) {
      a = Answer{400, R"({"__type":"InvalidSignatureException","message":"bad signature"})"};
    } else {
      a = responder_(r);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      received_.push_back(std::move(r));
    }
    res.status = a.status;
    for (const auto& [n, v] : a.headers) res.set_header(n, v);
    res.set_content(a.body, "application/x-amz-json-1.1");
  }

  Responder responder_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<SigV4Verifier> verifier_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> received_;
};

// FakeSleeper records the back-off delays instead of sleeping.
struct FakeSleeper {
  std::vector<absl::Duration> delays;
  std::function<void(absl::Duration)> Fn() {
    return [this](absl::Duration d) { delays.push_back(d); };
  }
};

HttpKmsClientOptions Options(const std::string& endpoint, FakeSleeper* sleeper) {
  HttpKmsClientOptions o;
  o.endpoint = endpoint;
  o.region = kRegion;
  o.credentials = AwsCredentials{kAccessKeyId, Secret(kSecret), ""};
  o.connect_timeout = absl::Seconds(2);
  o.timeout = absl::Seconds(5);
  o.sleep = sleeper->Fn();
  o.jitter = [] { return 1.0; };  // the upper bound of each back-off window
  return o;
}

std::unique_ptr<KmsClient> NewClient(HttpKmsClientOptions o) {
  auto c = HttpKmsClient::Create(std::move(o));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(c).value() : nullptr;
}

// --- The wire format of every operation ---------------------------------------

TEST(HttpKmsClientTest, EveryOperationUsesTheJsonProtocolAndIsSigned) {
  const std::string metadata = std::string(R"({"KeyMetadata":{"KeyId":"k","Arn":")") + kKeyArn +
                               R"(","KeyState":"Enabled"}})";
  TestKmsServer server([&](const Received& r) -> Answer {
    const std::string op = r.target.substr(r.target.find('.') + 1);
    if (op == "Encrypt") return {200, std::string(R"({"CiphertextBlob":"AQID","KeyId":")") + kKeyArn + "\"}"};
    if (op == "Decrypt") return {200, std::string(R"({"Plaintext":"c2VjcmV0","KeyId":")") + kKeyArn + "\"}"};
    if (op == "ReEncrypt") return {200, R"({"CiphertextBlob":"BAU=","KeyId":"d","SourceKeyId":"s"})"};
    if (op == "GenerateDataKey") {
      return {200, std::string(R"({"CiphertextBlob":"AQ==","Plaintext":"AAECAw==","KeyId":")") +
                       kKeyArn + "\"}"};
    }
    if (op == "GenerateDataKeyWithoutPlaintext") return {200, R"({"CiphertextBlob":"AQ==","KeyId":"k"})"};
    if (op == "GenerateRandom") return {200, R"({"Plaintext":"AAAAAA=="})"};
    if (op == "CreateKey" || op == "DescribeKey") return {200, metadata};
    if (op == "ListKeys") return {200, R"({"Keys":[{"KeyId":"k","KeyArn":"a"}],"Truncated":false})"};
    if (op == "ListAliases") return {200, R"({"Aliases":[{"AliasName":"alias/a"}]})"};
    if (op == "GetKeyPolicy") return {200, R"({"Policy":"{}","PolicyName":"default"})"};
    if (op == "ScheduleKeyDeletion") return {200, R"({"KeyId":"k","KeyState":"PendingDeletion","DeletionDate":1700000000})"};
    if (op == "CancelKeyDeletion") return {200, R"({"KeyId":"k"})"};
    if (op == "GetKeyRotationStatus") return {200, R"({"KeyRotationEnabled":true})"};
    return {200, ""};  // the operations whose answer is empty
  });
  FakeSleeper sleeper;
  auto client = NewClient(Options(server.url(), &sleeper));
  ASSERT_NE(client, nullptr);

  EncryptRequest enc;
  enc.key_id = "alias/a";
  enc.plaintext = Secret("secret");
  enc.encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptResponse er, client->Encrypt(enc));
  EXPECT_EQ(er.key_id, kKeyArn);
  DecryptRequest dec;
  dec.ciphertext_blob = {1, 2, 3};
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse dr, client->Decrypt(dec));
  EXPECT_EQ(std::string(dr.plaintext.Expose().begin(), dr.plaintext.Expose().end()), "secret");
  ReEncryptRequest re;
  re.ciphertext_blob = {1};
  re.destination_key_id = "d";
  VEIL_EXPECT_OK(client->ReEncrypt(re));
  GenerateDataKeyRequest gdk;
  gdk.key_id = kKeyArn;
  gdk.number_of_bytes = 4;
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse gr, client->GenerateDataKey(gdk));
  EXPECT_EQ(gr.plaintext.size(), 4u);
  VEIL_EXPECT_OK(client->GenerateDataKeyWithoutPlaintext({"k"}));
  GenerateRandomRequest rnd;
  rnd.number_of_bytes = 4;
  VEIL_EXPECT_OK(client->GenerateRandom(rnd));
  VEIL_EXPECT_OK(client->CreateKey({}));
  VEIL_ASSERT_OK_AND_ASSIGN(DescribeKeyResponse desc, client->DescribeKey({"alias/a"}));
  EXPECT_EQ(desc.key_metadata.arn, kKeyArn);
  VEIL_EXPECT_OK(client->ListKeys({}));
  VEIL_EXPECT_OK(client->CreateAlias({"alias/a", "k"}));
  VEIL_EXPECT_OK(client->UpdateAlias({"alias/a", "k2"}));
  VEIL_EXPECT_OK(client->DeleteAlias({"alias/a"}));
  VEIL_EXPECT_OK(client->ListAliases({}));
  VEIL_EXPECT_OK(client->GetKeyPolicy({"k", "default"}));
  VEIL_EXPECT_OK(client->PutKeyPolicy({"k", "default", "{}"}));
  VEIL_EXPECT_OK(client->EnableKey({"k"}));
  VEIL_EXPECT_OK(client->DisableKey({"k"}));
  VEIL_EXPECT_OK(client->ScheduleKeyDeletion({"k", 7}));
  VEIL_EXPECT_OK(client->CancelKeyDeletion({"k"}));
  VEIL_EXPECT_OK(client->EnableKeyRotation({"k"}));
  VEIL_EXPECT_OK(client->DisableKeyRotation({"k"}));
  VEIL_EXPECT_OK(client->GetKeyRotationStatus({"k"}));

  std::vector<std::string> ops;
  for (const Received& r : server.received()) {
    SCOPED_TRACE(r.target);
    EXPECT_THAT(r.signature, IsOk());
    EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
    EXPECT_EQ(r.path, "/");
    ops.push_back(r.target);
  }
  EXPECT_THAT(ops,
              ElementsAre("TrentService.Encrypt", "TrentService.Decrypt", "TrentService.ReEncrypt",
                          "TrentService.GenerateDataKey",
                          "TrentService.GenerateDataKeyWithoutPlaintext",
                          "TrentService.GenerateRandom", "TrentService.CreateKey",
                          "TrentService.DescribeKey", "TrentService.ListKeys",
                          "TrentService.CreateAlias", "TrentService.UpdateAlias",
                          "TrentService.DeleteAlias", "TrentService.ListAliases",
                          "TrentService.GetKeyPolicy", "TrentService.PutKeyPolicy",
                          "TrentService.EnableKey", "TrentService.DisableKey",
                          "TrentService.ScheduleKeyDeletion", "TrentService.CancelKeyDeletion",
                          "TrentService.EnableKeyRotation", "TrentService.DisableKeyRotation",
                          "TrentService.GetKeyRotationStatus"));
  // The server side of the codec reads what the client wrote.
  const std::vector<Received> got = server.received();
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptRequest server_enc, DecodeJson<EncryptRequest>(got[0].body));
  EXPECT_EQ(server_enc.key_id, "alias/a");
  EXPECT_EQ(server_enc.encryption_context, enc.encryption_context);
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyRequest server_gdk,
                            DecodeJson<GenerateDataKeyRequest>(got[3].body));
  EXPECT_EQ(server_gdk.number_of_bytes, 4);
  EXPECT_TRUE(sleeper.delays.empty());
}

TEST(HttpKmsClientTest, DecryptWithRecipient) {
  TestKmsServer server([](const Received& r) -> Answer {
    auto req = DecodeJson<DecryptRequest>(r.body);
    if (!req.ok() || !req->recipient.has_value() ||
        req->recipient->attestation_document != std::vector<uint8_t>{0xd2, 0x84}) {
      return {400, R"({"__type":"ValidationException","message":"no recipient"})"};
    }
    return {200, std::string(R"({"KeyId":")") + kKeyArn +
                     R"(","Plaintext":null,"CiphertextForRecipient":"MIAGCSqGSIb3DQEHA6CA"})"};
  });
  FakeSleeper sleeper;
  auto client = NewClient(Options(server.url(), &sleeper));
  DecryptRequest dec;
  dec.ciphertext_blob = {9};
  dec.recipient = Recipient{key_encryption_algorithm::kRsaesOaepSha256, {0xd2, 0x84}};
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse dr, client->Decrypt(dec));
  EXPECT_TRUE(dr.plaintext.empty());
  EXPECT_EQ(dr.ciphertext_for_recipient.size(), 15u);
}

TEST(HttpKmsClientTest, SessionTokenIsSentAndSigned) {
  TestKmsServer server([](const Received&) { return Answer{200, R"({"KeyId":"k"})"}; });
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(server.url(), &sleeper);
  o.credentials.session_token = "session-token-value";
  auto client = NewClient(std::move(o));
  VEIL_ASSERT_OK(client->CancelKeyDeletion({"k"}));
  ASSERT_EQ(server.received().size(), 1u);
  EXPECT_EQ(server.received()[0].security_token, "session-token-value");
  EXPECT_THAT(server.received()[0].signature, IsOk());
}

TEST(HttpKmsClientTest, EndpointPathIsKept) {
  TestKmsServer server([](const Received&) { return Answer{200, ""}; });
  FakeSleeper sleeper;
  auto client = NewClient(Options(server.url() + "/kms-proxy", &sleeper));
  VEIL_ASSERT_OK(client->EnableKey({"k"}));
  EXPECT_EQ(server.received()[0].path, "/kms-proxy");
  EXPECT_THAT(server.received()[0].signature, IsOk());
}

// --- Errors ----------------------------------------------------------------------

TEST(HttpKmsClientTest, MapsAwsErrorShapes) {
  struct Case {
    Answer answer;
    absl::StatusCode code;
    std::optional<ErrorType> type;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{400, R"({"__type":"NotFoundException","message":"Key 'k' does not exist"})"},
       absl::StatusCode::kNotFound, ErrorType::kNotFound,
       "NotFoundException: KMS DescribeKey failed (HTTP 400): Key 'k' does not exist"},
      {{400, R"({"__type":"com.amazonaws.kms#AccessDeniedException","Message":"no"})"},
       absl::StatusCode::kPermissionDenied, ErrorType::kAccessDenied, "AccessDeniedException"},
      {{400, R"({"__type":"KMSInvalidStateException","message":"pending deletion"})"},
       absl::StatusCode::kFailedPrecondition, ErrorType::kInvalidState, "pending deletion"},
      {{400, R"({"__type":"DisabledException"})"}, absl::StatusCode::kFailedPrecondition,
       ErrorType::kDisabled, "DisabledException"},
      {{400, "", {{"x-amzn-ErrorType", "ValidationException:http://internal.amazon.com/"}}},
       absl::StatusCode::kInvalidArgument, ErrorType::kValidation, "ValidationException"},
      {{400, R"({"__type":"BrandNewException","message":"m"})"}, absl::StatusCode::kUnknown,
       std::nullopt, "BrandNewException: KMS DescribeKey failed (HTTP 400): m"},
      {{403, "not json"}, absl::StatusCode::kPermissionDenied, std::nullopt, "HTTP 403"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    TestKmsServer server([&](const Received&) { return c.answer; });
    FakeSleeper sleeper;
    auto client = NewClient(Options(server.url(), &sleeper));
    absl::StatusOr<DescribeKeyResponse> got = client->DescribeKey({"k"});
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), c.code) << got.status();
    EXPECT_EQ(GetKmsErrorType(got.status()), c.type);
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.message));
    EXPECT_EQ(server.received().size(), 1u) << "client errors are not retried";
  }
}

TEST(HttpKmsClientTest, MalformedSuccessBodyIsInternal) {
  TestKmsServer server([](const Received&) { return Answer{200, R"({"KeyMetadata":"x"})"}; });
  FakeSleeper sleeper;
  auto client = NewClient(Options(server.url(), &sleeper));
  EXPECT_THAT(client->DescribeKey({"k"}), StatusIs(absl::StatusCode::kInternal));
}

TEST(HttpKmsClientTest, WrongSecretIsRefusedByTheServer) {
  TestKmsServer server([](const Received&) { return Answer{200, ""}; });
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(server.url(), &sleeper);
  o.credentials.secret_access_key = Secret("not-the-secret");
  auto client = NewClient(std::move(o));
  absl::Status s = client->EnableKey({"k"});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(s.message()), HasSubstr("InvalidSignatureException"));
}

// --- Retries -------------------------------------------------------------------------

TEST(HttpKmsClientTest, RetriesThrottlingWithExponentialBackoff) {
  std::atomic<int> calls{0};
  TestKmsServer server([&](const Received&) -> Answer {
    if (++calls <= 2) {
      return {400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"};
    }
    return {200, R"({"KeyId":"k"})"};
  });
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(server.url(), &sleeper);
  absl::Time now = absl::Now();  // the server checks the skew window
  o.now = [&now] {
    now += absl::Seconds(1);
    return now;
  };
  auto client = NewClient(std::move(o));
  VEIL_ASSERT_OK(client->CancelKeyDeletion({"k"}));
  EXPECT_EQ(calls.load(), 3);
  EXPECT_THAT(sleeper.delays, ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200)));
  // Each attempt is signed afresh.
  const std::vector<Received> got = server.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(got[0].amz_date, got[1].amz_date);
  EXPECT_NE(got[1].amz_date, got[2].amz_date);
}

TEST(HttpKmsClientTest, GivesUpAfterMaxAttemptsOnServerErrors) {
  TestKmsServer server([](const Received&) {
    return Answer{500, R"({"__type":"KMSInternalException","message":"oops"})"};
  });
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(server.url(), &sleeper);
  o.retry.max_attempts = 4;
  o.jitter = [] { return 0.5; };
  auto client = NewClient(std::move(o));
  EXPECT_THAT(client->EnableKey({"k"}), StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(server.received().size(), 4u);
  EXPECT_THAT(sleeper.delays, ElementsAre(absl::Milliseconds(50), absl::Milliseconds(100),
                                          absl::Milliseconds(200)));
}

TEST(HttpKmsClientTest, BackoffIsCapped) {
  TestKmsServer server([](const Received&) { return Answer{503, "Service Unavailable"}; });
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(server.url(), &sleeper);
  o.retry = RetryOptions{6, absl::Seconds(1), absl::Seconds(3)};
  auto client = NewClient(std::move(o));
  absl::Status s = client->EnableKey({"k"});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sleeper.delays, ElementsAre(absl::Seconds(1), absl::Seconds(2), absl::Seconds(3),
                                          absl::Seconds(3), absl::Seconds(3)));
}

TEST(HttpKmsClientTest, RetriesNetworkErrorsThenUnavailable) {
  int port = 0;
  {
    TestKmsServer closed([](const Received&) { return Answer{}; });
    port = closed.port();
  }
  FakeSleeper sleeper;
  auto client = NewClient(Options("http://127.0.0.1:" + std::to_string(port), &sleeper));
  absl::Status s = client->EnableKey({"k"});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(s.message()), HasSubstr("KMS EnableKey: request to"));
  EXPECT_EQ(sleeper.delays.size(), 2u);
}

// --- TLS ---------------------------------------------------------------------------

// MakeCertificate writes a self-signed certificate for 127.0.0.1 with the
// openssl CLI and returns {cert, key} paths.
std::optional<std::pair<std::string, std::string>> MakeCertificate(const fs::path& dir) {
  const std::string cert = (dir / "cert.pem").string();
  const std::string key = (dir / "key.pem").string();
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout '" + key + "' -out '" + cert +
      "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  return std::make_pair(cert, key);
}

TEST(HttpKmsClientTest, HttpsWithAGivenCaFile) {
  const fs::path dir = fs::temp_directory_path() / ("veil-kms-tls-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto pem = MakeCertificate(dir);
  if (!pem.has_value()) GTEST_SKIP() << "the openssl CLI is not available";
  TestKmsServer server([](const Received&) { return Answer{200, R"({"KeyId":"k"})"}; },
                       pem->first, pem->second);

  FakeSleeper sleeper;
  HttpKmsClientOptions trusted = Options(server.url(/*tls=*/true), &sleeper);
  trusted.ca_file = pem->first;
  auto client = NewClient(std::move(trusted));
  VEIL_EXPECT_OK(client->CancelKeyDeletion({"k"}));

  // With the system store the self-signed certificate is refused, and a
  // certificate failure is not retried.
  FakeSleeper untrusted_sleeper;
  auto untrusted = NewClient(Options(server.url(/*tls=*/true), &untrusted_sleeper));
  EXPECT_THAT(untrusted->CancelKeyDeletion({"k"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(untrusted_sleeper.delays.empty());
  EXPECT_EQ(server.received().size(), 1u);
  fs::remove_all(dir);
}

// --- connect_host: a name for TLS and SigV4, another address for the socket ---------

// TestCa is a throwaway CA and a server certificate it issued for
// kServerName, made with the openssl CLI.
constexpr char kServerName[] = "kms.veil.test";

struct TestCa {
  std::string ca;      // the CA certificate (PEM)
  std::string cert;    // the server certificate for kServerName
  std::string key;     // its key
};

std::optional<TestCa> MakeTestCa(const fs::path& dir, const std::string& name) {
  TestCa out{(dir / (name + "-ca.pem")).string(), (dir / (name + "-server.pem")).string(),
             (dir / (name + "-server.key")).string()};
  const std::string ca_key = (dir / (name + "-ca.key")).string();
  const std::string csr = (dir / (name + "-server.csr")).string();
  const std::string ext = (dir / (name + "-server.ext")).string();
  const std::string cmd =
      "set -e; printf 'subjectAltName=DNS:" + std::string(kServerName) +
      "\nextendedKeyUsage=serverAuth\n' > '" + ext + "'; "
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=" + name + " test CA' "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign "
      "-keyout '" + ca_key + "' -out '" + out.ca + "'; "
      "openssl req -newkey rsa:2048 -nodes -subj /CN=" + kServerName + " -keyout '" + out.key +
      "' -out '" + csr + "'; "
      "openssl x509 -req -in '" + csr + "' -CA '" + out.ca + "' -CAkey '" + ca_key +
      "' -set_serial 2 -days 1 -extfile '" + ext + "' -out '" + out.cert + "'";
  if (std::system(("(" + cmd + ") >/dev/null 2>&1").c_str()) != 0) return std::nullopt;
  return out;
}

class ConnectHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("veil-kms-connect-host-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    auto ca = MakeTestCa(dir_, "good");
    auto other = MakeTestCa(dir_, "other");
    if (!ca.has_value() || !other.has_value()) GTEST_SKIP() << "the openssl CLI is not available";
    ca_ = *ca;
    other_ = *other;
    server_ = std::make_unique<TestKmsServer>(
        [](const Received&) { return Answer{200, R"({"KeyId":"k"})"}; }, ca_.cert, ca_.key);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  std::string NamedUrl(const char* name = kServerName) const {
    return std::string("https://") + name + ":" + std::to_string(server_->port());
  }

  fs::path dir_;
  TestCa ca_, other_;
  std::unique_ptr<TestKmsServer> server_;
};

TEST_F(ConnectHostTest, ConnectsToTheAddressAndSpeaksToTheName) {
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(NamedUrl(), &sleeper);
  o.connect_host = "127.0.0.1";
  o.ca_file = ca_.ca;
  auto client = NewClient(std::move(o));
  VEIL_EXPECT_OK(client->CancelKeyDeletion({"k"}));
  ASSERT_EQ(server_->received().size(), 1u);
  const Received r = server_->received()[0];
  // The Host header, and so the signature's scope, name the endpoint.
  EXPECT_EQ(r.host, std::string(kServerName) + ":" + std::to_string(server_->port()));
  EXPECT_THAT(r.signature, IsOk());
}

TEST_F(ConnectHostTest, WithoutItTheNameIsResolvedAndFails) {
  // kms.veil.test does not resolve (.test is reserved, RFC 2606).
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(NamedUrl(), &sleeper);
  o.ca_file = ca_.ca;
  o.retry.max_attempts = 1;
  auto client = NewClient(std::move(o));
  EXPECT_THAT(client->CancelKeyDeletion({"k"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(ConnectHostTest, ACertificateFromAnotherCaIsRefusedWithoutRetry) {
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(NamedUrl(), &sleeper);
  o.connect_host = "127.0.0.1";
  o.ca_file = other_.ca;  // pins a CA that did not issue the server's certificate
  auto client = NewClient(std::move(o));
  absl::Status s = client->CancelKeyDeletion({"k"}).status();
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(s.message()), HasSubstr("connecting to 127.0.0.1"));
  EXPECT_TRUE(sleeper.delays.empty());
  EXPECT_TRUE(server_->received().empty());
}

TEST_F(ConnectHostTest, TheCertificateMustNameTheEndpointsHost) {
  // Same address, same trusted CA, but the endpoint names a host the
  // certificate does not cover: refused, not retried.
  FakeSleeper sleeper;
  HttpKmsClientOptions o = Options(NamedUrl("other.veil.test"), &sleeper);
  o.connect_host = "127.0.0.1";
  o.ca_file = ca_.ca;
  auto client = NewClient(std::move(o));
  EXPECT_THAT(client->CancelKeyDeletion({"k"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(sleeper.delays.empty());
  EXPECT_TRUE(server_->received().empty());
}

TEST(HttpKmsClientTest, ConnectHostOverPlainHttp) {
  TestKmsServer server([](const Received&) { return Answer{200, R"({"KeyId":"k"})"}; });
  FakeSleeper sleeper;
  HttpKmsClientOptions o =
      Options("http://kms.veil.test:" + std::to_string(server.port()), &sleeper);
  o.connect_host = "127.0.0.1";
  auto client = NewClient(std::move(o));
  VEIL_EXPECT_OK(client->CancelKeyDeletion({"k"}));
  ASSERT_EQ(server.received().size(), 1u);
  EXPECT_EQ(server.received()[0].host, "kms.veil.test:" + std::to_string(server.port()));
}

TEST(HttpKmsClientTest, ConnectHostMustBeNumeric) {
  FakeSleeper sleeper;
  for (const char* bad : {"localhost", "kms.example.com", "127.0.0.1:443", "[::1]", " 1.2.3.4"}) {
    SCOPED_TRACE(bad);
    HttpKmsClientOptions o = Options("https://kms.veil.test", &sleeper);
    o.connect_host = bad;
    EXPECT_THAT(HttpKmsClient::Create(std::move(o)),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  for (const char* good : {"127.0.0.1", "::1"}) {
    HttpKmsClientOptions o = Options("https://kms.veil.test", &sleeper);
    o.connect_host = good;
    VEIL_EXPECT_OK(HttpKmsClient::Create(std::move(o)));
  }
}

// --- Construction -------------------------------------------------------------------

TEST(HttpKmsClientTest, CreateValidatesOptions) {
  FakeSleeper sleeper;
  for (const char* bad : {"", "kms.example.com", "ftp://kms", "https://", "https://h?x=1",
                          "https://h/p?x"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(HttpKmsClient::Create(Options(bad, &sleeper)),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  HttpKmsClientOptions no_region = Options("https://kms.eu-west-1.amazonaws.com", &sleeper);
  no_region.region = "";
  EXPECT_THAT(HttpKmsClient::Create(std::move(no_region)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HttpKmsClientOptions no_secret = Options("https://kms.eu-west-1.amazonaws.com", &sleeper);
  no_secret.credentials.secret_access_key = SecretBytes();
  EXPECT_THAT(HttpKmsClient::Create(std::move(no_secret)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HttpKmsClientOptions retries = Options("https://kms.eu-west-1.amazonaws.com", &sleeper);
  retries.retry.max_attempts = 0;
  EXPECT_THAT(HttpKmsClient::Create(std::move(retries)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_EXPECT_OK(HttpKmsClient::Create(Options("https://kms.eu-west-1.amazonaws.com:443/", &sleeper)));
}

TEST(HttpKmsClientTest, FromEnvironment) {
  TestKmsServer server([](const Received&) { return Answer{200, ""}; });
  std::map<std::string, std::string> vars = {{"AWS_ACCESS_KEY_ID", kAccessKeyId},
                                             {"AWS_SECRET_ACCESS_KEY", kSecret},
                                             {"AWS_REGION", kRegion},
                                             {"AWS_ENDPOINT_URL_KMS", server.url()}};
  AwsEnvironment env;
  env.getenv = [&](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  env.read_file = [](const std::string& p) -> absl::StatusOr<std::string> {
    return absl::NotFoundError(p);
  };
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, NewKmsClientFromEnvironment({}, env));
  VEIL_EXPECT_OK(client->EnableKey({"k"}));
  ASSERT_EQ(server.received().size(), 1u);
  EXPECT_THAT(server.received()[0].signature, IsOk());
}

}  // namespace
}  // namespace veil::kms

namespace veil::kms {
namespace {

TEST(KmsEndpointPortTest, ExplicitOrSchemeDefault) {
  EXPECT_EQ(*KmsEndpointPort("https://kms.us-east-1.amazonaws.com"), 443);
  EXPECT_EQ(*KmsEndpointPort("http://localhost/"), 80);
  EXPECT_EQ(*KmsEndpointPort("https://kms.veil.test:8443/"), 8443);
  EXPECT_EQ(*KmsEndpointPort("https://[::1]:9000"), 9000);
  EXPECT_EQ(*KmsEndpointPort("https://[::1]"), 443);
  EXPECT_FALSE(KmsEndpointPort("https://kms:0").ok());
  EXPECT_FALSE(KmsEndpointPort("https://kms:70000").ok());
  EXPECT_FALSE(KmsEndpointPort("https://kms:x").ok());
  EXPECT_FALSE(KmsEndpointPort("kms.example").ok());
}

}  // namespace
}  // namespace veil::kms
