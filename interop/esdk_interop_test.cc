// Interop with the official AWS Encryption SDK for JavaScript
// (@aws-crypto/client-node, pinned in interop/package-lock.json), in both
// directions, as RapidCheck properties over random plaintext sizes (0 to a
// few hundred KiB), encryption contexts, frame lengths, suites and keyrings:
//   what Veil writes, the official SDK decrypts;
//   what the official SDK writes, Veil decrypts.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/crypto/rsa.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/multi_keyring.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/esdk/raw_rsa_keyring.h"
#include "veil/testing/node_peer.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::esdk {
namespace {

using json = nlohmann::json;

testing::NodePeer* Peer() {
  static testing::NodePeer* peer = [] {
    auto p = testing::NodePeer::Start(testing::SourceDir() + "/interop/esdk_peer.mjs",
                                      {"--security-revert=CVE-2023-46809"});
    return p.ok() ? p->release() : nullptr;
  }();
  return peer;
}

#define REQUIRE_PEER()                                                                      \
  if (Peer() == nullptr) {                                                                  \
    GTEST_SKIP() << "the official JS ESDK is not installed (run scripts/bootstrap, which "  \
                    "runs npm ci in interop/)";                                             \
  }

// One wrapping-key configuration, usable from both sides.
struct KeySetup {
  std::shared_ptr<const Keyring> keyring;
  json js;  // the peer's "keyrings" array
};

const crypto::RsaPrivateKey& RsaKey() {
  static auto* key = crypto::RsaPrivateKey::Generate(2048).value().release();
  return *key;
}

KeySetup MakeKeys(int kind, const std::vector<uint8_t>& aes_key) {
  auto aes = std::shared_ptr<const Keyring>(
      RawAesKeyring::Create("veil-interop", "aes-key", SecretBytes::Copy(aes_key)).value());
  json aes_js = {{"type", "raw-aes"},
                 {"providerId", "veil-interop"},
                 {"keyName", "aes-key"},
                 {"key", Base64Encode(aes_key)}};
  if (kind == 0) return {aes, json::array({aes_js})};
  const std::string pub = RsaKey().PublicKeyPem().value();
  const SecretBytes priv = RsaKey().PrivateKeyPem().value();
  const std::string priv_pem(AsStringView(priv.Expose()));
  auto rsa = std::shared_ptr<const Keyring>(
      RawRsaKeyring::Create("veil-interop-rsa", "rsa-key", crypto::RsaPadding::kOaepSha256, pub,
                            priv_pem)
          .value());
  json rsa_js = {{"type", "raw-rsa"},       {"providerId", "veil-interop-rsa"},
                 {"keyName", "rsa-key"},     {"publicKeyPem", pub},
                 {"privateKeyPem", priv_pem}, {"padding", "oaep-sha256"}};
  if (kind == 1) return {rsa, json::array({rsa_js})};
  // kind 2: multi-keyring, AES generator + RSA child.
  auto multi = std::shared_ptr<const Keyring>(MultiKeyring::Create(aes, {rsa}).value());
  return {multi, json::array({aes_js, rsa_js})};
}

struct Case {
  std::vector<uint8_t> plaintext;
  EncryptionContext ec;
  uint32_t frame_length;
  uint16_t suite;
  int key_kind;
  std::vector<uint8_t> aes_key;
};

rc::Gen<Case> GenCase() {
  // Context keys stay in [a-z0-9-], where byte order and JS locale order
  // agree (brief section 14, gotcha 4); values are any printable ASCII.
  auto key_gen = rc::gen::nonEmpty(rc::gen::container<std::string>(
      rc::gen::oneOf(rc::gen::inRange('a', static_cast<char>('z' + 1)),
                     rc::gen::inRange('0', static_cast<char>('9' + 1)), rc::gen::just('-'))));
  auto value_gen = rc::gen::container<std::string>(rc::gen::inRange(' ', '~'));
  auto ec_gen = rc::gen::suchThat(
      rc::gen::resize(8, rc::gen::container<EncryptionContext>(key_gen, value_gen)),
      [](const EncryptionContext& ec) {
        for (const auto& [k, v] : ec) {
          if (k.rfind("aws-crypto-", 0) == 0) return false;
        }
        return true;
      });
  return rc::gen::exec([=] {
    Case c;
    const size_t size = *rc::gen::oneOf(rc::gen::inRange<size_t>(0, 64),
                                        rc::gen::inRange<size_t>(0, 8192),
                                        rc::gen::inRange<size_t>(0, 300 * 1024));
    c.plaintext = *rc::gen::container<std::vector<uint8_t>>(size, rc::gen::arbitrary<uint8_t>());
    c.ec = *ec_gen;
    // Keep the frame count moderate so one case stays quick on both sides.
    c.frame_length = *rc::gen::suchThat(
        rc::gen::oneOf(rc::gen::inRange<uint32_t>(1, 600), rc::gen::inRange<uint32_t>(1, 70000),
                       rc::gen::element<uint32_t>(4096, 65536)),
        [size](uint32_t f) { return size / f <= 2000; });
    c.suite = *rc::gen::element<uint16_t>(uint16_t{kSuite0478}, uint16_t{kSuite0578});
    c.key_kind = *rc::gen::inRange(0, 3);
    c.aes_key = *rc::gen::container<std::vector<uint8_t>>(32, rc::gen::arbitrary<uint8_t>());
    return c;
  });
}

json ToJson(const EncryptionContext& ec) {
  json j = json::object();
  for (const auto& [k, v] : ec) j[k] = v;
  return j;
}

RC_GTEST_PROP(EsdkInteropProperty, OfficialSdkDecryptsWhatVeilWrites, ()) {
  RC_PRE(Peer() != nullptr);
  const Case c = *GenCase();
  RC_TAG(c.plaintext.size() > 100 * 1024 ? "over 100 KiB" : "up to 100 KiB");
  RC_TAG(SuiteIdString(c.suite), c.key_kind == 0 ? "aes" : c.key_kind == 1 ? "rsa" : "multi");
  KeySetup keys = MakeKeys(c.key_kind, c.aes_key);
  EncryptOptions o;
  o.suite_id = c.suite;
  o.frame_length = c.frame_length;
  o.encryption_context = c.ec;
  auto ct = Encrypt(keys.keyring, c.plaintext, o);
  RC_ASSERT(ct.ok());
  auto reply = Peer()->Call({{"op", "decrypt"},
                             {"ciphertext", Base64Encode(*ct)},
                             {"keyrings", keys.js}});
  RC_ASSERT(reply.ok());
  RC_ASSERT((*reply)["ok"] == true);
  RC_ASSERT(*Base64Decode((*reply)["plaintext"].get<std::string>()) == c.plaintext);
  json expected_ec = ToJson(c.ec);
  json got_ec = (*reply)["encryptionContext"];
  got_ec.erase("aws-crypto-public-key");
  RC_ASSERT(got_ec == expected_ec);
}

RC_GTEST_PROP(EsdkInteropProperty, VeilDecryptsWhatTheOfficialSdkWrites, ()) {
  RC_PRE(Peer() != nullptr);
  const Case c = *GenCase();
  KeySetup keys = MakeKeys(c.key_kind, c.aes_key);
  auto reply = Peer()->Call({{"op", "encrypt"},
                             {"plaintext", Base64Encode(c.plaintext)},
                             {"encryptionContext", ToJson(c.ec)},
                             {"suiteId", SuiteIdString(c.suite)},
                             {"frameLength", c.frame_length},
                             {"keyrings", keys.js}});
  RC_ASSERT(reply.ok());
  RC_ASSERT((*reply)["ok"] == true);
  auto ct = Base64Decode((*reply)["ciphertext"].get<std::string>());
  RC_ASSERT(ct.ok());
  DecryptOptions d;
  d.reproduced_encryption_context = c.ec;
  auto result = Decrypt(keys.keyring, *ct, d);
  RC_ASSERT(result.ok());
  RC_ASSERT(std::vector<uint8_t>(result->plaintext.Expose().begin(),
                                 result->plaintext.Expose().end()) == c.plaintext);
  RC_ASSERT(result->info.suite_id == c.suite);
  RC_ASSERT(result->info.frame_length == c.frame_length);
}

TEST(EsdkInteropTest, PeerIsTheOfficialSdk) {
  REQUIRE_PEER();
  VEIL_ASSERT_OK_AND_ASSIGN(json pong, Peer()->Call({{"op", "ping"}}));
  EXPECT_EQ(pong["ok"], true);
  RecordProperty("client_node_version", pong["version"].get<std::string>());
}

// The official SDK must refuse what Veil refuses: a tampered Veil message.
TEST(EsdkInteropTest, OfficialSdkRejectsTamperedVeilMessage) {
  REQUIRE_PEER();
  std::vector<uint8_t> key(32, 9);
  KeySetup keys = MakeKeys(0, key);
  std::vector<uint8_t> pt(1000, 'x');
  VEIL_ASSERT_OK_AND_ASSIGN(auto ct, Encrypt(keys.keyring, pt, EncryptOptions{}));
  ct[ct.size() / 2] ^= 1;
  VEIL_ASSERT_OK_AND_ASSIGN(json reply, Peer()->Call({{"op", "decrypt"},
                                                      {"ciphertext", Base64Encode(ct)},
                                                      {"keyrings", keys.js}}));
  EXPECT_EQ(reply["ok"], false);
}

// For a plaintext that is an exact multiple of the frame length, the official
// JS SDK writes regular frames and then an empty final frame, while Veil
// writes a full-length final frame. Readers must accept both (brief 2.4).
TEST(EsdkInteropTest, VeilReadsTheEmptyFinalFrameForm) {
  REQUIRE_PEER();
  std::vector<uint8_t> key(32, 5);
  KeySetup keys = MakeKeys(0, key);
  std::vector<uint8_t> pt(12, 'z');
  VEIL_ASSERT_OK_AND_ASSIGN(json reply, Peer()->Call({{"op", "encrypt"},
                                                      {"plaintext", Base64Encode(pt)},
                                                      {"encryptionContext", json::object()},
                                                      {"suiteId", "0x0478"},
                                                      {"frameLength", 4},
                                                      {"keyrings", keys.js}}));
  ASSERT_EQ(reply["ok"], true);
  auto ct = Base64Decode(reply["ciphertext"].get<std::string>()).value();
  // The last frame: FF FF FF FF, sequence 4, IV, content length 0, tag.
  const size_t final_frame = ct.size() - (4 + 4 + 12 + 4 + 16);
  ASSERT_EQ(ct[final_frame], 0xFF);
  EXPECT_EQ(ct[final_frame + 7], 4);
  EXPECT_EQ(ct[final_frame + 4 + 4 + 12 + 3], 0);
  VEIL_ASSERT_OK_AND_ASSIGN(auto result, Decrypt(keys.keyring, ct, DecryptOptions{}));
  EXPECT_EQ(std::vector<uint8_t>(result.plaintext.Expose().begin(), result.plaintext.Expose().end()),
            pt);
  // And the official SDK reads Veil's full-length final frame.
  EncryptOptions o;
  o.frame_length = 4;
  o.suite_id = kSuite0478;
  VEIL_ASSERT_OK_AND_ASSIGN(auto ours, Encrypt(keys.keyring, pt, o));
  VEIL_ASSERT_OK_AND_ASSIGN(json back, Peer()->Call({{"op", "decrypt"},
                                                     {"ciphertext", Base64Encode(ours)},
                                                     {"keyrings", keys.js}}));
  EXPECT_EQ(back["ok"], true);
}

}  // namespace
}  // namespace veil::esdk
