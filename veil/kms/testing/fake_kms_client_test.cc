#include "veil/kms/testing/fake_kms_client.h"

#include <memory>

#include "gtest/gtest.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/rsa.h"
#include "veil/kms/testing/fake_kms_server.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms::testing {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

SecretBytes Secret(std::string_view s) {
  return SecretBytes::Copy(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}
std::string Str(const SecretBytes& s) { return {s.Expose().begin(), s.Expose().end()}; }

TEST(FakeKmsClientTest, EncryptDecryptRoundTripBoundToContext) {
  FakeKmsClient kms;
  const std::string arn = kms.AddKey();
  EncryptRequest enc;
  enc.key_id = arn;
  enc.plaintext = Secret("data key");
  enc.encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptResponse er, kms.Encrypt(enc));
  EXPECT_EQ(er.key_id, arn);

  DecryptRequest dec;
  dec.ciphertext_blob = er.ciphertext_blob;
  dec.encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse dr, kms.Decrypt(dec));
  EXPECT_EQ(Str(dr.plaintext), "data key");
  EXPECT_EQ(dr.key_id, arn);

  dec.encryption_context = {{"tenant", "other"}};
  absl::StatusOr<DecryptResponse> wrong = kms.Decrypt(dec);
  EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(GetKmsErrorType(wrong.status()), ErrorType::kInvalidCiphertext);

  dec.encryption_context = {{"tenant", "acme"}};
  dec.ciphertext_blob.back() ^= 1;
  EXPECT_EQ(GetKmsErrorType(kms.Decrypt(dec).status()), ErrorType::kInvalidCiphertext);
}

TEST(FakeKmsClientTest, AliasesResolveAndAnswersCarryTheKeyArn) {
  FakeKmsClient kms("eu-west-1", "222233334444");
  const std::string arn = kms.AddKey();
  kms.AddAlias("alias/tenant-acme", arn);
  GenerateDataKeyRequest g;
  g.key_id = "alias/tenant-acme";
  g.number_of_bytes = 32;
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse gr, kms.GenerateDataKey(g));
  EXPECT_EQ(gr.key_id, arn);
  EXPECT_EQ(gr.plaintext.size(), 32u);
  g.key_id = "arn:aws:kms:eu-west-1:222233334444:alias/tenant-acme";
  VEIL_EXPECT_OK(kms.GenerateDataKey(g));
  g.key_id = arn.substr(arn.find("key/") + 4);  // bare key id
  VEIL_EXPECT_OK(kms.GenerateDataKey(g));
  g.key_id = "alias/missing";
  EXPECT_EQ(GetKmsErrorType(kms.GenerateDataKey(g).status()), ErrorType::kNotFound);
  g.key_id = "arn:aws:kms:us-east-1:222233334444:key/" + arn.substr(arn.find("key/") + 4);
  EXPECT_EQ(GetKmsErrorType(kms.GenerateDataKey(g).status()), ErrorType::kNotFound);
}

TEST(FakeKmsClientTest, DecryptChecksTheNamedKeyAndKeyState) {
  FakeKmsClient kms;
  const std::string a = kms.AddKey();
  const std::string b = kms.AddKey();
  EncryptRequest enc;
  enc.key_id = a;
  enc.plaintext = Secret("k");
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptResponse er, kms.Encrypt(enc));
  DecryptRequest dec;
  dec.ciphertext_blob = er.ciphertext_blob;
  dec.key_id = b;
  EXPECT_EQ(GetKmsErrorType(kms.Decrypt(dec).status()), ErrorType::kIncorrectKey);
  dec.key_id = a;
  VEIL_EXPECT_OK(kms.Decrypt(dec));
  VEIL_ASSERT_OK(kms.DisableKey({a}));
  EXPECT_EQ(GetKmsErrorType(kms.Decrypt(dec).status()), ErrorType::kDisabled);
  VEIL_ASSERT_OK(kms.EnableKey({a}));
  VEIL_EXPECT_OK(kms.Decrypt(dec));
}

TEST(FakeKmsClientTest, RecipientGetsCiphertextForRecipient) {
  FakeKmsClient kms;
  const std::string arn = kms.AddKey();
  VEIL_ASSERT_OK_AND_ASSIGN(auto rsa, crypto::RsaPrivateKey::Generate(2048));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> spki, crypto::RecipientPublicKeyDer(*rsa));
  GenerateDataKeyRequest g;
  g.key_id = arn;
  g.number_of_bytes = 32;
  g.recipient = Recipient{key_encryption_algorithm::kRsaesOaepSha256, spki};
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse gr, kms.GenerateDataKey(g));
  EXPECT_TRUE(gr.plaintext.empty());
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes pdk,
                            crypto::DecryptEnvelopedData(gr.ciphertext_for_recipient, *rsa));
  EXPECT_EQ(pdk.size(), 32u);

  DecryptRequest d;
  d.ciphertext_blob = gr.ciphertext_blob;
  d.recipient = g.recipient;
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse dr, kms.Decrypt(d));
  EXPECT_TRUE(dr.plaintext.empty());
  VEIL_ASSERT_OK_AND_ASSIGN(SecretBytes again,
                            crypto::DecryptEnvelopedData(dr.ciphertext_for_recipient, *rsa));
  EXPECT_EQ(Str(again), Str(pdk));

  GenerateRandomRequest rnd;
  rnd.number_of_bytes = 16;
  rnd.recipient = g.recipient;
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateRandomResponse rr, kms.GenerateRandom(rnd));
  EXPECT_TRUE(rr.plaintext.empty());
  VEIL_EXPECT_OK(crypto::DecryptEnvelopedData(rr.ciphertext_for_recipient, *rsa));

  kms.set_ignore_recipient(true);
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse leaked, kms.Decrypt(d));
  EXPECT_EQ(leaked.plaintext.size(), 32u);
  EXPECT_TRUE(leaked.ciphertext_for_recipient.empty());

  d.recipient->attestation_document = {1, 2, 3};  // not an SPKI
  kms.set_ignore_recipient(false);
  EXPECT_EQ(GetKmsErrorType(kms.Decrypt(d).status()), ErrorType::kValidation);
}

TEST(FakeKmsClientTest, RecordsCallsAndInjectsFailures) {
  FakeKmsClient kms;
  const std::string arn = kms.AddKey();
  GenerateDataKeyRequest g;
  g.key_id = arn;
  g.number_of_bytes = 32;
  g.encryption_context = {{"a", "b"}};
  g.grant_tokens = {"t"};
  kms.FailNext("GenerateDataKey", KmsError(ErrorType::kThrottling, "slow down"));
  EXPECT_THAT(kms.GenerateDataKey(g), StatusIs(absl::StatusCode::kResourceExhausted));
  VEIL_EXPECT_OK(kms.GenerateDataKey(g));
  const std::vector<FakeKmsCall> calls = kms.Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].operation, "GenerateDataKey");
  EXPECT_EQ(calls[1].key_id, arn);
  EXPECT_EQ(calls[1].number_of_bytes, 32);
  EXPECT_EQ(calls[1].encryption_context, g.encryption_context);
  EXPECT_EQ(calls[1].grant_tokens, g.grant_tokens);
  EXPECT_FALSE(calls[1].recipient.has_value());
  kms.ClearCalls();
  EXPECT_TRUE(kms.Calls().empty());

  kms.set_answer_key_id("arn:aws:kms:us-west-2:111122223333:key/other");
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse lied, kms.GenerateDataKey(g));
  EXPECT_EQ(lied.key_id, "arn:aws:kms:us-west-2:111122223333:key/other");
}

TEST(FakeKmsClientTest, KeyAndAliasManagement) {
  FakeKmsClient kms;
  CreateKeyRequest c;
  c.description = "tenant acme";
  VEIL_ASSERT_OK_AND_ASSIGN(CreateKeyResponse cr, kms.CreateKey(c));
  const std::string arn = cr.key_metadata.arn;
  VEIL_ASSERT_OK(kms.CreateAlias({"alias/acme", arn}));
  EXPECT_EQ(GetKmsErrorType(kms.CreateAlias({"alias/acme", arn})), ErrorType::kAlreadyExists);
  EXPECT_EQ(GetKmsErrorType(kms.CreateAlias({"alias/aws/x", arn})), ErrorType::kInvalidAliasName);
  VEIL_ASSERT_OK_AND_ASSIGN(DescribeKeyResponse d, kms.DescribeKey({"alias/acme"}));
  EXPECT_EQ(d.key_metadata.arn, arn);
  EXPECT_EQ(d.key_metadata.description, "tenant acme");
  VEIL_ASSERT_OK_AND_ASSIGN(ListAliasesResponse la, kms.ListAliases({}));
  ASSERT_EQ(la.aliases.size(), 1u);
  EXPECT_EQ(la.aliases[0].target_key_id, cr.key_metadata.key_id);
  VEIL_ASSERT_OK_AND_ASSIGN(ListKeysResponse lk, kms.ListKeys({}));
  EXPECT_EQ(lk.keys.size(), 1u);
  VEIL_ASSERT_OK(kms.DeleteAlias({"alias/acme"}));
  EXPECT_EQ(GetKmsErrorType(kms.DeleteAlias({"alias/acme"})), ErrorType::kNotFound);
  EXPECT_EQ(GetKmsErrorType(kms.PutKeyPolicy({arn, "default", "{}"})),
            ErrorType::kUnsupportedOperation);
}

TEST(FakeKmsClientTest, ReEncryptMovesBetweenKeysAndContexts) {
  FakeKmsClient kms;
  const std::string a = kms.AddKey();
  const std::string b = kms.AddKey();
  EncryptRequest enc;
  enc.key_id = a;
  enc.plaintext = Secret("k");
  enc.encryption_context = {{"x", "1"}};
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptResponse er, kms.Encrypt(enc));
  ReEncryptRequest re;
  re.ciphertext_blob = er.ciphertext_blob;
  re.source_encryption_context = {{"x", "1"}};
  re.destination_key_id = b;
  re.destination_encryption_context = {{"y", "2"}};
  VEIL_ASSERT_OK_AND_ASSIGN(ReEncryptResponse rr, kms.ReEncrypt(re));
  EXPECT_EQ(rr.source_key_id, a);
  EXPECT_EQ(rr.key_id, b);
  DecryptRequest dec;
  dec.ciphertext_blob = rr.ciphertext_blob;
  dec.encryption_context = {{"y", "2"}};
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse dr, kms.Decrypt(dec));
  EXPECT_EQ(Str(dr.plaintext), "k");
}

TEST(FakeKmsServerTest, ServesTheFakeOverHttpWithSigV4) {
  auto kms = std::make_shared<FakeKmsClient>("eu-west-1", "111122223333");
  const std::string arn = kms->AddKey();
  VEIL_ASSERT_OK_AND_ASSIGN(auto server,
                            FakeKmsServer::Start(kms, {{"AKIDTEST", "secret"}}, "eu-west-1"));
  HttpKmsClientOptions o;
  o.endpoint = server->url();
  o.region = "eu-west-1";
  o.credentials = AwsCredentials{"AKIDTEST", Secret("secret"), ""};
  VEIL_ASSERT_OK_AND_ASSIGN(auto client, HttpKmsClient::Create(std::move(o)));

  GenerateDataKeyRequest g;
  g.key_id = arn;
  g.number_of_bytes = 32;
  g.encryption_context = {{"tenant", "acme"}};
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse gr, client->GenerateDataKey(g));
  DecryptRequest d;
  d.ciphertext_blob = gr.ciphertext_blob;
  d.encryption_context = g.encryption_context;
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse dr, client->Decrypt(d));
  EXPECT_EQ(Str(dr.plaintext), Str(gr.plaintext));
  EXPECT_EQ(server->requests(), 2);

  // Errors keep their AWS type across the wire.
  d.encryption_context = {{"tenant", "other"}};
  EXPECT_EQ(GetKmsErrorType(client->Decrypt(d).status()), ErrorType::kInvalidCiphertext);
  EXPECT_EQ(GetKmsErrorType(client->DescribeKey({"alias/none"}).status()), ErrorType::kNotFound);

  HttpKmsClientOptions bad;
  bad.endpoint = server->url();
  bad.region = "eu-west-1";
  bad.credentials = AwsCredentials{"AKIDTEST", Secret("wrong"), ""};
  VEIL_ASSERT_OK_AND_ASSIGN(auto intruder, HttpKmsClient::Create(std::move(bad)));
  EXPECT_EQ(GetKmsErrorType(intruder->DescribeKey({arn}).status()), ErrorType::kInvalidSignature);
}

}  // namespace
}  // namespace veil::kms::testing
