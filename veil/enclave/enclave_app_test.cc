// EnclaveApp wired from a configuration (local key tier, mock NSM, the real
// shared model) and driven over its channel: attestation binds the
// enclave's key and the caller's nonce, health says what the enclave is,
// and an encrypted photo comes back as encrypted detections.
#include "veil/enclave/enclave_app.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/verifier.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"
#include "veil/wire/channel_client.h"

namespace veil::enclave {
namespace {

namespace fs = std::filesystem;

class EnclaveAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("veil-enclave-app-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    key_.assign(32, 0x42);
    std::ofstream(dir_ / "acme.key", std::ios::binary)
        .write(reinterpret_cast<const char*>(key_.data()), 32);
  }
  void TearDown() override { fs::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<EnclaveApp>> Start(const std::string& shared) {
    const nlohmann::json config = {
        {"format", "veil-enclave-config/1"},
        {"channel", "unix:" + (dir_ / "channel.sock").string()},
        {"nsm", "mock"},
        {"model", shared + "/models/v5lite-e-320-decoded.onnx"},
        {"keys", {{"tier", "local"}}},
        {"tenants", {{"acme", {{"local_key_file", (dir_ / "acme.key").string()}}}}}};
    VEIL_ASSIGN_OR_RETURN(EnclaveConfig parsed, ParseEnclaveConfig(config.dump()));
    return EnclaveApp::Create(std::move(parsed));
  }

  fs::path dir_;
  std::vector<uint8_t> key_;
};

TEST_F(EnclaveAppTest, AttestHealthAndInferOverTheChannel) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EnclaveApp> app, Start(shared));
  VEIL_ASSERT_OK_AND_ASSIGN(auto client,
                            wire::ChannelClient::Create("unix:" + (dir_ / "channel.sock").string()));

  // Attestation: a mock document (local tier only) binding our nonce and
  // the enclave's public key.
  const std::vector<uint8_t> nonce = {1, 2, 3, 4, 5, 6, 7, 8};
  VEIL_ASSERT_OK_AND_ASSIGN(wire::Response r,
                            client->Call(wire::Request{0, wire::AttestRequest{nonce, {}}}));
  const auto& document = std::get<wire::AttestResponse>(r.message).document;
  attestation::VerifierConfig verifier_config;
  verifier_config.tier = attestation::Tier::kLocal;
  VEIL_ASSERT_OK_AND_ASSIGN(auto verifier, attestation::AttestationVerifier::Create(verifier_config));
  attestation::VerifyPolicy policy;
  policy.expected_nonce = nonce;
  policy.require_public_key = true;
  policy.allow_debug = true;  // the mock NSM measures nothing: PCR0 is zero
  VEIL_ASSERT_OK_AND_ASSIGN(attestation::VerifiedDocument verified,
                            verifier->Verify(document, policy));
  EXPECT_TRUE(verified.mock);
  EXPECT_EQ(*verified.public_key, app->public_key_der());

  // Health: metadata, loud about the tier.
  VEIL_ASSERT_OK_AND_ASSIGN(r, client->Call(wire::Request{0, wire::HealthRequest{}}));
  const auto& health = std::get<wire::HealthResponse>(r.message);
  EXPECT_EQ(health.tier, "keys=local nsm=mock profile=development");
  EXPECT_EQ(health.model_sha256,
            "0c38c8da926f98bb9b37bb01bc2f379f98128c0f83a032677b34cbef1aefd325");

  // Credentials are refused by a tier that uses no KMS.
  wire::CredentialsRequest credentials;
  credentials.access_key_id = "AKIDEXAMPLE";
  credentials.secret_access_key = SecretBytes::Copy(std::vector<uint8_t>(8, 'x'));
  credentials.expiration = absl::Now() + absl::Hours(1);
  VEIL_ASSERT_OK_AND_ASSIGN(r, client->Call(wire::Request{0, std::move(credentials)}));
  EXPECT_TRUE(std::holds_alternative<wire::ErrorResponse>(r.message));

  // Inference on the real photo.
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> photo,
                            testing::ReadFile(shared + "/testdata/images/dog.jpg"));
  auto keyring = std::shared_ptr<const esdk::Keyring>(
      *esdk::RawAesKeyring::Create("veil", "acme", SecretBytes::Copy(key_)));
  esdk::EncryptOptions encrypt;
  encrypt.encryption_context = {
      {"tenant", "acme"},
      {"purpose", "ml-inference"},
      {"request", "req-42"},
      {"expires", absl::FormatTime(absl::RFC3339_full, absl::Now() + absl::Minutes(5),
                                   absl::UTCTimeZone())}};
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> body, esdk::Encrypt(keyring, photo, encrypt));
  VEIL_ASSERT_OK_AND_ASSIGN(
      r, client->Call(wire::Request{0, wire::InferRequest{"acme", "req-42", body}}));
  ASSERT_TRUE(std::holds_alternative<wire::InferResponse>(r.message));
  esdk::DecryptOptions decrypt;
  decrypt.reproduced_encryption_context = {
      {"tenant", "acme"}, {"purpose", "ml-inference-result"}, {"request", "req-42"}};
  VEIL_ASSERT_OK_AND_ASSIGN(
      esdk::DecryptResult result,
      esdk::Decrypt(keyring, std::get<wire::InferResponse>(r.message).body, decrypt));
  const auto text = result.plaintext.Expose();
  const nlohmann::json detections = nlohmann::json::parse(text.begin(), text.end());
  EXPECT_EQ(detections["detections"][0]["label"], "dog") << detections.dump();

  // The same request again is a replay.
  VEIL_ASSERT_OK_AND_ASSIGN(
      r, client->Call(wire::Request{0, wire::InferRequest{"acme", "req-42", body}}));
  EXPECT_EQ(std::get<wire::ErrorResponse>(r.message).code, wire::ErrorCode::kReplayed);
  app->Stop();
}

}  // namespace
}  // namespace veil::enclave
