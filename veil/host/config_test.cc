#include "veil/host/config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/testing/status_matchers.h"

namespace veil::host {
namespace {

using ::testing::HasSubstr;
using veil::testing::StatusIs;

constexpr char kMinimal[] =
    R"({"listen": "127.0.0.1:8080", "enclave": "unix:/run/veil/channel.sock",
        "tenants_file": "tenants.json"})";

TEST(HostConfigTest, MinimalConfigHasDefaults) {
  VEIL_ASSERT_OK_AND_ASSIGN(const HostConfig c, ParseHostConfig(kMinimal, "/etc/veil"));
  EXPECT_EQ(c.listen_address, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.enclave, "unix:/run/veil/channel.sock");
  EXPECT_EQ(c.tenants_file, "/etc/veil/tenants.json");  // relative to the config file
  EXPECT_EQ(c.static_dir, "");
  EXPECT_EQ(c.max_body_bytes, 16u * 1024 * 1024);
  EXPECT_EQ(c.tenant_concurrency, 4);
  EXPECT_EQ(c.request_timeout_seconds, 30);
  EXPECT_FALSE(c.kms_proxy.has_value());
  EXPECT_FALSE(c.credentials.has_value());
}

TEST(HostConfigTest, FullConfig) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      const HostConfig c,
      ParseHostConfig(R"({"listen": "[::1]:9090", "enclave": "vsock:16:5000",
        "tenants_file": "/abs/tenants.json", "static_dir": "web", "max_body_bytes": 1024,
        "tenant_concurrency": 2, "request_timeout_seconds": 5, "http_threads": 3,
        "http_queue": 0, "shutdown_grace_seconds": 1,
        "kms_proxy": {"listen": "unix:/run/veil/kms.sock", "to": "tcp:10.0.0.5:443"},
        "credentials": {"from_environment": true, "refresh_seconds": 60}})",
                      "/etc/veil"));
  EXPECT_EQ(c.listen_address, "::1");
  EXPECT_EQ(c.listen_port, 9090);
  EXPECT_EQ(c.tenants_file, "/abs/tenants.json");
  EXPECT_EQ(c.static_dir, "/etc/veil/web");
  EXPECT_EQ(c.max_body_bytes, 1024u);
  EXPECT_EQ(c.http_queue, 0);
  ASSERT_TRUE(c.kms_proxy.has_value());
  EXPECT_EQ(c.kms_proxy->to, "tcp:10.0.0.5:443");
  ASSERT_TRUE(c.credentials.has_value());
  EXPECT_EQ(c.credentials->refresh_seconds, 60);
}

TEST(HostConfigTest, ErrorsNameTheKey) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"listen": "127.0.0.1:8080", "enclave": "unix:/x", "tenants_file": "t",
           "bogus": 1})", "\"bogus\""},
      {R"({"enclave": "unix:/x", "tenants_file": "t"})", "\"listen\" is missing"},
      {R"({"listen": "localhost", "enclave": "unix:/x", "tenants_file": "t"})", "\"listen\""},
      {R"({"listen": "127.0.0.1:99999", "enclave": "unix:/x", "tenants_file": "t"})",
       "\"listen\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "http://x", "tenants_file": "t"})",
       "\"enclave\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "tcp:10.1.1.1:5", "tenants_file": "t"})",
       "\"enclave\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x"})", "\"tenants_file\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "max_body_bytes": 0})", "\"max_body_bytes\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "max_body_bytes": 1073741824})", "\"max_body_bytes\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "tenant_concurrency": "4"})", "\"tenant_concurrency\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "request_timeout_seconds": 0})", "\"request_timeout_seconds\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "kms_proxy": {"listen": "unix:/k"}})", "\"kms_proxy.to\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "kms_proxy": {"listen": "unix:/k", "to": "tcp:127.0.0.1:1", "via": "x"}})",
       "\"kms_proxy.via\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "credentials": {"from_environment": "yes"}})", "\"credentials.from_environment\""},
      {R"({"listen": "127.0.0.1:1", "enclave": "unix:/x", "tenants_file": "t",
           "credentials": {"from_environment": true, "refresh_seconds": 1}})",
       "\"credentials.refresh_seconds\""},
      {R"([1, 2])", "JSON object"},
      {R"({"listen": )", "not valid JSON"},
  };
  for (const auto& [text, want] : cases) {
    auto c = ParseHostConfig(text, "/etc");
    EXPECT_THAT(c, StatusIs(absl::StatusCode::kInvalidArgument)) << text;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(want)) << text;
  }
}

TEST(TenantsTest, ParsesTenants) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      const std::vector<TenantConfig> t,
      ParseTenants(R"({"tenants": [
        {"id": "acme", "api_key_sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
         "kms_key": "arn:aws:kms:us-east-1:111122223333:key/k"},
        {"id": "b.e_t-a", "api_key_sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
         "max_concurrency": 9}]})"));
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].id, "acme");
  EXPECT_EQ(t[0].api_key_sha256[0], 0xba);
  EXPECT_EQ(t[0].max_concurrency, 0);
  EXPECT_EQ(t[1].max_concurrency, 9);
  EXPECT_EQ(t[1].api_key_sha256[0], 0xe3);
}

TEST(TenantsTest, ErrorsNameTheKey) {
  const std::string h1(64, 'a');
  const std::string h2(64, 'b');
  const std::pair<std::string, std::string> cases[] = {
      {R"({"tenants": [{"id": "a", "api_key_sha256": ")" + h1 + R"(", "x": 1}]})",
       "\"tenants[0].x\""},
      {R"({"tenants": [{"id": "a b", "api_key_sha256": ")" + h1 + R"("}]})", "\"tenants[0].id\""},
      {R"({"tenants": [{"id": ")" + std::string(65, 'a') + R"(", "api_key_sha256": ")" + h1 +
           R"("}]})",
       "\"tenants[0].id\""},
      {R"({"tenants": [{"id": "a", "api_key_sha256": "abc"}]})", "\"tenants[0].api_key_sha256\""},
      {R"({"tenants": [{"id": "a", "api_key_sha256": ")" + h1 + R"("},
                       {"id": "a", "api_key_sha256": ")" + h2 + R"("}]})",
       "\"tenants[1].id\""},
      {R"({"tenants": [{"id": "a", "api_key_sha256": ")" + h1 + R"("},
                       {"id": "b", "api_key_sha256": ")" + h1 + R"("}]})",
       "\"tenants[1].api_key_sha256\""},
      {R"({"tenants": {}})", "\"tenants\""},
      {R"({"users": []})", "\"users\""},
  };
  for (const auto& [text, want] : cases) {
    auto t = ParseTenants(text);
    EXPECT_THAT(t, StatusIs(absl::StatusCode::kInvalidArgument)) << text;
    EXPECT_THAT(std::string(t.status().message()), HasSubstr(want)) << text;
  }
}

}  // namespace
}  // namespace veil::host
