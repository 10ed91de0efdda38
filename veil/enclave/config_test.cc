#include "veil/enclave/config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/enclave/refreshable_kms_client.h"
#include "veil/enclave/replay_cache.h"
#include "veil/testing/status_matchers.h"

namespace veil::enclave {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

nlohmann::json Local() {
  return {{"format", "veil-enclave-config/1"},
          {"channel", "unix:/run/veil/channel.sock"},
          {"nsm", "mock"},
          {"model", "/enclave/app/model.json"},
          {"keys", {{"tier", "local"}}},
          {"tenants", {{"acme", {{"local_key_file", "/enclave/app/acme.key"}}}}}};
}

nlohmann::json Recipient() {
  return {{"format", "veil-enclave-config/1"},
          {"profile", "production"},
          {"channel", "vsock:4294967295:5000"},
          {"nsm", "device:/dev/nsm"},
          {"model", "/enclave/app/model.json"},
          {"workers", 2},
          {"keys",
           {{"tier", "kms-recipient"},
            {"kms",
             {{"endpoint", "https://kms.us-east-1.amazonaws.com"},
              {"region", "us-east-1"},
              {"connect_host", "127.0.0.1"},
              {"proxy", "vsock:3:8000"}}}}},
          {"tenants", {{"acme", {{"kms_key", "arn:aws:kms:us-east-1:111122223333:key/k"}}}}}};
}

TEST(EnclaveConfigTest, ParsesEachTier) {
  VEIL_ASSERT_OK_AND_ASSIGN(EnclaveConfig c, ParseEnclaveConfig(Local().dump()));
  EXPECT_EQ(c.key_tier, KeyTier::kLocal);
  EXPECT_EQ(c.nsm, NsmSource::kMock);
  EXPECT_EQ(c.tenants.at("acme").key_name, "acme");
  EXPECT_EQ(TierDescription(c), "keys=local nsm=mock profile=development");

  VEIL_ASSERT_OK_AND_ASSIGN(c, ParseEnclaveConfig(Recipient().dump()));
  EXPECT_TRUE(c.production);
  EXPECT_EQ(c.key_tier, KeyTier::kKmsRecipient);
  EXPECT_EQ(c.nsm_path, "/dev/nsm");
  EXPECT_EQ(c.kms.proxy, "vsock:3:8000");
  EXPECT_EQ(c.workers, 2);
}

TEST(EnclaveConfigTest, ProductionRefusesSimulationAndShortcuts) {
  nlohmann::json x = Recipient();
  x["nsm"] = "simulator:/run/veil/nsm.sock";
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kFailedPrecondition));
  x = Recipient();
  x["nsm"] = "mock";
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kFailedPrecondition));
  x = Recipient();
  x["keys"]["tier"] = "kms";
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kFailedPrecondition));
  x = Local();
  x["profile"] = "production";
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kFailedPrecondition));
  x = Recipient();
  x["keys"]["kms"]["endpoint"] = "http://kms.local:8080";
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(EnclaveConfigTest, BadFieldsAreNamed) {
  const std::vector<std::pair<std::string, nlohmann::json>> edits = {
      {"/format", "veil-enclave-config/2"}, {"/nsm", "hardware"},
      {"/workers", 0},                      {"/queue", -1},
      {"/keys/tier", "hsm"},                {"/tenants", nlohmann::json::object()},
      {"/surprise", true},                  {"/profile", "staging"},
  };
  for (const auto& [pointer, value] : edits) {
    nlohmann::json x = Local();
    x[nlohmann::json::json_pointer(pointer)] = value;
    const auto parsed = ParseEnclaveConfig(x.dump());
    EXPECT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument)) << pointer;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(pointer.substr(1, 4)))
        << pointer;
  }
  nlohmann::json x = Local();
  x["tenants"]["bad tenant!"] = {{"local_key_file", "/k"}};
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kInvalidArgument));
  x = Local();
  x["tenants"]["acme"] = {{"kms_key", "arn:aws:kms:us-east-1:1:key/k"}};
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kInvalidArgument));
  x = Recipient();
  x["tenants"]["acme"] = {{"local_key_file", "/k"}};
  EXPECT_THAT(ParseEnclaveConfig(x.dump()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseEnclaveConfig("{"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ReplayCacheTest, ReserveCommitRelease) {
  absl::Time now = absl::FromUnixSeconds(1000);
  ReplayCache cache(2, [&now] { return now; });
  const absl::Time later = now + absl::Minutes(1);
  VEIL_ASSERT_OK(cache.Reserve("acme", "r1", later));
  EXPECT_THAT(cache.Reserve("acme", "r1", later), StatusIs(absl::StatusCode::kAlreadyExists));
  VEIL_ASSERT_OK(cache.Reserve("globex", "r1", later));  // per tenant
  cache.Release("acme", "r1");                           // never authenticated
  VEIL_ASSERT_OK(cache.Reserve("acme", "r1", later));
  cache.Commit("acme", "r1");
  cache.Release("acme", "r1");  // no effect once committed
  EXPECT_THAT(cache.Reserve("acme", "r1", later), StatusIs(absl::StatusCode::kAlreadyExists));
  VEIL_ASSERT_OK(cache.Reserve("acme", "r2", later));
  cache.Commit("acme", "r2");
  // Full for acme (capacity 2) until the entries expire.
  EXPECT_THAT(cache.Reserve("acme", "r3", later), StatusIs(absl::StatusCode::kResourceExhausted));
  now = later;
  VEIL_ASSERT_OK(cache.Reserve("acme", "r3", later + absl::Minutes(1)));
  EXPECT_EQ(cache.size("acme"), 1u);
}

TEST(RefreshableKmsClientTest, NoCallsWithoutFreshCredentials) {
  absl::Time now = absl::FromUnixSeconds(1000);
  kms::HttpKmsClientOptions base;
  base.endpoint = "https://kms.veil.test:8443";
  base.region = "us-east-1";
  RefreshableKmsClient client(std::move(base), [&now] { return now; });
  kms::DecryptRequest request;
  auto decrypted = client.Decrypt(request);
  EXPECT_THAT(decrypted, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(decrypted.status().message()), HasSubstr("no AWS credentials yet"));

  kms::AwsCredentials credentials{"AKIDEXAMPLE", SecretBytes::Copy(std::vector<uint8_t>(8, 's')),
                                  ""};
  EXPECT_THAT(client.Update(credentials.Clone(), now - absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_ASSERT_OK(client.Update(credentials.Clone(), now + absl::Minutes(5)));
  now += absl::Minutes(6);
  decrypted = client.Decrypt(request);
  EXPECT_THAT(decrypted, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(decrypted.status().message()), HasSubstr("expired"));
}

}  // namespace
}  // namespace veil::enclave
