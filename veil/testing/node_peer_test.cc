#include "veil/testing/node_peer.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::testing {
namespace {

using ::testing::HasSubstr;

std::string PeerScript() { return SourceDir() + "/interop/esdk_peer.mjs"; }

// A fixed, non-secret test key: 32 bytes 0x00..0x1f.
std::string TestAesKeyBase64() {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return Base64Encode(key);
}

nlohmann::json AesKeyring() {
  return {{"type", "raw-aes"},
          {"providerId", "veil-test"},
          {"keyName", "aes-256-key"},
          {"key", TestAesKeyBase64()}};
}

// Writes `body` as a script in a fresh directory, with or without an empty
// node_modules/ beside it, and returns the script's path.
std::string WriteScript(const std::string& name, const std::string& body, bool with_modules) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (with_modules) std::filesystem::create_directories(dir / "node_modules");
  const std::filesystem::path script = dir / "peer.mjs";
  std::ofstream(script) << body;
  return script.string();
}

class NodePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto peer = NodePeer::Start(PeerScript(), {});
    if (peer.status().code() == absl::StatusCode::kFailedPrecondition) {
      GTEST_SKIP() << "JS ESDK peer unavailable: " << peer.status().message();
    }
    VEIL_ASSERT_OK_AND_ASSIGN(peer_, std::move(peer));
  }

  std::unique_ptr<NodePeer> peer_;
};

TEST_F(NodePeerTest, Ping) {
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json response, peer_->Call({{"op", "ping"}, {"id", 7}}));
  EXPECT_EQ(response["id"], 7);
  EXPECT_EQ(response["ok"], true);
  ASSERT_TRUE(response["version"].is_string()) << response;
  EXPECT_FALSE(response["version"].get<std::string>().empty());
}

TEST_F(NodePeerTest, AddsIdWhenMissing) {
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json first, peer_->Call({{"op", "ping"}}));
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json second, peer_->Call({{"op", "ping"}}));
  EXPECT_TRUE(first["id"].is_number_integer());
  EXPECT_NE(first["id"], second["id"]);
}

TEST_F(NodePeerTest, AesRoundTrip) {
  const nlohmann::json context = {{"purpose", "node-peer-test"}, {"tenant", "t-1"}};
  for (size_t size : {size_t{0}, size_t{1}, size_t{4096}, size_t{10000}}) {
    for (const char* suite : {"0x0478", "0x0578"}) {
      SCOPED_TRACE(::testing::Message() << "size " << size << " suite " << suite);
      std::vector<uint8_t> plaintext(size);
      for (size_t i = 0; i < size; ++i) plaintext[i] = static_cast<uint8_t>(i * 31 + 7);

      VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json encrypted,
                                peer_->Call({{"op", "encrypt"},
                                             {"plaintext", Base64Encode(plaintext)},
                                             {"encryptionContext", context},
                                             {"suiteId", suite},
                                             {"frameLength", 4096},
                                             {"keyrings", {AesKeyring()}}}));
      ASSERT_EQ(encrypted["ok"], true) << encrypted;
      ASSERT_TRUE(encrypted["ciphertext"].is_string());

      VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json decrypted,
                                peer_->Call({{"op", "decrypt"},
                                             {"ciphertext", encrypted["ciphertext"]},
                                             {"keyrings", {AesKeyring()}}}));
      ASSERT_EQ(decrypted["ok"], true) << decrypted;
      VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> recovered,
                                Base64Decode(decrypted["plaintext"].get<std::string>()));
      EXPECT_EQ(recovered, plaintext);
      EXPECT_EQ(decrypted["suiteId"], suite);
      EXPECT_EQ(decrypted["frameLength"], 4096);
      for (const auto& [key, value] : context.items()) {
        EXPECT_EQ(decrypted["encryptionContext"][key], value) << key;
      }
    }
  }
}

// Requests and responses far larger than a pipe buffer.
TEST_F(NodePeerTest, LargeMessageRoundTrip) {
  std::vector<uint8_t> plaintext(1 << 20);
  for (size_t i = 0; i < plaintext.size(); ++i) plaintext[i] = static_cast<uint8_t>(i ^ (i >> 8));
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json encrypted,
                            peer_->Call({{"op", "encrypt"},
                                         {"plaintext", Base64Encode(plaintext)},
                                         {"suiteId", "0x0478"},
                                         {"frameLength", 65536},
                                         {"keyrings", {AesKeyring()}}}));
  ASSERT_EQ(encrypted["ok"], true) << encrypted;
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json decrypted,
                            peer_->Call({{"op", "decrypt"},
                                         {"ciphertext", encrypted["ciphertext"]},
                                         {"keyrings", {AesKeyring()}}}));
  ASSERT_EQ(decrypted["ok"], true) << decrypted;
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> recovered,
                            Base64Decode(decrypted["plaintext"].get<std::string>()));
  EXPECT_EQ(recovered, plaintext);
}

TEST_F(NodePeerTest, BadRequestsGetErrorsAndThePeerKeepsWorking) {
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json unknown_op, peer_->Call({{"op", "frobnicate"}}));
  EXPECT_EQ(unknown_op["ok"], false);
  EXPECT_TRUE(unknown_op["error"].is_string());

  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json garbage,
                            peer_->Call({{"op", "decrypt"},
                                         {"ciphertext", "AAAA"},
                                         {"keyrings", {AesKeyring()}}}));
  EXPECT_EQ(garbage["ok"], false);

  nlohmann::json wrong_key = AesKeyring();
  wrong_key["key"] = "AAAA";
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json bad_key,
                            peer_->Call({{"op", "encrypt"},
                                         {"plaintext", ""},
                                         {"suiteId", "0x0478"},
                                         {"keyrings", {wrong_key}}}));
  EXPECT_EQ(bad_key["ok"], false);
  EXPECT_THAT(bad_key["error"].get<std::string>(), HasSubstr("16, 24 or 32"));

  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json ping, peer_->Call({{"op", "ping"}}));
  EXPECT_EQ(ping["ok"], true);
}

TEST_F(NodePeerTest, RejectsRequestThatIsNotAnObject) {
  EXPECT_THAT(peer_->Call(nlohmann::json::array()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(peer_->Call({{"op", "ping"}, {"bad", std::string("\xff")}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_EXPECT_OK(peer_->Call({{"op", "ping"}}));
}

// Node prints a "SECURITY WARNING" line on stdout under --security-revert;
// the peer must skip it.
TEST_F(NodePeerTest, SkipsNodeWarningOnStdout) {
  VEIL_ASSERT_OK_AND_ASSIGN(auto peer,
                            NodePeer::Start(PeerScript(), {"--security-revert=CVE-2023-46809"}));
  VEIL_ASSERT_OK_AND_ASSIGN(nlohmann::json response, peer->Call({{"op", "ping"}}));
  EXPECT_EQ(response["ok"], true);
}

TEST(NodePeerStartTest, MissingScriptIsNotFound) {
  EXPECT_THAT(NodePeer::Start(SourceDir() + "/interop/no-such-script.mjs", {}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(NodePeerStartTest, MissingNodeModulesSaysToBootstrap) {
  const std::string script = WriteScript("node_peer_no_modules", "", /*with_modules=*/false);
  auto peer = NodePeer::Start(script, {});
  ASSERT_THAT(peer, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(peer.status().message()), HasSubstr("scripts/bootstrap"));
}

TEST(NodePeerStartTest, PeerThatExitsIsReportedNotFatal) {
  const std::string script =
      WriteScript("node_peer_exits", "process.exit(3)\n", /*with_modules=*/true);
  auto peer = NodePeer::Start(script, {});
  if (peer.status().code() == absl::StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << peer.status().message();
  }
  VEIL_ASSERT_OK(peer);
  auto response = (*peer)->Call({{"op", "ping"}, {"padding", std::string(1 << 20, 'x')}});
  ASSERT_THAT(response, StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("node peer"));
  EXPECT_THAT((*peer)->Call({{"op", "ping"}}), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(NodePeerStartTest, SilentPeerTimesOut) {
  const std::string script =
      WriteScript("node_peer_silent", "process.stdin.resume()\n", /*with_modules=*/true);
  auto peer = NodePeer::Start(script, {});
  if (peer.status().code() == absl::StatusCode::kFailedPrecondition) {
    GTEST_SKIP() << peer.status().message();
  }
  VEIL_ASSERT_OK(peer);
  (*peer)->set_timeout(std::chrono::milliseconds(300));
  EXPECT_THAT((*peer)->Call({{"op", "ping"}}), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

}  // namespace
}  // namespace veil::testing
