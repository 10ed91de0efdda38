#include "veil/kms_server/key_service.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/kms/types.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms_server {
namespace {

using Json = nlohmann::json;

std::vector<uint8_t> AsBytesForTest(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

const Caller kAlice{"arn:aws:iam::111122223333:user/alice", "111122223333", "AKIDALICE"};
const Caller kBob{"arn:aws:iam::111122223333:user/bob", "111122223333", "AKIDBOB"};
const Caller kMallory{"arn:aws:iam::999988887777:user/mallory", "999988887777", "AKIDMAL"};

// FakeRecipients accepts documents "pcr0=<hex>" and "seals" by prefixing.
class FakeRecipients : public RecipientHandler {
 public:
  absl::StatusOr<AttestedRecipient> Verify(absl::Span<const uint8_t> doc) const override {
    const std::string s(doc.begin(), doc.end());
    if (!s.starts_with("pcr0=")) return absl::UnauthenticatedError("bad document");
    AttestedRecipient r;
    auto pcr0 = HexDecode(s.substr(5));
    if (!pcr0.ok()) return pcr0.status();
    r.pcrs[0] = *pcr0;
    r.module_id = "i-0123456789abcdef0-enc0123456789abcdef";
    r.simulated = true;
    return r;
  }
  absl::StatusOr<std::vector<uint8_t>> Seal(const AttestedRecipient&,
                                            const SecretBytes& plaintext) const override {
    std::vector<uint8_t> out = {'C', 'M', 'S'};
    out.insert(out.end(), plaintext.Expose().begin(), plaintext.Expose().end());
    return out;
  }
};

class KeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/veil-kms-svc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Open();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    service_.reset();
    store_.reset();
    auto store = Store::Open(dir_ + "/kms.db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    if (!root_) {
      auto root = RootKey::LoadOrCreate(dir_ + "/root.key");
      ASSERT_TRUE(root.ok());
      root_ = std::move(*root);
    }
    KeyServiceOptions options;
    options.now = [this] { return absl::FromUnixMillis(now_ms_.load()); };
    options.recipients = std::make_shared<FakeRecipients>();
    auto service = KeyService::Create(store_.get(), root_.get(), options);
    ASSERT_TRUE(service.ok());
    service_ = std::move(*service);
  }

  absl::StatusOr<Json> Call(const Caller& caller, const std::string& op, const Json& req,
                            CallInfo* info = nullptr) {
    CallInfo ignored;
    auto body = service_->Call(caller, op, req.dump(), info != nullptr ? info : &ignored);
    if (!body.ok()) return body.status();
    return Json::parse(*body);
  }
  Json Ok(const Caller& caller, const std::string& op, const Json& req) {
    auto r = Call(caller, op, req);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status();
    return r.ok() ? *r : Json();
  }
  // ErrorType returns the AWS error type of a failed call ("" if it
  // succeeded).
  std::string ErrorType(const Caller& caller, const std::string& op, const Json& req) {
    auto r = Call(caller, op, req);
    if (r.ok()) return "";
    auto type = kms::GetKmsErrorType(r.status());
    return type.has_value() ? kms::ErrorTypeName(*type) : "untyped: " + r.status().ToString();
  }
  std::string NewKey(const Caller& caller = kAlice) {
    return Ok(caller, "CreateKey", Json::object())["KeyMetadata"]["KeyId"];
  }

  std::string dir_;
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
  std::unique_ptr<RootKey> root_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<KeyService> service_;
};

const std::string kPlain = Base64Encode(AsBytesForTest("hello"));

TEST_F(KeyServiceTest, CreateKeyReturnsAwsMetadata) {
  Json m = Ok(kAlice, "CreateKey", {{"Description", "d"}})["KeyMetadata"];
  EXPECT_EQ(m["AWSAccountId"], "111122223333");
  EXPECT_EQ(m["Arn"], "arn:aws:kms:us-east-1:111122223333:key/" + m["KeyId"].get<std::string>());
  EXPECT_EQ(m["KeyState"], "Enabled");
  EXPECT_EQ(m["Enabled"], true);
  EXPECT_EQ(m["KeySpec"], "SYMMETRIC_DEFAULT");
  EXPECT_EQ(m["KeyUsage"], "ENCRYPT_DECRYPT");
  EXPECT_EQ(m["Description"], "d");
  EXPECT_EQ(ErrorType(kAlice, "CreateKey", {{"KeySpec", "RSA_2048"}}),
            "UnsupportedOperationException");
  EXPECT_EQ(ErrorType(kAlice, "CreateKey", {{"Description", 5}}), "SerializationException");
}

TEST_F(KeyServiceTest, EncryptDecryptRoundTripBoundToContext) {
  const std::string id = NewKey();
  const Json ec = {{"tenant", "acme"}};
  Json enc = Ok(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain}, {"EncryptionContext", ec}});
  Json dec = Ok(kBob, "Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", ec}});
  EXPECT_EQ(dec["Plaintext"], kPlain);
  EXPECT_EQ(dec["KeyId"], enc["KeyId"]);
  EXPECT_EQ(ErrorType(kAlice, "Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}),
            "InvalidCiphertextException");
  EXPECT_EQ(ErrorType(kAlice, "Decrypt",
                      {{"CiphertextBlob", enc["CiphertextBlob"]},
                       {"EncryptionContext", {{"tenant", "globex"}}}}),
            "InvalidCiphertextException");
  EXPECT_EQ(ErrorType(kAlice, "Decrypt", {{"CiphertextBlob", Base64Encode(AsBytesForTest("junk"))}}),
            "InvalidCiphertextException");
  // Another key named in the request.
  const std::string other = NewKey();
  EXPECT_EQ(ErrorType(kAlice, "Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                                          {"EncryptionContext", ec},
                                          {"KeyId", other}}),
            "IncorrectKeyException");
  // Another account cannot use the key under the default policy.
  EXPECT_EQ(ErrorType(kMallory, "Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                                            {"EncryptionContext", ec}}),
            "AccessDeniedException");
}

TEST_F(KeyServiceTest, KeysResolveByIdArnAliasAndAliasArn) {
  const std::string id = NewKey();
  Ok(kAlice, "CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id}});
  for (const std::string& ref :
       {id, "arn:aws:kms:us-east-1:111122223333:key/" + id, std::string("alias/app"),
        std::string("arn:aws:kms:us-east-1:111122223333:alias/app")}) {
    Json m = Ok(kAlice, "DescribeKey", {{"KeyId", ref}})["KeyMetadata"];
    EXPECT_EQ(m["KeyId"], id) << ref;
  }
  EXPECT_EQ(ErrorType(kAlice, "DescribeKey", {{"KeyId", "alias/none"}}), "NotFoundException");
  EXPECT_EQ(ErrorType(kMallory, "DescribeKey", {{"KeyId", id}}), "NotFoundException");
  EXPECT_EQ(ErrorType(kAlice, "DescribeKey", {{"KeyId", "not-a-key"}}), "NotFoundException");
  EXPECT_EQ(ErrorType(kAlice, "DescribeKey", Json::object()), "ValidationException");
}

TEST_F(KeyServiceTest, AliasRules) {
  const std::string id = NewKey();
  EXPECT_EQ(ErrorType(kAlice, "CreateAlias", {{"AliasName", "app"}, {"TargetKeyId", id}}),
            "ValidationException");
  EXPECT_EQ(ErrorType(kAlice, "CreateAlias", {{"AliasName", "alias/aws/x"}, {"TargetKeyId", id}}),
            "NotAuthorizedException");
  EXPECT_EQ(ErrorType(kAlice, "CreateAlias", {{"AliasName", "alias/a b"}, {"TargetKeyId", id}}),
            "ValidationException");
  Ok(kAlice, "CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id}});
  EXPECT_EQ(ErrorType(kAlice, "CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id}}),
            "AlreadyExistsException");
  EXPECT_EQ(ErrorType(kAlice, "CreateAlias",
                      {{"AliasName", "alias/other"}, {"TargetKeyId", "alias/app"}}),
            "ValidationException");
  const std::string id2 = NewKey();
  Ok(kAlice, "UpdateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", id2}});
  Json list = Ok(kAlice, "ListAliases", {{"KeyId", id2}});
  ASSERT_EQ(list["Aliases"].size(), 1u);
  EXPECT_EQ(list["Aliases"][0]["AliasName"], "alias/app");
  Ok(kAlice, "DeleteAlias", {{"AliasName", "alias/app"}});
  EXPECT_EQ(ErrorType(kAlice, "DeleteAlias", {{"AliasName", "alias/app"}}), "NotFoundException");
}

TEST_F(KeyServiceTest, DisabledAndPendingDeletionKeys) {
  const std::string id = NewKey();
  Ok(kAlice, "DisableKey", {{"KeyId", id}});
  EXPECT_EQ(ErrorType(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain}}),
            "DisabledException");
  Ok(kAlice, "EnableKey", {{"KeyId", id}});
  Json enc = Ok(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain}});
  EXPECT_EQ(ErrorType(kAlice, "ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 6}}),
            "ValidationException");
  Json sched = Ok(kAlice, "ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  EXPECT_EQ(sched["KeyState"], "PendingDeletion");
  EXPECT_EQ(sched["PendingWindowInDays"], 7);
  EXPECT_EQ(ErrorType(kAlice, "Decrypt", {{"CiphertextBlob", enc["CiphertextBlob"]}}),
            "KMSInvalidStateException");
  EXPECT_EQ(ErrorType(kAlice, "EnableKey", {{"KeyId", id}}), "KMSInvalidStateException");
  Ok(kAlice, "CancelKeyDeletion", {{"KeyId", id}});
  EXPECT_EQ(Ok(kAlice, "DescribeKey", {{"KeyId", id}})["KeyMetadata"]["KeyState"], "Disabled");
  Ok(kAlice, "ScheduleKeyDeletion", {{"KeyId", id}, {"PendingWindowInDays", 7}});
  now_ms_ += 7LL * 24 * 3600 * 1000 + 1;
  EXPECT_EQ(ErrorType(kAlice, "DescribeKey", {{"KeyId", id}}), "NotFoundException");
}

TEST_F(KeyServiceTest, RotationKeepsOldVersionsForDecryption) {
  const std::string id = NewKey();
  Json old_blob = Ok(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain}})["CiphertextBlob"];
  Ok(kAlice, "EnableKeyRotation", {{"KeyId", id}, {"RotationPeriodInDays", 90}});
  Json status = Ok(kAlice, "GetKeyRotationStatus", {{"KeyId", id}});
  EXPECT_EQ(status["KeyRotationEnabled"], true);
  EXPECT_EQ(status["RotationPeriodInDays"], 90);
  now_ms_ += 91LL * 24 * 3600 * 1000;
  Json new_blob = Ok(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain}})["CiphertextBlob"];
  auto version = [](const Json& b) {
    auto bytes = *Base64Decode(b.get<std::string>());
    return (bytes[17] << 24) | (bytes[18] << 16) | (bytes[19] << 8) | bytes[20];
  };
  EXPECT_EQ(version(old_blob), 1);
  EXPECT_EQ(version(new_blob), 2);
  Open();  // versions survive a restart
  EXPECT_EQ(Ok(kAlice, "Decrypt", {{"CiphertextBlob", old_blob}})["Plaintext"], kPlain);
  EXPECT_EQ(Ok(kAlice, "Decrypt", {{"CiphertextBlob", new_blob}})["Plaintext"], kPlain);
  Ok(kAlice, "RotateKeyOnDemand", {{"KeyId", id}});
  Json third = Ok(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain}})["CiphertextBlob"];
  EXPECT_EQ(version(third), 3);
  Ok(kAlice, "DisableKeyRotation", {{"KeyId", id}});
  EXPECT_EQ(Ok(kAlice, "GetKeyRotationStatus", {{"KeyId", id}})["KeyRotationEnabled"], false);
}

TEST_F(KeyServiceTest, ReEncryptMovesBetweenKeysAndContexts) {
  const std::string a = NewKey(), b = NewKey();
  Json enc = Ok(kAlice, "Encrypt", {{"KeyId", a}, {"Plaintext", kPlain}, {"EncryptionContext", {{"x", "1"}}}});
  Json re = Ok(kAlice, "ReEncrypt", {{"CiphertextBlob", enc["CiphertextBlob"]},
                                     {"SourceEncryptionContext", {{"x", "1"}}},
                                     {"DestinationKeyId", b},
                                     {"DestinationEncryptionContext", {{"y", "2"}}}});
  EXPECT_EQ(re["SourceKeyId"], enc["KeyId"]);
  Json dec = Ok(kAlice, "Decrypt", {{"CiphertextBlob", re["CiphertextBlob"]},
                                    {"EncryptionContext", {{"y", "2"}}}});
  EXPECT_EQ(dec["Plaintext"], kPlain);
  EXPECT_EQ(dec["KeyId"], "arn:aws:kms:us-east-1:111122223333:key/" + b);
}

TEST_F(KeyServiceTest, GenerateDataKeyAndRandom) {
  const std::string id = NewKey();
  Json dk = Ok(kAlice, "GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"}});
  EXPECT_EQ(Base64Decode(dk["Plaintext"].get<std::string>())->size(), 32u);
  EXPECT_EQ(Ok(kAlice, "Decrypt", {{"CiphertextBlob", dk["CiphertextBlob"]}})["Plaintext"],
            dk["Plaintext"]);
  Json nop = Ok(kAlice, "GenerateDataKeyWithoutPlaintext", {{"KeyId", id}, {"NumberOfBytes", 64}});
  EXPECT_FALSE(nop.contains("Plaintext"));
  EXPECT_EQ(ErrorType(kAlice, "GenerateDataKey", {{"KeyId", id}}), "ValidationException");
  EXPECT_EQ(ErrorType(kAlice, "GenerateDataKey",
                      {{"KeyId", id}, {"KeySpec", "AES_256"}, {"NumberOfBytes", 32}}),
            "ValidationException");
  EXPECT_EQ(ErrorType(kAlice, "GenerateDataKey", {{"KeyId", id}, {"NumberOfBytes", 1025}}),
            "ValidationException");
  EXPECT_EQ(Base64Decode(Ok(kAlice, "GenerateRandom", {{"NumberOfBytes", 17}})["Plaintext"]
                             .get<std::string>())
                ->size(),
            17u);
}

TEST_F(KeyServiceTest, PolicyConditionsGateDecrypt) {
  const std::string id = NewKey();
  const std::string pcr0(96, 'a');
  const Json policy = {
      {"Version", "2012-10-17"},
      {"Statement",
       {{{"Sid", "admin"},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", kAlice.arn}}},
         {"Action", "kms:*"},
         {"Resource", "*"}},
        {{"Sid", "enclave"},
         {"Effect", "Allow"},
         {"Principal", {{"AWS", kBob.arn}}},
         {"Action", {"kms:Decrypt", "kms:GenerateDataKey"}},
         {"Resource", "*"},
         {"Condition",
          {{"StringEqualsIgnoreCase", {{"kms:RecipientAttestation:ImageSha384", pcr0}}},
           {"StringEquals", {{"kms:EncryptionContext:tenant", "acme"}}}}}}}}};
  Ok(kAlice, "PutKeyPolicy", {{"KeyId", id}, {"Policy", policy.dump()}});
  Json enc = Ok(kAlice, "Encrypt", {{"KeyId", id}, {"Plaintext", kPlain},
                                    {"EncryptionContext", {{"tenant", "acme"}}}});
  const Json good_recipient = {{"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"},
                               {"AttestationDocument",
                                Base64Encode(AsBytesForTest("pcr0=" + std::string(96, 'A')))}};
  const Json bad_recipient = {{"KeyEncryptionAlgorithm", "RSAES_OAEP_SHA_256"},
                              {"AttestationDocument",
                               Base64Encode(AsBytesForTest("pcr0=" + std::string(96, 'b')))}};
  Json req = {{"CiphertextBlob", enc["CiphertextBlob"]}, {"EncryptionContext", {{"tenant", "acme"}}}};
  EXPECT_EQ(ErrorType(kBob, "Decrypt", req), "AccessDeniedException") << "no attestation";
  req["Recipient"] = bad_recipient;
  EXPECT_EQ(ErrorType(kBob, "Decrypt", req), "AccessDeniedException") << "PCR0 mismatch";
  req["Recipient"] = good_recipient;
  CallInfo info;
  auto dec = Call(kBob, "Decrypt", req, &info);
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_FALSE(dec->contains("Plaintext"));
  EXPECT_EQ(*Base64Decode((*dec)["CiphertextForRecipient"].get<std::string>()),
            (std::vector<uint8_t>{'C', 'M', 'S', 'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(info.recipient_pcr0_hex, std::string(96, 'a'));
  // A wrong encryption context is refused by the policy before decryption.
  req["EncryptionContext"] = {{"tenant", "globex"}};
  EXPECT_EQ(ErrorType(kBob, "Decrypt", req), "AccessDeniedException");
  req["Recipient"]["AttestationDocument"] = Base64Encode(AsBytesForTest("forged"));
  EXPECT_EQ(ErrorType(kBob, "Decrypt", req), "ValidationException");
  // GenerateDataKey with Recipient: CiphertextForRecipient, blob, no Plaintext.
  Json dk = Ok(kBob, "GenerateDataKey", {{"KeyId", id}, {"KeySpec", "AES_256"},
                                         {"EncryptionContext", {{"tenant", "acme"}}},
                                         {"Recipient", good_recipient}});
  EXPECT_FALSE(dk.contains("Plaintext"));
  EXPECT_TRUE(dk.contains("CiphertextForRecipient"));
  EXPECT_TRUE(dk.contains("CiphertextBlob"));
  Json rnd = Ok(kBob, "GenerateRandom", {{"NumberOfBytes", 32}, {"Recipient", good_recipient}});
  EXPECT_FALSE(rnd.contains("Plaintext"));
}

TEST_F(KeyServiceTest, PolicyLockoutSafetyCheckAndMalformedPolicies) {
  const std::string id = NewKey();
  const Json lockout = {{"Statement",
                         {{{"Effect", "Allow"},
                           {"Principal", {{"AWS", kBob.arn}}},
                           {"Action", "kms:*"},
                           {"Resource", "*"}}}}};
  EXPECT_EQ(ErrorType(kAlice, "PutKeyPolicy", {{"KeyId", id}, {"Policy", lockout.dump()}}),
            "MalformedPolicyDocumentException");
  Ok(kAlice, "PutKeyPolicy", {{"KeyId", id}, {"Policy", lockout.dump()},
                              {"BypassPolicyLockoutSafetyCheck", true}});
  EXPECT_EQ(ErrorType(kAlice, "GetKeyPolicy", {{"KeyId", id}}), "AccessDeniedException");
  EXPECT_EQ(Ok(kBob, "GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "default"}})["Policy"],
            lockout.dump());
  EXPECT_EQ(ErrorType(kBob, "PutKeyPolicy", {{"KeyId", id}, {"Policy", "{"}}),
            "MalformedPolicyDocumentException");
  EXPECT_EQ(ErrorType(kBob, "GetKeyPolicy", {{"KeyId", id}, {"PolicyName", "other"}}),
            "NotFoundException");
}

TEST_F(KeyServiceTest, ListKeysPaginatesPerAccount) {
  for (int i = 0; i < 5; ++i) NewKey();
  NewKey(kMallory);
  Json page = Ok(kAlice, "ListKeys", {{"Limit", 2}});
  EXPECT_EQ(page["Keys"].size(), 2u);
  EXPECT_EQ(page["Truncated"], true);
  size_t total = page["Keys"].size();
  while (page["Truncated"] == true) {
    page = Ok(kAlice, "ListKeys", {{"Limit", 2}, {"Marker", page["NextMarker"]}});
    total += page["Keys"].size();
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(ErrorType(kAlice, "ListKeys", {{"Limit", 0}}), "ValidationException");
}

TEST_F(KeyServiceTest, UnknownOperationAndNonObjectBodies) {
  EXPECT_EQ(ErrorType(kAlice, "CreateGrant", Json::object()), "UnknownOperationException");
  EXPECT_EQ(ErrorType(kAlice, "CreateKey", Json::array()), "SerializationException");
  CallInfo info;
  EXPECT_TRUE(service_->Call(kAlice, "ListKeys", "", &info).ok()) << "an empty body is {}";
  EXPECT_EQ(kms::GetKmsErrorType(service_->Call(kAlice, "ListKeys", "{", &info).status()),
            kms::ErrorType::kSerialization);
  EXPECT_TRUE(KeyService::IsOperation("ReEncrypt"));
  EXPECT_FALSE(KeyService::IsOperation("reencrypt"));
}

}  // namespace
}  // namespace veil::kms_server
