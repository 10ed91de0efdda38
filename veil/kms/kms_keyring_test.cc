// The KMS keyrings against FakeKmsClient, checking the request fields of
// brief section 12.3 (KeyId, NumberOfBytes, the full EncryptionContext
// including aws-crypto-public-key, GrantTokens), the EDKs written, the
// decrypt-side filtering rules, and the Recipient flow.
#include "veil/kms/kms_keyring.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/rsa.h"
#include "veil/esdk/esdk.h"
#include "veil/kms/arn.h"
#include "veil/kms/testing/fake_kms_client.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms {
namespace {

using ::testing::HasSubstr;
using ::veil::kms::testing::FakeKmsCall;
using ::veil::kms::testing::FakeKmsClient;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

const esdk::AlgorithmSuite* Suite(uint16_t id) { return esdk::FindSuite(id); }

std::string Text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

esdk::EncryptionMaterials EncryptMaterials(uint16_t suite = esdk::kSuite0578) {
  esdk::EncryptionMaterials m;
  m.suite = Suite(suite);
  m.encryption_context = {{"tenant", "acme"},
                          {"purpose", "ml-inference"},
                          {"aws-crypto-public-key", "AjTVsDhXnmJFBcfWvgXjE1WaRy0Dd16M0d1uVRPaSgs6"}};
  return m;
}

esdk::DecryptionMaterials DecryptMaterials(const esdk::EncryptionMaterials& from) {
  esdk::DecryptionMaterials m;
  m.suite = from.suite;
  m.encryption_context = from.encryption_context;
  return m;
}

class KmsKeyringTest : public ::testing::Test {
 protected:
  KmsKeyringTest() : kms_(std::make_shared<FakeKmsClient>()) {
    arn_ = kms_->AddKey();
    kms_->AddAlias("alias/acme", arn_);
  }
  std::unique_ptr<KmsKeyring> Keyring(const std::string& id,
                                      std::vector<std::string> grants = {}) {
    auto k = KmsKeyring::Create(kms_, id, std::move(grants));
    EXPECT_TRUE(k.ok()) << k.status();
    return std::move(k).value();
  }

  std::shared_ptr<FakeKmsClient> kms_;
  std::string arn_;
};

TEST_F(KmsKeyringTest, OnEncryptCallsGenerateDataKeyWithTheSection12_3Fields) {
  auto keyring = Keyring("alias/acme", {"grant-1", "grant-2"});
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));

  const std::vector<FakeKmsCall> calls = kms_->Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].operation, "GenerateDataKey");
  EXPECT_EQ(calls[0].key_id, "alias/acme");  // the configured identifier
  EXPECT_EQ(calls[0].number_of_bytes, 32);  // the suite's KDF input length
  EXPECT_EQ(calls[0].encryption_context, m.encryption_context);  // full, with the public key
  EXPECT_EQ(calls[0].encryption_context.count("aws-crypto-public-key"), 1u);
  EXPECT_EQ(calls[0].grant_tokens, (std::vector<std::string>{"grant-1", "grant-2"}));
  EXPECT_FALSE(calls[0].recipient.has_value());

  ASSERT_TRUE(m.plaintext_data_key.has_value());
  EXPECT_EQ(m.plaintext_data_key->size(), 32u);
  ASSERT_EQ(m.encrypted_data_keys.size(), 1u);
  EXPECT_EQ(m.encrypted_data_keys[0].provider_id, "aws-kms");
  // Provider info is the key ARN KMS answered with, never the alias.
  EXPECT_EQ(Text(m.encrypted_data_keys[0].provider_info), arn_);
}

TEST_F(KmsKeyringTest, NumberOfBytesFollowsTheSuite) {
  auto keyring = Keyring(arn_);
  esdk::EncryptionMaterials m = EncryptMaterials(esdk::kSuite0114);
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));
  EXPECT_EQ(kms_->Calls()[0].number_of_bytes, 16);
  EXPECT_EQ(m.plaintext_data_key->size(), 16u);
}

TEST_F(KmsKeyringTest, OnEncryptWithAnExistingKeyCallsEncrypt) {
  auto keyring = Keyring(arn_, {"g"});
  esdk::EncryptionMaterials m = EncryptMaterials();
  m.plaintext_data_key = SecretBytes(32);
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));
  const std::vector<FakeKmsCall> calls = kms_->Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].operation, "Encrypt");
  EXPECT_EQ(calls[0].key_id, arn_);
  EXPECT_EQ(calls[0].encryption_context, m.encryption_context);
  EXPECT_EQ(calls[0].grant_tokens, std::vector<std::string>{"g"});
  ASSERT_EQ(m.encrypted_data_keys.size(), 1u);
  EXPECT_EQ(Text(m.encrypted_data_keys[0].provider_info), arn_);

  // The EDK unwraps to the same key.
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  VEIL_ASSERT_OK(keyring->OnDecrypt(d, m.encrypted_data_keys));
  EXPECT_EQ(d.plaintext_data_key->size(), 32u);
}

TEST_F(KmsKeyringTest, OnEncryptFailureLeavesMaterialsUnchanged) {
  auto keyring = Keyring(arn_);
  esdk::EncryptionMaterials m = EncryptMaterials();
  kms_->FailNext("GenerateDataKey", KmsError(ErrorType::kAccessDenied, "no"));
  EXPECT_THAT(keyring->OnEncrypt(m), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(m.plaintext_data_key.has_value());
  EXPECT_TRUE(m.encrypted_data_keys.empty());

  // An answer whose KeyId is not a key ARN is refused, too.
  kms_->set_answer_key_id("alias/acme");
  EXPECT_THAT(keyring->OnEncrypt(m), StatusIs(absl::StatusCode::kInternal));
  EXPECT_FALSE(m.plaintext_data_key.has_value());
  EXPECT_TRUE(m.encrypted_data_keys.empty());
}

TEST_F(KmsKeyringTest, OnDecryptCallsDecryptWithTheSection12_3Fields) {
  auto keyring = Keyring(arn_, {"g"});
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));
  kms_->ClearCalls();
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  VEIL_ASSERT_OK(keyring->OnDecrypt(d, m.encrypted_data_keys));
  EXPECT_TRUE(std::equal(d.plaintext_data_key->Expose().begin(),
                         d.plaintext_data_key->Expose().end(),
                         m.plaintext_data_key->Expose().begin()));
  const std::vector<FakeKmsCall> calls = kms_->Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].operation, "Decrypt");
  EXPECT_EQ(calls[0].key_id, arn_);
  EXPECT_EQ(calls[0].ciphertext_blob, m.encrypted_data_keys[0].ciphertext);
  EXPECT_EQ(calls[0].encryption_context, m.encryption_context);
  EXPECT_EQ(calls[0].grant_tokens, std::vector<std::string>{"g"});

  // Materials that already hold a key are refused.
  EXPECT_THAT(keyring->OnDecrypt(d, m.encrypted_data_keys),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(KmsKeyringTest, AliasConfiguredKeyringCannotDecrypt) {
  // Gotcha 13: the provider info is the key ARN, so an alias never matches.
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring("alias/acme")->OnEncrypt(m));
  kms_->ClearCalls();
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  absl::Status s = Keyring("alias/acme")->OnDecrypt(d, m.encrypted_data_keys);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(s.message()), HasSubstr("no aws-kms encrypted data key"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("must be configured with a key ARN"));
  EXPECT_TRUE(kms_->Calls().empty());
}

TEST_F(KmsKeyringTest, NonArnProviderInfoIsAHardError) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(m));
  for (const std::string& bad : {std::string("alias/acme"),
                                 std::string("arn:aws:kms:us-west-2:111122223333:alias/acme"),
                                 std::string("not an arn"), std::string("")}) {
    SCOPED_TRACE(bad);
    std::vector<esdk::EncryptedDataKey> edks = {
        {"aws-kms", std::vector<uint8_t>(bad.begin(), bad.end()), {1, 2, 3}},
        m.encrypted_data_keys[0]};  // a good EDK after it does not help
    esdk::DecryptionMaterials d = DecryptMaterials(m);
    EXPECT_THAT(Keyring(arn_)->OnDecrypt(d, edks), StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_FALSE(d.plaintext_data_key.has_value());
  }
}

TEST_F(KmsKeyringTest, OtherProvidersAndOtherKeysAreSkipped) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(m));
  const std::string other = kms_->AddKey();
  std::vector<esdk::EncryptedDataKey> edks = {
      {"raw-aes", {1}, {2}},
      {"aws-kms-ish", std::vector<uint8_t>(arn_.begin(), arn_.end()), {3}},
      {"aws-kms", std::vector<uint8_t>(other.begin(), other.end()), {4}},
      m.encrypted_data_keys[0]};
  kms_->ClearCalls();
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  VEIL_ASSERT_OK(Keyring(arn_)->OnDecrypt(d, edks));
  EXPECT_EQ(kms_->Calls().size(), 1u);  // only the matching EDK was sent
}

TEST_F(KmsKeyringTest, ChecksTheAnsweredKeyIdAndLength) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(m));

  kms_->set_answer_key_id("arn:aws:kms:us-west-2:111122223333:key/someone-else");
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  absl::Status s = Keyring(arn_)->OnDecrypt(d, m.encrypted_data_keys);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("someone-else"));
  EXPECT_FALSE(d.plaintext_data_key.has_value());
  kms_->set_answer_key_id("");

  // A 16-byte key where the suite needs 32.
  esdk::EncryptionMaterials small = EncryptMaterials(esdk::kSuite0114);
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(small));
  esdk::DecryptionMaterials wrong_suite = DecryptMaterials(small);
  wrong_suite.suite = Suite(esdk::kSuite0578);
  s = Keyring(arn_)->OnDecrypt(wrong_suite, small.encrypted_data_keys);
  EXPECT_THAT(std::string(s.message()), HasSubstr("16-byte data key, expected 32"));
}

TEST_F(KmsKeyringTest, CollectsEveryError) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  auto keyring = Keyring(arn_);
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));
  m.plaintext_data_key.reset();
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));  // a second EDK for the same key
  ASSERT_EQ(m.encrypted_data_keys.size(), 2u);

  VEIL_ASSERT_OK(kms_->DisableKey({arn_}));
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  absl::Status s = keyring->OnDecrypt(d, m.encrypted_data_keys);
  // Both attempts failed the same way, so the code is theirs.
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  const std::string msg(s.message());
  EXPECT_NE(msg.find("DisabledException"), msg.rfind("DisabledException")) << msg;

  // A first failure and a second success: the key comes from the second.
  VEIL_ASSERT_OK(kms_->EnableKey({arn_}));
  kms_->FailNext("Decrypt", KmsError(ErrorType::kThrottling, "slow down"));
  VEIL_EXPECT_OK(keyring->OnDecrypt(d, m.encrypted_data_keys));
}

TEST_F(KmsKeyringTest, CreateValidatesItsConfiguration) {
  EXPECT_THAT(KmsKeyring::Create(nullptr, arn_), StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* bad : {"", "alias/", "arn:aws:s3:::bucket", "arn:aws:kms:us-east-1::key/x",
                          "key with space", "foo:bar"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(KmsKeyring::Create(kms_, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  for (const char* good : {"alias/acme", "1234abcd-12ab-34cd-56ef-1234567890ab",
                           "mrk-4321abcd12ab34cd56ef1234567890ab",
                           "arn:aws:kms:us-west-2:111122223333:alias/acme"}) {
    VEIL_EXPECT_OK(KmsKeyring::Create(kms_, good));
  }
}

// --- Whole messages --------------------------------------------------------------

TEST_F(KmsKeyringTest, MessageRoundTripThroughTheEsdk) {
  std::shared_ptr<const esdk::Keyring> keyring = Keyring(arn_);
  esdk::EncryptOptions eo;
  eo.encryption_context = {{"tenant", "acme"}};
  const std::vector<uint8_t> plaintext = {'h', 'e', 'l', 'l', 'o'};
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> message, esdk::Encrypt(keyring, plaintext, eo));
  VEIL_ASSERT_OK_AND_ASSIGN(esdk::DecryptResult r, esdk::Decrypt(keyring, message, {}));
  EXPECT_EQ(r.plaintext.size(), plaintext.size());

  // KMS saw the full context of the signed default suite (0x0578).
  const FakeKmsCall gen = kms_->Calls()[0];
  EXPECT_EQ(gen.encryption_context.at("tenant"), "acme");
  EXPECT_EQ(gen.encryption_context.count("aws-crypto-public-key"), 1u);
}

// --- Discovery --------------------------------------------------------------------

TEST_F(KmsKeyringTest, DiscoveryDecryptsAnyKmsEdk) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring("alias/acme")->OnEncrypt(m));
  VEIL_ASSERT_OK_AND_ASSIGN(auto discovery, KmsDiscoveryKeyring::Create(kms_));
  kms_->ClearCalls();
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  VEIL_ASSERT_OK(discovery->OnDecrypt(d, m.encrypted_data_keys));
  EXPECT_EQ(kms_->Calls()[0].key_id, arn_);  // the ARN from the provider info
  esdk::EncryptionMaterials e = EncryptMaterials();
  EXPECT_THAT(discovery->OnEncrypt(e), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(KmsKeyringTest, DiscoveryFilter) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(m));
  const KmsArn arn = ParseKmsArn(arn_).value();

  VEIL_ASSERT_OK_AND_ASSIGN(auto match,
                            KmsDiscoveryKeyring::Create(kms_, DiscoveryFilter{"aws", {arn.account}}));
  esdk::DecryptionMaterials d1 = DecryptMaterials(m);
  VEIL_EXPECT_OK(match->OnDecrypt(d1, m.encrypted_data_keys));

  for (const DiscoveryFilter& f : {DiscoveryFilter{"aws", {"999999999999"}},
                                   DiscoveryFilter{"aws-cn", {arn.account}}}) {
    VEIL_ASSERT_OK_AND_ASSIGN(auto other, KmsDiscoveryKeyring::Create(kms_, f));
    kms_->ClearCalls();
    esdk::DecryptionMaterials d = DecryptMaterials(m);
    EXPECT_THAT(other->OnDecrypt(d, m.encrypted_data_keys),
                StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_TRUE(kms_->Calls().empty());
  }
  EXPECT_THAT(KmsDiscoveryKeyring::Create(kms_, DiscoveryFilter{"aws", {}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KmsDiscoveryKeyring::Create(kms_, DiscoveryFilter{"", {"1"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));

  std::vector<esdk::EncryptedDataKey> bad = {{"aws-kms", {'x'}, {1}}};
  esdk::DecryptionMaterials d2 = DecryptMaterials(m);
  EXPECT_THAT(match->OnDecrypt(d2, bad), StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Recipient (enclave) keyring --------------------------------------------------

class KmsRecipientKeyringTest : public KmsKeyringTest {
 protected:
  // The fake reads the "attestation document" as the SPKI itself; the
  // source counts how many documents it issued.
  std::unique_ptr<KmsRecipientKeyring> Recipient(const std::string& id) {
    auto k = KmsRecipientKeyring::Create(
        kms_, id,
        [this](absl::Span<const uint8_t> spki) -> absl::StatusOr<std::vector<uint8_t>> {
          ++documents_;
          if (fail_attestation_) return absl::UnavailableError("NSM busy");
          return std::vector<uint8_t>(spki.begin(), spki.end());
        },
        {"g"});
    EXPECT_TRUE(k.ok()) << k.status();
    return std::move(k).value();
  }

  std::atomic<int> documents_{0};
  bool fail_attestation_ = false;
};

TEST_F(KmsRecipientKeyringTest, GeneratesWithARecipientAndWritesAStandardEdk) {
  auto keyring = Recipient(arn_);
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));
  const FakeKmsCall call = kms_->Calls()[0];
  EXPECT_EQ(call.operation, "GenerateDataKey");
  EXPECT_EQ(call.key_id, arn_);
  EXPECT_EQ(call.number_of_bytes, 32);
  EXPECT_EQ(call.encryption_context, m.encryption_context);
  EXPECT_EQ(call.grant_tokens, std::vector<std::string>{"g"});
  ASSERT_TRUE(call.recipient.has_value());
  EXPECT_EQ(call.recipient->key_encryption_algorithm, "RSAES_OAEP_SHA_256");
  EXPECT_EQ(call.recipient->attestation_document, keyring->public_key_spki_der());
  EXPECT_EQ(documents_.load(), 1);

  ASSERT_EQ(m.plaintext_data_key->size(), 32u);
  ASSERT_EQ(m.encrypted_data_keys.size(), 1u);
  EXPECT_EQ(m.encrypted_data_keys[0].provider_id, "aws-kms");
  EXPECT_EQ(Text(m.encrypted_data_keys[0].provider_info), arn_);

  // A standard KMS keyring outside the enclave reads the same EDK.
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  VEIL_ASSERT_OK(Keyring(arn_)->OnDecrypt(d, m.encrypted_data_keys));
  EXPECT_TRUE(std::equal(d.plaintext_data_key->Expose().begin(),
                         d.plaintext_data_key->Expose().end(),
                         m.plaintext_data_key->Expose().begin()));
}

TEST_F(KmsRecipientKeyringTest, DecryptsWithARecipientAndAFreshDocumentEachTime) {
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(m));  // made outside the enclave
  auto keyring = Recipient(arn_);
  kms_->ClearCalls();
  for (int i = 1; i <= 2; ++i) {
    esdk::DecryptionMaterials d = DecryptMaterials(m);
    VEIL_ASSERT_OK(keyring->OnDecrypt(d, m.encrypted_data_keys));
    EXPECT_TRUE(std::equal(d.plaintext_data_key->Expose().begin(),
                           d.plaintext_data_key->Expose().end(),
                           m.plaintext_data_key->Expose().begin()));
    EXPECT_EQ(documents_.load(), i);
  }
  const std::vector<FakeKmsCall> calls = kms_->Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].operation, "Decrypt");
  EXPECT_EQ(calls[0].key_id, arn_);
  EXPECT_EQ(calls[0].encryption_context, m.encryption_context);
  ASSERT_TRUE(calls[0].recipient.has_value());
}

TEST_F(KmsRecipientKeyringTest, RefusesPlaintextFromAServiceThatIgnoresRecipient) {
  auto keyring = Recipient(arn_);
  kms_->set_ignore_recipient(true);
  esdk::EncryptionMaterials m = EncryptMaterials();
  absl::Status s = keyring->OnEncrypt(m);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), HasSubstr("ignored the attestation"));
  EXPECT_FALSE(m.plaintext_data_key.has_value());
  EXPECT_TRUE(m.encrypted_data_keys.empty());

  kms_->set_ignore_recipient(false);
  VEIL_ASSERT_OK(Keyring(arn_)->OnEncrypt(m));
  kms_->set_ignore_recipient(true);
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  EXPECT_THAT(keyring->OnDecrypt(d, m.encrypted_data_keys),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(d.plaintext_data_key.has_value());
}

TEST_F(KmsRecipientKeyringTest, CiphertextForAnotherKeyFails) {
  // Another enclave's document: KMS encrypts to that key, which this
  // keyring cannot open.
  auto other = Recipient(arn_);
  auto keyring = KmsRecipientKeyring::Create(
      kms_, arn_, [&other](absl::Span<const uint8_t>) -> absl::StatusOr<std::vector<uint8_t>> {
        return other->public_key_spki_der();
      });
  ASSERT_TRUE(keyring.ok());
  esdk::EncryptionMaterials m = EncryptMaterials();
  EXPECT_THAT((*keyring)->OnEncrypt(m), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_FALSE(m.plaintext_data_key.has_value());
}

TEST_F(KmsRecipientKeyringTest, AttestationFailuresPropagate) {
  auto keyring = Recipient(arn_);
  fail_attestation_ = true;
  esdk::EncryptionMaterials m = EncryptMaterials();
  absl::Status s = keyring->OnEncrypt(m);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(std::string(s.message()), HasSubstr("NSM busy"));
  EXPECT_TRUE(kms_->Calls().empty());
}

TEST_F(KmsRecipientKeyringTest, ExistingDataKeyIsWrappedWithEncrypt) {
  auto keyring = Recipient(arn_);
  esdk::EncryptionMaterials m = EncryptMaterials();
  m.plaintext_data_key = SecretBytes(32);
  VEIL_ASSERT_OK(keyring->OnEncrypt(m));
  EXPECT_EQ(kms_->Calls()[0].operation, "Encrypt");
  EXPECT_EQ(documents_.load(), 0);
}

TEST_F(KmsRecipientKeyringTest, EachKeyringHasItsOwnKeyPair) {
  auto a = Recipient(arn_);
  auto b = Recipient(arn_);
  EXPECT_NE(a->public_key_spki_der(), b->public_key_spki_der());
  EXPECT_GT(a->public_key_spki_der().size(), 290u);  // RSA-2048 SPKI is 294 bytes
}

// The enclave makes one key pair at start and shares it among the keyrings
// of all its tenants.
class SharedKeyRecipientKeyringTest : public KmsRecipientKeyringTest {
 protected:
  void SetUp() override {
    auto key = crypto::RsaPrivateKey::Generate(2048);
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::move(*key);
    other_arn_ = kms_->AddKey();
  }
  std::unique_ptr<KmsRecipientKeyring> Shared(const std::string& id) {
    auto k = KmsRecipientKeyring::Create(
        kms_, id,
        [this](absl::Span<const uint8_t> spki) -> absl::StatusOr<std::vector<uint8_t>> {
          ++documents_;
          return std::vector<uint8_t>(spki.begin(), spki.end());
        },
        key_, {"g"});
    EXPECT_TRUE(k.ok()) << k.status();
    return k.ok() ? std::move(k).value() : nullptr;
  }

  std::shared_ptr<const crypto::RsaPrivateKey> key_;
  std::string other_arn_;
};

TEST_F(SharedKeyRecipientKeyringTest, EveryTenantsKeyringUsesTheOneKey) {
  auto acme = Shared(arn_);
  auto globex = Shared(other_arn_);
  ASSERT_NE(acme, nullptr);
  ASSERT_NE(globex, nullptr);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> spki, crypto::RecipientPublicKeyDer(*key_));
  EXPECT_EQ(acme->public_key_spki_der(), spki);
  EXPECT_EQ(globex->public_key_spki_der(), spki);

  // Each keyring generates and decrypts under its own tenant's KMS key, and
  // every Recipient carries the shared public key.
  for (auto* keyring : {acme.get(), globex.get()}) {
    esdk::EncryptionMaterials m = EncryptMaterials();
    VEIL_ASSERT_OK(keyring->OnEncrypt(m));
    esdk::DecryptionMaterials d = DecryptMaterials(m);
    VEIL_ASSERT_OK(keyring->OnDecrypt(d, m.encrypted_data_keys));
    EXPECT_TRUE(std::equal(d.plaintext_data_key->Expose().begin(),
                           d.plaintext_data_key->Expose().end(),
                           m.plaintext_data_key->Expose().begin()));
  }
  for (const FakeKmsCall& call : kms_->Calls()) {
    ASSERT_TRUE(call.recipient.has_value()) << call.operation;
    EXPECT_EQ(call.recipient->attestation_document, spki);
  }
  EXPECT_EQ(documents_.load(), 4);
}

TEST_F(SharedKeyRecipientKeyringTest, ASharedKeyDoesNotShareTenants) {
  // Sharing the enclave key does not let one tenant's keyring unwrap
  // another tenant's data keys: the EDK names the other KMS key.
  auto acme = Shared(arn_);
  auto globex = Shared(other_arn_);
  esdk::EncryptionMaterials m = EncryptMaterials();
  VEIL_ASSERT_OK(acme->OnEncrypt(m));
  kms_->ClearCalls();
  esdk::DecryptionMaterials d = DecryptMaterials(m);
  EXPECT_THAT(globex->OnDecrypt(d, m.encrypted_data_keys),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_FALSE(d.plaintext_data_key.has_value());
  EXPECT_TRUE(kms_->Calls().empty());
}

TEST_F(SharedKeyRecipientKeyringTest, KeyringsKeepTheKeyAliveAndWorkConcurrently) {
  std::vector<std::unique_ptr<KmsRecipientKeyring>> keyrings;
  for (int i = 0; i < 4; ++i) keyrings.push_back(Shared(i % 2 == 0 ? arn_ : other_arn_));
  key_.reset();  // the keyrings share ownership
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (auto& keyring : keyrings) {
    threads.emplace_back([&ok, k = keyring.get()] {
      for (int j = 0; j < 5; ++j) {
        esdk::EncryptionMaterials m = EncryptMaterials();
        if (!k->OnEncrypt(m).ok()) return;
        esdk::DecryptionMaterials d = DecryptMaterials(m);
        if (!k->OnDecrypt(d, m.encrypted_data_keys).ok()) return;
      }
      ok.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
}

TEST_F(SharedKeyRecipientKeyringTest, CreateValidates) {
  AttestationSource source =
      [](absl::Span<const uint8_t> spki) -> absl::StatusOr<std::vector<uint8_t>> {
    return std::vector<uint8_t>(spki.begin(), spki.end());
  };
  EXPECT_THAT(KmsRecipientKeyring::Create(kms_, arn_, source,
                                          std::shared_ptr<const crypto::RsaPrivateKey>()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KmsRecipientKeyring::Create(nullptr, arn_, source, key_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KmsRecipientKeyring::Create(kms_, arn_, nullptr, key_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KmsRecipientKeyring::Create(kms_, "not a key id!", source, key_),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // veil/crypto generates nothing below 2048 bits; a larger key is as wrong.
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<crypto::RsaPrivateKey> large,
                            crypto::RsaPrivateKey::Generate(3072));
  absl::StatusOr<std::unique_ptr<KmsRecipientKeyring>> k = KmsRecipientKeyring::Create(
      kms_, arn_, source, std::shared_ptr<const crypto::RsaPrivateKey>(std::move(large)));
  EXPECT_THAT(k, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(k.status().message()), HasSubstr("RSA-2048"));
}

TEST_F(KmsRecipientKeyringTest, MessageRoundTripInsideAndOutside) {
  std::shared_ptr<const esdk::Keyring> enclave = Recipient(arn_);
  std::shared_ptr<const esdk::Keyring> client = Keyring(arn_);
  esdk::EncryptOptions eo;
  eo.encryption_context = {{"tenant", "acme"}, {"request", "r-1"}};
  const std::vector<uint8_t> image = {0xff, 0xd8, 0xff, 0xe0};
  // The client encrypts; the enclave decrypts; the enclave replies; the
  // client decrypts the reply.
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> request, esdk::Encrypt(client, image, eo));
  VEIL_ASSERT_OK_AND_ASSIGN(esdk::DecryptResult in_enclave, esdk::Decrypt(enclave, request, {}));
  EXPECT_EQ(in_enclave.plaintext.size(), image.size());
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> reply, esdk::Encrypt(enclave, image, eo));
  VEIL_ASSERT_OK_AND_ASSIGN(esdk::DecryptResult at_client, esdk::Decrypt(client, reply, {}));
  EXPECT_EQ(at_client.plaintext.size(), image.size());
}

TEST(KmsArnTest, ParsesAndValidates) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      KmsArn a, ParseKmsArn("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-abc"));
  EXPECT_EQ(a.partition, "aws-us-gov");
  EXPECT_EQ(a.region, "us-gov-west-1");
  EXPECT_EQ(a.account, "123456789012");
  EXPECT_TRUE(a.IsKey());
  EXPECT_TRUE(a.IsMultiRegionKey());
  EXPECT_EQ(a.ToString(), "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-abc");
  VEIL_ASSERT_OK_AND_ASSIGN(KmsArn alias,
                            ParseKmsArn("arn:aws:kms:us-east-1:123456789012:alias/a/b:c"));
  EXPECT_EQ(alias.resource_type, "alias");
  EXPECT_EQ(alias.resource_id, "a/b:c");
  EXPECT_FALSE(alias.IsMultiRegionKey());
  EXPECT_THAT(ParseKmsKeyArn("arn:aws:kms:us-east-1:123456789012:alias/a"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  for (const char* bad :
       {"", "arn", "arn:aws:kms:us-east-1:123456789012", "aws:aws:kms:r:a:key/k",
        "arn::kms:r:a:key/k", "arn:aws:s3:r:a:key/k", "arn:aws:kms::a:key/k",
        "arn:aws:kms:r::key/k", "arn:aws:kms:r:a:key", "arn:aws:kms:r:a:key/",
        "arn:aws:kms:r:a:grant/k", "arn:aws:kms:r:a:/k"}) {
    SCOPED_TRACE(bad);
    EXPECT_THAT(ParseKmsArn(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace veil::kms
