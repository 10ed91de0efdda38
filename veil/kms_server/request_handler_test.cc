#include "veil/kms_server/request_handler.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/common/byte_reader.h"
#include "veil/kms/sigv4.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::kms_server {
namespace {

using Json = nlohmann::json;

class RequestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veil-kms-rh-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    VEIL_ASSERT_OK_AND_ASSIGN(store_, Store::Open(dir_ + "/kms.db"));
    VEIL_ASSERT_OK_AND_ASSIGN(root_, RootKey::FromBytes(SecretBytes(32)));
    VEIL_ASSERT_OK_AND_ASSIGN(
        NewCredentials creds,
        AddPrincipal(*store_, *root_, "arn:aws:iam::111122223333:user/alice"));
    creds_.access_key_id = creds.access_key_id;
    creds_.secret_access_key = std::move(creds.secret_access_key);
    KeyServiceOptions so;
    so.now = [this] { return now_; };
    VEIL_ASSERT_OK_AND_ASSIGN(service_, KeyService::Create(store_.get(), root_.get(), so));
    principals_ = std::make_unique<PrincipalDirectory>(store_.get(), root_.get());
    VEIL_ASSERT_OK_AND_ASSIGN(audit_, AuditLog::Open(dir_ + "/audit.jsonl"));
    RequestHandlerOptions ho;
    ho.now = [this] { return now_; };
    VEIL_ASSERT_OK_AND_ASSIGN(handler_, RequestHandler::Create(service_.get(), principals_.get(),
                                                               audit_.get(), ho));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  kms::HttpRequestParts Unsigned(const std::string& op, const Json& body) {
    kms::HttpRequestParts r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"Host", "127.0.0.1:4566"},
                 {"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "TrentService." + op}};
    r.body = body.dump();
    return r;
  }
  kms::HttpRequestParts Signed(const std::string& op, const Json& body,
                               const std::string& region = "us-east-1") {
    kms::HttpRequestParts r = Unsigned(op, body);
    kms::SigningConfig config;
    config.region = region;
    config.service = "kms";
    config.time = now_;
    kms::SigV4Signer signer;
    auto signed_ok = signer.Sign(creds_, config, r);
    EXPECT_TRUE(signed_ok.ok()) << signed_ok.status();
    return r;
  }
  HttpResponse Send(const kms::HttpRequestParts& parts) {
    HttpRequest r;
    r.method = parts.method;
    r.path = parts.path;
    r.query = parts.query;
    r.headers = parts.headers;
    r.body = parts.body;
    return handler_->Handle(r);
  }
  static std::string Type(const HttpResponse& r) {
    Json j = Json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("__type") ? j["__type"].get<std::string>() : "";
  }

  std::string dir_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  kms::AwsCredentials creds_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<RootKey> root_;
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<PrincipalDirectory> principals_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<RequestHandler> handler_;
};

TEST_F(RequestHandlerTest, SignedRequestSucceeds) {
  HttpResponse r = Send(Signed("CreateKey", Json::object()));
  EXPECT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["KeyMetadata"]["AWSAccountId"], "111122223333");
}

TEST_F(RequestHandlerTest, EveryRequestIsAuthenticated) {
  EXPECT_EQ(Type(Send(Unsigned("CreateKey", Json::object()))),
            "MissingAuthenticationTokenException");
  // Tampered body, header and target after signing.
  auto body = Signed("CreateKey", Json::object());
  body.body = R"({"Description":"x"})";
  EXPECT_EQ(Type(Send(body)), "InvalidSignatureException");
  auto target = Signed("ListKeys", Json::object());
  for (auto& [k, v] : target.headers) {
    if (k == "X-Amz-Target") v = "TrentService.CreateKey";
  }
  EXPECT_EQ(Type(Send(target)), "InvalidSignatureException");
  auto query = Signed("ListKeys", Json::object());
  query.query = "a=b";
  EXPECT_EQ(Type(Send(query)), "InvalidSignatureException");
  // Wrong secret, unknown key id, stale date, wrong region.
  kms::AwsCredentials saved = creds_.Clone();
  creds_.secret_access_key = SecretBytes::Copy(AsBytes("wrong-secret-wrong-secret-wrong-secret00"));
  EXPECT_EQ(Type(Send(Signed("ListKeys", Json::object()))), "InvalidSignatureException");
  creds_.access_key_id = "AKIAUNKNOWNUNKNOWN00";
  EXPECT_EQ(Type(Send(Signed("ListKeys", Json::object()))), "UnrecognizedClientException");
  creds_ = saved.Clone();
  auto stale = Signed("ListKeys", Json::object());
  now_ += absl::Minutes(6);
  EXPECT_EQ(Type(Send(stale)), "InvalidSignatureException");
  EXPECT_EQ(Type(Send(Signed("ListKeys", Json::object(), "eu-west-1"))),
            "InvalidSignatureException");
  EXPECT_EQ(Send(Signed("ListKeys", Json::object())).status, 200);
}

TEST_F(RequestHandlerTest, RoutingAndBodyErrors) {
  EXPECT_EQ(Type(Send(Signed("NoSuchThing", Json::object()))), "UnknownOperationException");
  auto bad_json = Unsigned("ListKeys", Json::object());
  bad_json.body = "{not json";
  kms::SigningConfig config{"us-east-1", "kms", now_};
  ASSERT_TRUE(kms::SigV4Signer().Sign(creds_, config, bad_json).ok());
  EXPECT_EQ(Type(Send(bad_json)), "SerializationException");
  HttpRequest get;
  get.method = "GET";
  get.path = "/keys";
  EXPECT_EQ(handler_->Handle(get).status, 404);
  HttpRequest health;
  health.method = "GET";
  health.path = "/healthz";
  EXPECT_EQ(handler_->Handle(health).status, 200);
  HttpRequest big;
  big.method = "POST";
  big.path = "/";
  big.body.assign(kMaxRequestBody + 1, 'x');
  HttpResponse r = handler_->Handle(big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(Type(r), "RequestEntityTooLargeException");
}

TEST_F(RequestHandlerTest, CorsPreflightAndHeaders) {
  HttpRequest pre;
  pre.method = "OPTIONS";
  pre.path = "/";
  pre.headers = {{"Origin", "http://localhost:8080"},
                 {"Access-Control-Request-Method", "POST"},
                 {"Access-Control-Request-Headers", "authorization,x-amz-target"}};
  HttpResponse r = handler_->Handle(pre);
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.headers, ::testing::Contains(::testing::Pair("Access-Control-Allow-Origin", "*")));
  EXPECT_THAT(r.headers, ::testing::Contains(::testing::Pair("Access-Control-Allow-Headers",
                                                             "authorization,x-amz-target")));
  auto req = Signed("ListKeys", Json::object());
  req.headers.emplace_back("Origin", "http://localhost:8080");
  HttpResponse ok = Send(req);
  EXPECT_EQ(ok.status, 200);
  EXPECT_THAT(ok.headers, ::testing::Contains(::testing::Pair("Access-Control-Allow-Origin", "*")));
}

TEST_F(RequestHandlerTest, AuditRecordsMetadataOnly) {
  Json key = Json::parse(Send(Signed("CreateKey", Json::object())).body);
  const std::string id = key["KeyMetadata"]["KeyId"];
  Send(Signed("Encrypt", {{"KeyId", id}, {"Plaintext", "c2VjcmV0LXBsYWludGV4dA=="}}));
  Send(Signed("Decrypt", {{"CiphertextBlob", "AAAA"}}));
  auto log = ::veil::testing::ReadFileString(dir_ + "/audit.jsonl");
  ASSERT_TRUE(log.ok());
  EXPECT_THAT(*log, ::testing::HasSubstr(R"("operation":"Encrypt")"));
  EXPECT_THAT(*log, ::testing::HasSubstr(R"("outcome":"InvalidCiphertextException")"));
  EXPECT_THAT(*log, ::testing::HasSubstr(R"("principal":"arn:aws:iam::111122223333:user/alice")"));
  EXPECT_THAT(*log, ::testing::Not(::testing::HasSubstr("c2VjcmV0LXBsYWludGV4dA")));
  EXPECT_THAT(*log, ::testing::Not(::testing::HasSubstr("secret-plaintext")));
  int lines = 0;
  for (char c : *log) lines += c == '\n';
  EXPECT_EQ(lines, 3);
}

}  // namespace
}  // namespace veil::kms_server
