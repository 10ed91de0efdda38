// Runs the upstream ESDK decrypt manifests in ../shared/testdata/esdk-vectors
// (awses-decrypt v4 and v5, raw AES and raw RSA keys): every positive case must
// decrypt to its plaintext, every negative case must fail. Each positive case
// is also decrypted in small streaming chunks, and non-committing suites are
// checked to be refused under REQUIRE_ENCRYPT_REQUIRE_DECRYPT.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/multi_keyring.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/esdk/raw_rsa_keyring.h"
#include "veil/esdk/required_ec_cmm.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::esdk {
namespace {

using json = nlohmann::json;

struct ManifestCase {
  std::string manifest;  // relative to esdk-vectors/
  size_t expected_tests;
};

std::string Resolve(const std::string& dir, const std::string& uri) {
  const std::string prefix = "file://";
  return dir + "/" + (uri.rfind(prefix, 0) == 0 ? uri.substr(prefix.size()) : uri);
}

absl::StatusOr<std::shared_ptr<const Keyring>> KeyringFor(const json& keys, const json& mk) {
  const json& key = keys.at(mk.at("key").get<std::string>());
  const std::string key_name = key.at("key-id").get<std::string>();
  const std::string provider = mk.at("provider-id").get<std::string>();
  const std::string material = key.at("material").get<std::string>();
  if (mk.at("encryption-algorithm") == "aes") {
    auto raw = Base64Decode(material);
    if (!raw.ok()) return raw.status();
    auto k = RawAesKeyring::Create(provider, key_name, SecretBytes::Copy(*raw));
    if (!k.ok()) return k.status();
    return std::shared_ptr<const Keyring>(std::move(*k));
  }
  std::string padding = mk.at("padding-algorithm").get<std::string>();
  if (padding == "oaep-mgf1") padding = "oaep-" + mk.at("padding-hash").get<std::string>();
  auto pad = ParseRsaPadding(padding);
  if (!pad.ok()) return pad.status();
  const bool is_private = key.at("type") == "private";
  auto k = RawRsaKeyring::Create(provider, key_name, *pad, is_private ? "" : material,
                                 is_private ? material : "");
  if (!k.ok()) return k.status();
  return std::shared_ptr<const Keyring>(std::move(*k));
}

class EsdkVectorsTest : public ::testing::TestWithParam<ManifestCase> {};

TEST_P(EsdkVectorsTest, EveryCaseBehavesAsTheManifestSays) {
  VEIL_REQUIRE_SHARED(shared);
  const std::string manifest_path = shared + "/testdata/esdk-vectors/" + GetParam().manifest;
  const std::string dir = manifest_path.substr(0, manifest_path.rfind('/'));
  VEIL_ASSERT_OK_AND_ASSIGN(std::string text, testing::ReadFileString(manifest_path));
  json manifest = json::parse(text, nullptr, false);
  ASSERT_FALSE(manifest.is_discarded()) << manifest_path;
  ASSERT_EQ(manifest.at("manifest").at("type"), "awses-decrypt");
  const int version = manifest.at("manifest").at("version").get<int>();
  VEIL_ASSERT_OK_AND_ASSIGN(std::string keys_text,
                            testing::ReadFileString(Resolve(dir, manifest.at("keys"))));
  json keys = json::parse(keys_text, nullptr, false).at("keys");

  size_t ran = 0, positive = 0, negative = 0;
  for (const auto& [id, test_entry] : manifest.at("tests").items()) {
    SCOPED_TRACE(GetParam().manifest + " / " + id);
    // Normalize v4 and v5 into one shape.
    json t = version == 5 ? test_entry.at("decryption-scenario") : test_entry;
    json master_keys = version == 5 ? json::array({t.at("decryptKeyDescription")})
                                    : t.at("master-keys");
    json ec = version == 5 ? t.at("reproduced-encryption-context") : t.at("encryption-context");
    std::string cmm_name = version == 5 ? "Default" : t.value("cmm", "Default");
    std::optional<std::string> plaintext_uri;
    if (version == 5) {
      ASSERT_EQ(t.at("type"), "positive-esdk");
      plaintext_uri = t.at("result").get<std::string>();
    } else if (t.at("result").contains("output")) {
      plaintext_uri = t.at("result").at("output").at("plaintext").get<std::string>();
    }

    std::vector<std::shared_ptr<const Keyring>> keyrings;
    for (const json& mk : master_keys) {
      VEIL_ASSERT_OK_AND_ASSIGN(auto k, KeyringFor(keys, mk));
      keyrings.push_back(std::move(k));
    }
    std::shared_ptr<const Keyring> keyring = keyrings[0];
    if (keyrings.size() > 1) {
      VEIL_ASSERT_OK_AND_ASSIGN(
          auto multi, MultiKeyring::Create(nullptr, std::vector<std::shared_ptr<const Keyring>>(
                                                        keyrings.begin(), keyrings.end())));
      keyring = std::move(multi);
    }
    std::shared_ptr<CryptoMaterialsManager> cmm = DefaultCmm::Create(keyring);
    DecryptOptions options;
    options.commitment_policy = CommitmentPolicy::kRequireEncryptAllowDecrypt;
    for (const auto& [k, v] : ec.items()) options.reproduced_encryption_context[k] = v;
    if (cmm_name == "RequiredEncryptionContext") {
      std::set<std::string> required;
      for (const auto& [k, v] : ec.items()) required.insert(k);
      VEIL_ASSERT_OK_AND_ASSIGN(auto req,
                                RequiredEncryptionContextCmm::Create(cmm, std::move(required)));
      cmm = std::move(req);
    } else {
      ASSERT_EQ(cmm_name, "Default");
    }

    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> ciphertext,
                              testing::ReadFile(Resolve(dir, t.at("ciphertext"))));
    auto result = Decrypt(*cmm, ciphertext, options);
    ++ran;
    if (!plaintext_uri) {
      ++negative;
      EXPECT_FALSE(result.ok()) << "negative case decrypted: "
                                << t.value("description", std::string());
      continue;
    }
    ++positive;
    ASSERT_TRUE(result.ok()) << result.status();
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> expected,
                              testing::ReadFile(Resolve(dir, *plaintext_uri)));
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), result->plaintext.Expose().begin(),
                           result->plaintext.Expose().end()));

    // The same message fed in 7-byte pieces gives the same plaintext.
    auto streamer = MessageDecryptor::Create(*cmm, options);
    SecretBytes streamed;
    for (size_t off = 0; off < ciphertext.size(); off += 7) {
      VEIL_ASSERT_OK(streamer->Update(
          absl::MakeConstSpan(ciphertext).subspan(off, std::min<size_t>(7, ciphertext.size() - off)),
          &streamed));
    }
    VEIL_ASSERT_OK(streamer->Finish(&streamed));
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), streamed.Expose().begin(),
                           streamed.Expose().end()));

    // Under the strictest policy only committing suites decrypt.
    const AlgorithmSuite* suite = FindSuite(result->info.suite_id);
    ASSERT_NE(suite, nullptr);
    options.commitment_policy = CommitmentPolicy::kRequireEncryptRequireDecrypt;
    auto strict = Decrypt(*cmm, ciphertext, options);
    EXPECT_EQ(strict.ok(), suite->committing) << strict.status();
  }
  EXPECT_EQ(ran, GetParam().expected_tests);
  RecordProperty("positive", static_cast<int>(positive));
  RecordProperty("negative", static_cast<int>(negative));
}

INSTANTIATE_TEST_SUITE_P(
    Manifests, EsdkVectorsTest,
    ::testing::Values(ManifestCase{"net-4.0.1/manifest.json", 46},
                      ManifestCase{"net-4.0.1/manifest-ec-negative.json", 3},
                      ManifestCase{"net-4.0.0-invalid/manifest.json", 28},
                      ManifestCase{"net-4.0.0-valid/manifest.json", 5},
                      ManifestCase{"dafny-4.1.0/decrypt-manifest.json", 22},
                      ManifestCase{"derived/manifest.json", 16}),
    [](const auto& info) {
      std::string n = info.param.manifest;
      for (char& c : n) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

}  // namespace
}  // namespace veil::esdk
