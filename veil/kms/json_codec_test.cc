// Golden JSON tests for every KMS request and response (STYLE.md C9, after
// aws-nitro-enclaves-sdk-c tests/kmstool-enclaves/kms_test.c): exact bytes
// on encode; decode of AWS-shaped bodies, including unknown fields, nulls,
// missing required fields, wrong JSON types and out-of-set enum values.
#include "veil/kms/json_codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "veil/testing/status_matchers.h"

namespace veil::kms {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }
SecretBytes Secret(std::string_view s) { return SecretBytes::Copy(Bytes(s)); }
std::string Str(const SecretBytes& s) {
  return std::string(s.Expose().begin(), s.Expose().end());
}

constexpr char kKeyArn[] =
    "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

// Encoded checks EncodeJson's output byte for byte.
template <typename T>
void ExpectEncodes(const T& value, const std::string& golden) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::string got, EncodeJson(value));
  EXPECT_EQ(got, golden);
}

// ExpectError checks the absl code, the AWS type and part of the message.
template <typename T>
void ExpectError(const absl::StatusOr<T>& got, ErrorType type, std::string_view message) {
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  EXPECT_EQ(GetKmsErrorType(got.status()), type) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(std::string(message)));
}

// ReEncodes checks that decoding `golden` and encoding again gives it back.
template <typename T>
void ExpectRoundTrip(const std::string& golden) {
  VEIL_ASSERT_OK_AND_ASSIGN(T decoded, DecodeJson<T>(golden));
  VEIL_ASSERT_OK_AND_ASSIGN(std::string again, EncodeJson(decoded));
  EXPECT_EQ(again, golden);
}

// --- Encrypt --------------------------------------------------------------

TEST(KmsJsonTest, EncryptRequest) {
  EncryptRequest r;
  r.key_id = "alias/ExampleAlias";
  r.plaintext = Secret("hello");
  r.encryption_context = {{"purpose", "test"}, {"aws-crypto-public-key", "A+/="}};
  r.grant_tokens = {"token-1"};
  const std::string golden =
      R"({"KeyId":"alias/ExampleAlias","Plaintext":"aGVsbG8=",)"
      R"("EncryptionContext":{"aws-crypto-public-key":"A+/=","purpose":"test"},)"
      R"("GrantTokens":["token-1"]})";
  ExpectEncodes(r, golden);
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptRequest d, DecodeJson<EncryptRequest>(golden));
  EXPECT_EQ(d.key_id, r.key_id);
  EXPECT_EQ(Str(d.plaintext), "hello");
  EXPECT_EQ(d.encryption_context, r.encryption_context);
  EXPECT_EQ(d.grant_tokens, r.grant_tokens);
  EXPECT_EQ(d.dry_run, std::nullopt);
}

TEST(KmsJsonTest, EncryptRequestMissingRequiredFields) {
  ExpectError(DecodeJson<EncryptRequest>(R"({"Plaintext":"aGVsbG8="})"), ErrorType::kValidation,
              "Value null at 'keyId' failed to satisfy constraint: Member must not be null");
  ExpectError(DecodeJson<EncryptRequest>(R"({"KeyId":"k"})"), ErrorType::kValidation,
              "'plaintext'");
  ExpectError(DecodeJson<EncryptRequest>(R"({"KeyId":"k","Plaintext":null})"),
              ErrorType::kValidation, "'plaintext'");
}

TEST(KmsJsonTest, EncryptRequestWithUnknownFields) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      EncryptRequest d,
      DecodeJson<EncryptRequest>(
          R"({"KeyId":"k","Plaintext":"AA==","FutureField":{"nested":[1,2,{"x":null}]},"Z":1})"));
  EXPECT_EQ(d.key_id, "k");
  EXPECT_EQ(d.plaintext.size(), 1u);
}

TEST(KmsJsonTest, EncryptRequestEnumIsCheckedOnRequests) {
  ExpectError(
      DecodeJson<EncryptRequest>(R"({"KeyId":"k","Plaintext":"AA==","EncryptionAlgorithm":"ROT13"})"),
      ErrorType::kValidation,
      "Value 'ROT13' at 'encryptionAlgorithm' failed to satisfy constraint: Member must satisfy "
      "enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]");
}

TEST(KmsJsonTest, EncryptResponse) {
  const std::string golden = std::string(R"({"CiphertextBlob":"AQID","KeyId":")") + kKeyArn +
                             R"(","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"})";
  ExpectRoundTrip<EncryptResponse>(golden);
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptResponse d, DecodeJson<EncryptResponse>(golden));
  EXPECT_EQ(d.ciphertext_blob, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(d.key_id, kKeyArn);
}

TEST(KmsJsonTest, ResponseEnumsAreLenient) {
  // A value AWS may add later must not break a client.
  VEIL_ASSERT_OK_AND_ASSIGN(
      EncryptResponse d,
      DecodeJson<EncryptResponse>(R"({"KeyId":"k","EncryptionAlgorithm":"FUTURE_ALGORITHM"})"));
  EXPECT_EQ(d.encryption_algorithm, "FUTURE_ALGORITHM");
}

// --- Decrypt --------------------------------------------------------------

TEST(KmsJsonTest, DecryptRequestWithRecipient) {
  DecryptRequest r;
  r.ciphertext_blob = {0xde, 0xad};
  r.encryption_context = {{"tenant", "acme"}};
  r.key_id = kKeyArn;
  r.recipient = Recipient{key_encryption_algorithm::kRsaesOaepSha256, {0x84, 0x44}};
  const std::string golden = std::string(R"({"CiphertextBlob":"3q0=",)") +
                             R"("EncryptionContext":{"tenant":"acme"},"KeyId":")" + kKeyArn +
                             R"(","Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256",)"
                             R"("AttestationDocument":"hEQ="}})";
  ExpectEncodes(r, golden);
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptRequest d, DecodeJson<DecryptRequest>(golden));
  ASSERT_TRUE(d.recipient.has_value());
  EXPECT_EQ(d.recipient->key_encryption_algorithm, "RSAES_OAEP_SHA_256");
  EXPECT_EQ(d.recipient->attestation_document, (std::vector<uint8_t>{0x84, 0x44}));
  ExpectRoundTrip<DecryptRequest>(golden);
}

TEST(KmsJsonTest, DecryptRequestErrors) {
  ExpectError(DecodeJson<DecryptRequest>(R"({})"), ErrorType::kValidation, "'ciphertextBlob'");
  ExpectError(DecodeJson<DecryptRequest>(R"({"CiphertextBlob":"not base64!"})"),
              ErrorType::kSerialization, "'ciphertextBlob' is not valid Base64");
  ExpectError(DecodeJson<DecryptRequest>(R"({"CiphertextBlob":42})"), ErrorType::kSerialization,
              "'ciphertextBlob' must be a Base64 string");
  ExpectError(DecodeJson<DecryptRequest>(R"({"CiphertextBlob":"AA==","EncryptionContext":{"a":1}})"),
              ErrorType::kSerialization, "'encryptionContext' must be an object of strings");
  ExpectError(DecodeJson<DecryptRequest>(R"({"CiphertextBlob":"AA==","GrantTokens":"t"})"),
              ErrorType::kSerialization, "'grantTokens' must be a list of strings");
  ExpectError(DecodeJson<DecryptRequest>(
                  R"({"CiphertextBlob":"AA==","Recipient":{"KeyEncryptionAlgorithm":"RSA_PKCS1"}})"),
              ErrorType::kValidation, "'recipient.keyEncryptionAlgorithm'");
  ExpectError(DecodeJson<DecryptRequest>(R"({"CiphertextBlob":"AA==","Recipient":[]})"),
              ErrorType::kSerialization, "'recipient' must be an object");
}

TEST(KmsJsonTest, DecryptResponseWithPlaintext) {
  const std::string golden = std::string(R"({"KeyId":")") + kKeyArn +
                             R"(","Plaintext":"c2VjcmV0","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"})";
  VEIL_ASSERT_OK_AND_ASSIGN(DecryptResponse d, DecodeJson<DecryptResponse>(golden));
  EXPECT_EQ(Str(d.plaintext), "secret");
  EXPECT_TRUE(d.ciphertext_for_recipient.empty());
  ExpectRoundTrip<DecryptResponse>(golden);
}

TEST(KmsJsonTest, DecryptResponseForRecipientHasNullPlaintext) {
  // With a Recipient, AWS returns Plaintext null and CiphertextForRecipient.
  VEIL_ASSERT_OK_AND_ASSIGN(
      DecryptResponse d,
      DecodeJson<DecryptResponse>(std::string(R"({"KeyId":")") + kKeyArn +
                                  R"(","Plaintext":null,"CiphertextForRecipient":"MIAGCSqG",)"
                                  R"("EncryptionAlgorithm":"SYMMETRIC_DEFAULT","KeyMaterialId":"x"})"));
  EXPECT_TRUE(d.plaintext.empty());
  EXPECT_EQ(d.ciphertext_for_recipient, (std::vector<uint8_t>{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86}));
}

// --- ReEncrypt -------------------------------------------------------------

TEST(KmsJsonTest, ReEncrypt) {
  ReEncryptRequest r;
  r.ciphertext_blob = {1};
  r.source_encryption_context = {{"a", "1"}};
  r.destination_key_id = "alias/dest";
  r.destination_encryption_context = {{"b", "2"}};
  const std::string golden =
      R"({"CiphertextBlob":"AQ==","SourceEncryptionContext":{"a":"1"},)"
      R"("DestinationKeyId":"alias/dest","DestinationEncryptionContext":{"b":"2"}})";
  ExpectEncodes(r, golden);
  ExpectRoundTrip<ReEncryptRequest>(golden);
  ExpectError(DecodeJson<ReEncryptRequest>(R"({"CiphertextBlob":"AQ=="})"),
              ErrorType::kValidation, "'destinationKeyId'");
  ExpectRoundTrip<ReEncryptResponse>(
      R"({"CiphertextBlob":"AQ==","SourceKeyId":"arn:s","KeyId":"arn:d",)"
      R"("SourceEncryptionAlgorithm":"SYMMETRIC_DEFAULT",)"
      R"("DestinationEncryptionAlgorithm":"SYMMETRIC_DEFAULT"})");
}

// --- GenerateDataKey -------------------------------------------------------

TEST(KmsJsonTest, GenerateDataKeyRequest) {
  GenerateDataKeyRequest r;
  r.key_id = kKeyArn;
  r.encryption_context = {{"aws-crypto-public-key", "AjTV"}, {"tenant", "acme"}};
  r.number_of_bytes = 32;
  r.grant_tokens = {"g1", "g2"};
  const std::string golden = std::string(R"({"KeyId":")") + kKeyArn +
                             R"(","EncryptionContext":{"aws-crypto-public-key":"AjTV",)"
                             R"("tenant":"acme"},"NumberOfBytes":32,"GrantTokens":["g1","g2"]})";
  ExpectEncodes(r, golden);
  ExpectRoundTrip<GenerateDataKeyRequest>(golden);
  ExpectError(DecodeJson<GenerateDataKeyRequest>(R"({"KeyId":"k","KeySpec":"AES_512"})"),
              ErrorType::kValidation, "[AES_256, AES_128]");
  ExpectError(DecodeJson<GenerateDataKeyRequest>(R"({"KeyId":"k","NumberOfBytes":32.5})"),
              ErrorType::kSerialization, "'numberOfBytes' must be a 32-bit integer");
  ExpectError(DecodeJson<GenerateDataKeyRequest>(R"({"KeyId":"k","NumberOfBytes":4294967296})"),
              ErrorType::kSerialization, "32-bit integer");
  ExpectError(DecodeJson<GenerateDataKeyRequest>(R"({"KeyId":"k","NumberOfBytes":"32"})"),
              ErrorType::kSerialization, "32-bit integer");
}

TEST(KmsJsonTest, GenerateDataKeyResponse) {
  const std::string golden = std::string(R"({"CiphertextBlob":"AQIDBA==",)") +
                             R"("Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","KeyId":")" +
                             kKeyArn + R"("})";
  VEIL_ASSERT_OK_AND_ASSIGN(GenerateDataKeyResponse d, DecodeJson<GenerateDataKeyResponse>(golden));
  ASSERT_EQ(d.plaintext.size(), 32u);
  EXPECT_EQ(d.plaintext.Expose()[31], 31);
  ExpectRoundTrip<GenerateDataKeyResponse>(golden);
  ExpectRoundTrip<GenerateDataKeyResponse>(std::string(R"({"CiphertextBlob":"AQ==","KeyId":")") +
                                           kKeyArn + R"(","CiphertextForRecipient":"MIA="})");
}

TEST(KmsJsonTest, GenerateDataKeyWithoutPlaintext) {
  ExpectRoundTrip<GenerateDataKeyWithoutPlaintextRequest>(
      R"({"KeyId":"alias/a","EncryptionContext":{"k":"v"},"KeySpec":"AES_256"})");
  ExpectRoundTrip<GenerateDataKeyWithoutPlaintextResponse>(
      R"({"CiphertextBlob":"AQ==","KeyId":"arn:aws:kms:us-east-1:1:key/x"})");
  ExpectError(DecodeJson<GenerateDataKeyWithoutPlaintextRequest>(R"({"KeySpec":"AES_256"})"),
              ErrorType::kValidation, "'keyId'");
}

// --- GenerateRandom ---------------------------------------------------------

TEST(KmsJsonTest, GenerateRandom) {
  GenerateRandomRequest r;
  r.number_of_bytes = 16;
  r.recipient = Recipient{key_encryption_algorithm::kRsaesOaepSha256, {1, 2, 3}};
  const std::string golden =
      R"({"NumberOfBytes":16,"Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256",)"
      R"("AttestationDocument":"AQID"}})";
  ExpectEncodes(r, golden);
  ExpectRoundTrip<GenerateRandomRequest>(golden);
  ExpectRoundTrip<GenerateRandomRequest>("{}");
  ExpectRoundTrip<GenerateRandomResponse>(R"({"Plaintext":"AAAAAA=="})");
  ExpectRoundTrip<GenerateRandomResponse>(R"({"CiphertextForRecipient":"MIA="})");
}

// --- Keys --------------------------------------------------------------------

// A DescribeKey response in the shape the AWS KMS API reference shows,
// with a fractional CreationDate and fields Veil does not model.
constexpr char kDescribeKeyResponse[] = R"({
  "KeyMetadata": {
    "AWSAccountId": "111122223333",
    "Arn": "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "CreationDate": 1.499288695918E9,
    "CurrentKeyMaterialId": "cb92e8c4f5f3a1a9b4b8ad4e2d7d8b2ce7f2a3e1b9c8d7e6f5a4b3c2d1e0f9a8",
    "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
    "Description": "",
    "Enabled": true,
    "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
    "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "KeyManager": "CUSTOMER",
    "KeySpec": "SYMMETRIC_DEFAULT",
    "KeyState": "Enabled",
    "KeyUsage": "ENCRYPT_DECRYPT",
    "MultiRegion": false,
    "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY"},
    "Origin": "AWS_KMS"
  }
})";

TEST(KmsJsonTest, DescribeKeyResponseFromAws) {
  VEIL_ASSERT_OK_AND_ASSIGN(DescribeKeyResponse d,
                            DecodeJson<DescribeKeyResponse>(kDescribeKeyResponse));
  const KeyMetadata& m = d.key_metadata;
  EXPECT_EQ(m.aws_account_id, "111122223333");
  EXPECT_EQ(m.key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");
  EXPECT_EQ(m.arn, kKeyArn);
  EXPECT_EQ(m.creation_date, absl::FromUnixMillis(1499288695918));
  EXPECT_EQ(m.enabled, true);
  EXPECT_EQ(m.key_state, key_state::kEnabled);
  EXPECT_EQ(m.encryption_algorithms, std::vector<std::string>{"SYMMETRIC_DEFAULT"});
  EXPECT_EQ(m.multi_region, false);
  VEIL_ASSERT_OK_AND_ASSIGN(std::string encoded, EncodeJson(d));
  EXPECT_EQ(encoded,
            std::string(R"({"KeyMetadata":{"AWSAccountId":"111122223333",)"
                        R"("KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Arn":")") +
                kKeyArn +
                R"(","CreationDate":1499288695.918,"Enabled":true,"KeyUsage":"ENCRYPT_DECRYPT",)"
                R"("KeyState":"Enabled","Origin":"AWS_KMS","KeyManager":"CUSTOMER",)"
                R"("CustomerMasterKeySpec":"SYMMETRIC_DEFAULT","KeySpec":"SYMMETRIC_DEFAULT",)"
                R"("EncryptionAlgorithms":["SYMMETRIC_DEFAULT"],"MultiRegion":false}})");
}

TEST(KmsJsonTest, KeyMetadataRequiresKeyId) {
  ExpectError(DecodeJson<DescribeKeyResponse>(R"({})"), ErrorType::kValidation, "'keyMetadata'");
  ExpectError(DecodeJson<DescribeKeyResponse>(R"({"KeyMetadata":{"Arn":"a"}})"),
              ErrorType::kValidation, "'keyMetadata.keyId'");
  ExpectError(DecodeJson<DescribeKeyResponse>(R"({"KeyMetadata":{"KeyId":"k","CreationDate":"x"}})"),
              ErrorType::kSerialization, "'keyMetadata.creationDate' must be epoch seconds");
}

TEST(KmsJsonTest, CreateKey) {
  CreateKeyRequest r;
  r.description = "tenant \"acme\"\n";
  r.key_usage = key_usage::kEncryptDecrypt;
  r.key_spec = key_spec::kSymmetricDefault;
  r.tags = {{"team", "ml"}};
  const std::string golden =
      R"({"Description":"tenant \"acme\"\n","KeyUsage":"ENCRYPT_DECRYPT",)"
      R"("KeySpec":"SYMMETRIC_DEFAULT","Tags":[{"TagKey":"team","TagValue":"ml"}]})";
  ExpectEncodes(r, golden);
  ExpectRoundTrip<CreateKeyRequest>(golden);
  ExpectRoundTrip<CreateKeyRequest>("{}");
  ExpectError(DecodeJson<CreateKeyRequest>(R"({"KeyUsage":"DECRYPT_ONLY"})"),
              ErrorType::kValidation, "'keyUsage'");
  ExpectError(DecodeJson<CreateKeyRequest>(R"({"Tags":[{"TagKey":"t"}]})"),
              ErrorType::kValidation, "'tags.member.tagValue'");
  // The deprecated CustomerMasterKeySpec is read as KeySpec.
  VEIL_ASSERT_OK_AND_ASSIGN(CreateKeyRequest d,
                            DecodeJson<CreateKeyRequest>(R"({"CustomerMasterKeySpec":"RSA_2048"})"));
  EXPECT_EQ(d.key_spec, "RSA_2048");
  ExpectRoundTrip<CreateKeyResponse>(R"({"KeyMetadata":{"KeyId":"k","Enabled":true}})");
}

TEST(KmsJsonTest, DescribeKeyAndListKeys) {
  ExpectRoundTrip<DescribeKeyRequest>(R"({"KeyId":"alias/a","GrantTokens":["t"]})");
  ExpectRoundTrip<ListKeysRequest>(R"({"Limit":100,"Marker":"m"})");
  ExpectRoundTrip<ListKeysRequest>("{}");
  ExpectRoundTrip<ListKeysResponse>(
      R"({"Keys":[{"KeyId":"a","KeyArn":"arn:a"},{"KeyId":"b","KeyArn":"arn:b"}],)"
      R"("NextMarker":"n","Truncated":true})");
  ExpectRoundTrip<ListKeysResponse>(R"({"Keys":[],"Truncated":false})");
  ExpectError(DecodeJson<ListKeysResponse>(R"({"Keys":[1]})"), ErrorType::kSerialization,
              "'keys' must be a list of objects");
}

// --- Aliases -------------------------------------------------------------------

TEST(KmsJsonTest, Aliases) {
  ExpectRoundTrip<CreateAliasRequest>(R"({"AliasName":"alias/a","TargetKeyId":"k"})");
  ExpectRoundTrip<UpdateAliasRequest>(R"({"AliasName":"alias/a","TargetKeyId":"k"})");
  ExpectRoundTrip<DeleteAliasRequest>(R"({"AliasName":"alias/a"})");
  ExpectError(DecodeJson<CreateAliasRequest>(R"({"AliasName":"alias/a"})"), ErrorType::kValidation,
              "'targetKeyId'");
  ExpectError(DecodeJson<DeleteAliasRequest>(R"({"AliasName":""})"), ErrorType::kValidation,
              "Value '' at 'aliasName' failed to satisfy constraint: Member must have length "
              "greater than or equal to 1");
  ExpectRoundTrip<ListAliasesRequest>(R"({"KeyId":"k","Limit":10})");
  ExpectRoundTrip<ListAliasesResponse>(
      R"({"Aliases":[{"AliasName":"alias/a","AliasArn":"arn:aws:kms:us-east-1:1:alias/a",)"
      R"("TargetKeyId":"k","CreationDate":1700000000,"LastUpdatedDate":1700000000.5}],)"
      R"("Truncated":false})");
  ExpectRoundTrip<ListAliasesResponse>(R"({"Aliases":[]})");
}

// --- Policies, state, rotation -------------------------------------------------

TEST(KmsJsonTest, KeyPolicies) {
  ExpectRoundTrip<GetKeyPolicyRequest>(R"({"KeyId":"k","PolicyName":"default"})");
  ExpectRoundTrip<GetKeyPolicyResponse>(
      R"({"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[]}","PolicyName":"default"})");
  ExpectRoundTrip<PutKeyPolicyRequest>(
      R"({"KeyId":"k","Policy":"{}","BypassPolicyLockoutSafetyCheck":false})");
  ExpectError(DecodeJson<PutKeyPolicyRequest>(R"({"KeyId":"k"})"), ErrorType::kValidation,
              "'policy'");
}

TEST(KmsJsonTest, KeyStateAndRotation) {
  ExpectRoundTrip<KeyIdRequest>(R"({"KeyId":"k"})");
  ExpectError(DecodeJson<KeyIdRequest>(R"({"keyid":"k"})"), ErrorType::kValidation, "'keyId'");
  ExpectRoundTrip<ScheduleKeyDeletionRequest>(R"({"KeyId":"k","PendingWindowInDays":7})");
  ExpectRoundTrip<ScheduleKeyDeletionResponse>(
      R"({"KeyId":"arn:k","DeletionDate":1700604800,"KeyState":"PendingDeletion",)"
      R"("PendingWindowInDays":7})");
  ExpectRoundTrip<CancelKeyDeletionResponse>(R"({"KeyId":"arn:k"})");
  ExpectRoundTrip<EnableKeyRotationRequest>(R"({"KeyId":"k","RotationPeriodInDays":365})");
  ExpectRoundTrip<GetKeyRotationStatusResponse>(
      R"({"KeyRotationEnabled":true,"KeyId":"arn:k","RotationPeriodInDays":365,)"
      R"("NextRotationDate":1731536000})");
  ExpectRoundTrip<GetKeyRotationStatusResponse>(R"({"KeyRotationEnabled":false})");
}

// --- Empty and error bodies, and malformed input ---------------------------------

TEST(KmsJsonTest, EmptyResponse) {
  ExpectEncodes(EmptyResponse{}, "{}");
  VEIL_EXPECT_OK(DecodeJson<EmptyResponse>(""));
  VEIL_EXPECT_OK(DecodeJson<EmptyResponse>("{}"));
  VEIL_EXPECT_OK(DecodeJson<EmptyResponse>(R"({"unexpected":true})"));
}

TEST(KmsJsonTest, ErrorResponse) {
  ExpectEncodes(ErrorResponse{"NotFoundException", "Key 'x' does not exist"},
                R"({"__type":"NotFoundException","message":"Key 'x' does not exist"})");
  VEIL_ASSERT_OK_AND_ASSIGN(
      ErrorResponse d,
      DecodeJson<ErrorResponse>(
          R"({"__type":"com.amazonaws.kms#KMSInvalidStateException","Message":"disabled"})"));
  EXPECT_EQ(ParseErrorType(d.type), ErrorType::kInvalidState);
  EXPECT_EQ(d.message, "disabled");
}

TEST(KmsJsonTest, MalformedBodies) {
  for (const char* body : {"", "[]", "\"KeyId\"", "{", R"({"KeyId":"k",})", "null", "42",
                           R"({"KeyId":"k"} trailing)"}) {
    SCOPED_TRACE(body);
    ExpectError(DecodeJson<KeyIdRequest>(body), ErrorType::kSerialization, "");
  }
}

TEST(KmsJsonTest, JsonNullIsAbsent) {
  VEIL_ASSERT_OK_AND_ASSIGN(
      GenerateDataKeyRequest d,
      DecodeJson<GenerateDataKeyRequest>(
          R"({"KeyId":"k","NumberOfBytes":null,"EncryptionContext":null,"Recipient":null})"));
  EXPECT_EQ(d.number_of_bytes, std::nullopt);
  EXPECT_TRUE(d.encryption_context.empty());
  EXPECT_FALSE(d.recipient.has_value());
}

TEST(KmsJsonTest, StringEscapesAndUtf8) {
  EncryptRequest r;
  r.key_id = "k";
  r.plaintext = Secret("x");
  r.encryption_context = {{"caf\xc3\xa9", "a\x01\"\\/b"}};
  VEIL_ASSERT_OK_AND_ASSIGN(std::string body, EncodeJson(r));
  EXPECT_EQ(body,
            "{\"KeyId\":\"k\",\"Plaintext\":\"eA==\",\"EncryptionContext\":{\"caf\xc3\xa9\":"
            "\"a\\u0001\\\"\\\\/b\"}}");
  VEIL_ASSERT_OK_AND_ASSIGN(EncryptRequest d, DecodeJson<EncryptRequest>(body));
  EXPECT_EQ(d.encryption_context, r.encryption_context);
  // \u escapes, including a surrogate pair, decode to UTF-8.
  VEIL_ASSERT_OK_AND_ASSIGN(
      EncryptRequest e,
      DecodeJson<EncryptRequest>(R"({"KeyId":"\u00e9\ud83d\ude00","Plaintext":"eA=="})"));
  EXPECT_EQ(e.key_id, "\xc3\xa9\xf0\x9f\x98\x80");

  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    r.encryption_context = {{"k", bad}};
    EXPECT_THAT(EncodeJson(r), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST(KmsJsonTest, Timestamps) {
  GetKeyRotationStatusResponse r;
  r.next_rotation_date = absl::FromUnixMillis(1700000000001);
  VEIL_ASSERT_OK_AND_ASSIGN(std::string body, EncodeJson(r));
  EXPECT_EQ(body, R"({"NextRotationDate":1700000000.001})");
  for (const auto& [text, millis] : std::vector<std::pair<std::string, int64_t>>{
           {"1700000000", 1700000000000}, {"1.7E9", 1700000000000}, {"1700000000.25", 1700000000250}}) {
    VEIL_ASSERT_OK_AND_ASSIGN(GetKeyRotationStatusResponse d,
                              DecodeJson<GetKeyRotationStatusResponse>(
                                  R"({"NextRotationDate":)" + text + "}"));
    EXPECT_EQ(d.next_rotation_date, absl::FromUnixMillis(millis)) << text;
  }
  ExpectError(DecodeJson<GetKeyRotationStatusResponse>(R"({"NextRotationDate":1e300})"),
              ErrorType::kSerialization, "epoch seconds");
}

TEST(KmsErrorTest, TypesNamesAndCodes) {
  struct Case {
    ErrorType type;
    const char* name;
    int http;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {ErrorType::kNotFound, "NotFoundException", 400, absl::StatusCode::kNotFound},
      {ErrorType::kDisabled, "DisabledException", 400, absl::StatusCode::kFailedPrecondition},
      {ErrorType::kInvalidState, "KMSInvalidStateException", 400,
       absl::StatusCode::kFailedPrecondition},
      {ErrorType::kAccessDenied, "AccessDeniedException", 400,
       absl::StatusCode::kPermissionDenied},
      {ErrorType::kThrottling, "ThrottlingException", 400, absl::StatusCode::kResourceExhausted},
      {ErrorType::kInternal, "KMSInternalException", 500, absl::StatusCode::kInternal},
      {ErrorType::kDependencyTimeout, "DependencyTimeoutException", 500,
       absl::StatusCode::kUnavailable},
      {ErrorType::kUnrecognizedClient, "UnrecognizedClientException", 400,
       absl::StatusCode::kUnauthenticated},
      {ErrorType::kInvalidSignature, "InvalidSignatureException", 400,
       absl::StatusCode::kUnauthenticated},
      {ErrorType::kAlreadyExists, "AlreadyExistsException", 400, absl::StatusCode::kAlreadyExists},
      {ErrorType::kValidation, "ValidationException", 400, absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_STREQ(ErrorTypeName(c.type), c.name);
    EXPECT_EQ(ErrorHttpStatus(c.type), c.http);
    EXPECT_EQ(ErrorStatusCode(c.type), c.code);
    EXPECT_EQ(ParseErrorType(c.name), c.type);
    absl::Status s = KmsError(c.type, "details");
    EXPECT_EQ(s.code(), c.code);
    EXPECT_EQ(std::string(s.message()), std::string(c.name) + ": details");
    EXPECT_EQ(GetKmsErrorType(s), c.type);
  }
  EXPECT_EQ(ParseErrorType("NotFoundException:http://internal.amazon.com/coral/com.amazon.kms/"),
            ErrorType::kNotFound);
  EXPECT_EQ(ParseErrorType("SomethingNew"), std::nullopt);
  EXPECT_EQ(GetKmsErrorType(absl::NotFoundError("plain")), std::nullopt);
  EXPECT_TRUE(IsRetryable(ErrorType::kThrottling));
  EXPECT_FALSE(IsRetryable(ErrorType::kAccessDenied));
}

// --- Properties (STYLE.md C10) ----------------------------------------------------

RC_GTEST_PROP(KmsJsonProperty, DecodeInvertsEncode, ()) {
  // Any bytes in strings (valid UTF-8 is what AWS accepts; the generator
  // keeps to it by drawing code points) and blobs survive a round trip.
  auto text = rc::gen::map(rc::gen::container<std::vector<uint32_t>>(rc::gen::oneOf(
                               rc::gen::inRange<uint32_t>(0, 0x80),
                               rc::gen::inRange<uint32_t>(0x80, 0xd800),
                               rc::gen::inRange<uint32_t>(0xe000, 0x110000))),
                           [](const std::vector<uint32_t>& cps) {
                             std::string out;
                             for (uint32_t cp : cps) {
                               if (cp < 0x80) {
                                 out += static_cast<char>(cp);
                               } else if (cp < 0x800) {
                                 out += static_cast<char>(0xc0 | (cp >> 6));
                                 out += static_cast<char>(0x80 | (cp & 0x3f));
                               } else if (cp < 0x10000) {
                                 out += static_cast<char>(0xe0 | (cp >> 12));
                                 out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
                                 out += static_cast<char>(0x80 | (cp & 0x3f));
                               } else {
                                 out += static_cast<char>(0xf0 | (cp >> 18));
                                 out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
                                 out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
                                 out += static_cast<char>(0x80 | (cp & 0x3f));
                               }
                             }
                             return out;
                           });
  GenerateDataKeyRequest r;
  r.key_id = *rc::gen::nonEmpty(text);
  r.encryption_context = *rc::gen::container<EncryptionContext>(text, text);
  r.number_of_bytes = *rc::gen::arbitrary<int32_t>();
  r.grant_tokens = *rc::gen::container<std::vector<std::string>>(rc::gen::nonEmpty(text));
  if (*rc::gen::arbitrary<bool>()) {
    r.recipient = Recipient{key_encryption_algorithm::kRsaesOaepSha256,
                            *rc::gen::arbitrary<std::vector<uint8_t>>()};
  }
  auto body = EncodeJson(r);
  RC_ASSERT(body.ok());
  auto d = DecodeJson<GenerateDataKeyRequest>(*body);
  RC_ASSERT(d.ok());
  RC_ASSERT(d->key_id == r.key_id);
  RC_ASSERT(d->encryption_context == r.encryption_context);
  RC_ASSERT(d->number_of_bytes == r.number_of_bytes);
  RC_ASSERT(d->grant_tokens == r.grant_tokens);
  RC_ASSERT(d->recipient.has_value() == r.recipient.has_value());
  if (r.recipient.has_value()) {
    RC_ASSERT(d->recipient->attestation_document == r.recipient->attestation_document);
  }
}

RC_GTEST_PROP(KmsJsonProperty, RandomBytesGiveAStatus, (const std::string& noise)) {
  // Never a crash or an exception; a failure always carries an AWS type.
  auto check = [](const auto& got) {
    if (!got.ok()) RC_ASSERT(GetKmsErrorType(got.status()).has_value());
  };
  check(DecodeJson<DecryptRequest>(noise));
  check(DecodeJson<GenerateDataKeyResponse>(noise));
  check(DecodeJson<DescribeKeyResponse>(noise));
  // Noise inside a structurally valid body.
  check(DecodeJson<DecryptRequest>(R"({"CiphertextBlob":")" + noise + R"(","Recipient":{}})"));
}

}  // namespace
}  // namespace veil::kms
