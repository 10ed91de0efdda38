// ESDK interop through KMS: messages made by the official AWS Encryption SDK
// for JavaScript with its KMS keyring decrypt in Veil (KmsKeyring and the
// enclave's KmsRecipientKeyring), and Veil's decrypt in the JavaScript SDK.
// Both sides talk to the same key service, FakeKmsServer, over HTTP and
// SigV4, so the aws-kms EDKs they write and read are the real thing.
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/esdk/esdk.h"
#include "veil/kms/client.h"
#include "veil/kms/kms_keyring.h"
#include "veil/kms/testing/fake_kms_client.h"
#include "veil/kms/testing/fake_kms_server.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::kms {
namespace {

namespace fs = std::filesystem;
using ::veil::kms::testing::FakeKmsClient;
using ::veil::kms::testing::FakeKmsServer;

constexpr char kRegion[] = "us-west-2";
constexpr char kAccessKeyId[] = "AKIDINTEROP";
constexpr char kSecret[] = "interop-secret";

std::vector<uint8_t> ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
void WriteBytes(const fs::path& p, absl::Span<const uint8_t> b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

class KmsInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    interop_dir_ = ::veil::testing::SourceDir() + "/interop";
    if (!fs::exists(interop_dir_ + "/node_modules/@aws-crypto/client-node") ||
        !fs::exists(interop_dir_ + "/node_modules/@aws-sdk/client-kms")) {
      GTEST_SKIP() << "interop/node_modules is missing; run scripts/bootstrap";
    }
    if (std::system("node --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "node not found";
    dir_ = fs::temp_directory_path() / ("veil-kms-interop-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    fake_ = std::make_shared<FakeKmsClient>(kRegion, "111122223333");
    arn_ = fake_->AddKey();
    fake_->AddAlias("alias/acme", arn_);
    auto server = FakeKmsServer::Start(fake_, {{kAccessKeyId, kSecret}}, kRegion);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    HttpKmsClientOptions o;
    o.endpoint = server_->url();
    o.region = kRegion;
    o.credentials = AwsCredentials{
        kAccessKeyId,
        SecretBytes::Copy(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(kSecret),
                                              sizeof(kSecret) - 1)),
        ""};
    auto client = HttpKmsClient::Create(std::move(o));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::shared_ptr<KmsClient>(std::move(client).value());
    plaintext_.resize(70000);
    for (size_t i = 0; i < plaintext_.size(); ++i) plaintext_[i] = static_cast<uint8_t>(i * 131);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Node runs the official SDK; its environment carries the endpoint and
  // credentials.
  int Node(const std::string& mode, const std::string& key, const std::string& in,
           const std::string& out) {
    const std::string cmd = "VEIL_INTEROP_DIR='" + interop_dir_ + "' VEIL_KMS_ENDPOINT='" +
                            server_->url() + "' AWS_ACCESS_KEY_ID=" + kAccessKeyId +
                            " AWS_SECRET_ACCESS_KEY=" + kSecret + " AWS_REGION=" + kRegion + " node '" +
                            ::veil::testing::SourceDir() + "/veil/kms/testing/esdk_kms_peer.mjs' " +
                            mode + " '" + key + "' '" + (dir_ / in).string() + "' '" +
                            (dir_ / out).string() + "'";
    return std::system(cmd.c_str());
  }

  std::string interop_dir_;
  fs::path dir_;
  std::shared_ptr<FakeKmsClient> fake_;
  std::unique_ptr<FakeKmsServer> server_;
  std::shared_ptr<KmsClient> client_;
  std::string arn_;
  std::vector<uint8_t> plaintext_;
};

TEST_F(KmsInteropTest, JavaScriptEncryptsVeilDecrypts) {
  WriteBytes(dir_ / "plain.bin", plaintext_);
  ASSERT_EQ(Node("encrypt", "alias/acme", "plain.bin", "js.msg"), 0);
  const std::vector<uint8_t> message = ReadBytes(dir_ / "js.msg");

  VEIL_ASSERT_OK_AND_ASSIGN(auto keyring, KmsKeyring::Create(client_, arn_));
  esdk::DecryptOptions options;
  options.reproduced_encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(esdk::DecryptResult r,
                            esdk::Decrypt(std::shared_ptr<const esdk::Keyring>(std::move(keyring)),
                                          message, options));
  EXPECT_TRUE(std::equal(r.plaintext.Expose().begin(), r.plaintext.Expose().end(),
                         plaintext_.begin(), plaintext_.end()));

  // The enclave's keyring reads the same EDK through Decrypt + Recipient.
  VEIL_ASSERT_OK_AND_ASSIGN(
      auto enclave,
      KmsRecipientKeyring::Create(client_, arn_,
                                  [](absl::Span<const uint8_t> spki)
                                      -> absl::StatusOr<std::vector<uint8_t>> {
                                    return std::vector<uint8_t>(spki.begin(), spki.end());
                                  }));
  VEIL_ASSERT_OK_AND_ASSIGN(
      esdk::DecryptResult in_enclave,
      esdk::Decrypt(std::shared_ptr<const esdk::Keyring>(std::move(enclave)), message, options));
  EXPECT_EQ(in_enclave.plaintext.size(), plaintext_.size());
  EXPECT_TRUE(fake_->Calls().back().recipient.has_value());
}

TEST_F(KmsInteropTest, VeilEncryptsJavaScriptDecrypts) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto keyring, KmsKeyring::Create(client_, "alias/acme"));
  esdk::EncryptOptions options;
  options.encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> message,
      esdk::Encrypt(std::shared_ptr<const esdk::Keyring>(std::move(keyring)), plaintext_,
                    options));
  WriteBytes(dir_ / "veil.msg", message);
  ASSERT_EQ(Node("decrypt", arn_, "veil.msg", "out.bin"), 0);
  EXPECT_EQ(ReadBytes(dir_ / "out.bin"), plaintext_);

  // And what the enclave's keyring generated, too.
  VEIL_ASSERT_OK_AND_ASSIGN(
      auto enclave,
      KmsRecipientKeyring::Create(client_, arn_,
                                  [](absl::Span<const uint8_t> spki)
                                      -> absl::StatusOr<std::vector<uint8_t>> {
                                    return std::vector<uint8_t>(spki.begin(), spki.end());
                                  }));
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> reply,
      esdk::Encrypt(std::shared_ptr<const esdk::Keyring>(std::move(enclave)), plaintext_,
                    options));
  WriteBytes(dir_ / "enclave.msg", reply);
  ASSERT_EQ(Node("decrypt", arn_, "enclave.msg", "reply.bin"), 0);
  EXPECT_EQ(ReadBytes(dir_ / "reply.bin"), plaintext_);
}

}  // namespace
}  // namespace veil::kms
