// Seeds for kms_server_fuzzer: one signed request per KMS operation.
#include <string>
#include <vector>

#include "fuzz/kms_server_fuzzer.h"

namespace veil::fuzz {
namespace {

KmsServerSeed Signed(const std::string& name, const std::string& op, const std::string& body) {
  std::string s = "\x01" + op + "\n" + body;
  return {name, std::vector<uint8_t>(s.begin(), s.end())};
}

KmsServerSeed Raw(const std::string& name, const std::string& text) {
  std::string s(1, '\0');
  s += text;
  return {name, std::vector<uint8_t>(s.begin(), s.end())};
}

}  // namespace

std::vector<KmsServerSeed> KmsServerSeeds() {
  // A ciphertext blob header naming a key that does not exist, for Decrypt.
  const std::string blob =
      "AUkSNMsSq0zNVu8SNFZ4kKsAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const std::string recipient =
      R"("Recipient":{"KeyEncryptionAlgorithm":"RSAES_OAEP_SHA_256","AttestationDocument":"hEQ="})";
  return {
      Signed("create-key", "CreateKey", R"({"Description":"d","KeyUsage":"ENCRYPT_DECRYPT"})"),
      Signed("create-key-policy", "CreateKey",
             R"({"Policy":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"ForAnyValue:StringLike\":{\"kms:EncryptionContextKeys\":\"t*\"}}}]}"})"),
      Signed("describe-key", "DescribeKey", R"({"KeyId":"alias/fuzz"})"),
      Signed("list-keys", "ListKeys", R"({"Limit":2})"),
      Signed("encrypt", "Encrypt",
             R"({"KeyId":"alias/fuzz","Plaintext":"aGVsbG8=","EncryptionContext":{"t":"a"}})"),
      Signed("decrypt", "Decrypt", R"({"CiphertextBlob":")" + blob + R"(","EncryptionContext":{"t":"a"}})"),
      Signed("decrypt-recipient", "Decrypt",
             R"({"CiphertextBlob":")" + blob + R"(",)" + recipient + "}"),
      Signed("re-encrypt", "ReEncrypt",
             R"({"CiphertextBlob":")" + blob + R"(","DestinationKeyId":"alias/fuzz"})"),
      Signed("generate-data-key", "GenerateDataKey", R"({"KeyId":"alias/fuzz","KeySpec":"AES_256"})"),
      Signed("generate-data-key-np", "GenerateDataKeyWithoutPlaintext",
             R"({"KeyId":"alias/fuzz","NumberOfBytes":16})"),
      Signed("generate-random", "GenerateRandom", R"({"NumberOfBytes":32})"),
      Signed("create-alias", "CreateAlias", R"({"AliasName":"alias/x","TargetKeyId":"alias/fuzz"})"),
      Signed("update-alias", "UpdateAlias", R"({"AliasName":"alias/fuzz","TargetKeyId":"x"})"),
      Signed("delete-alias", "DeleteAlias", R"({"AliasName":"alias/nope"})"),
      Signed("list-aliases", "ListAliases", R"({"KeyId":"alias/fuzz"})"),
      Signed("get-key-policy", "GetKeyPolicy", R"({"KeyId":"alias/fuzz","PolicyName":"default"})"),
      Signed("put-key-policy", "PutKeyPolicy",
             R"({"KeyId":"alias/fuzz","Policy":"{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"111122223333\"},\"NotAction\":\"kms:Put*\",\"Resource\":\"*\",\"Condition\":{\"StringNotEqualsIgnoreCase\":{\"kms:RecipientAttestation:PCR0\":\"00\"}}}]}"})"),
      Signed("enable-key", "EnableKey", R"({"KeyId":"alias/fuzz"})"),
      Signed("disable-key", "DisableKey", R"({"KeyId":"alias/fuzz"})"),
      Signed("schedule-deletion", "ScheduleKeyDeletion", R"({"KeyId":"alias/fuzz","PendingWindowInDays":7})"),
      Signed("cancel-deletion", "CancelKeyDeletion", R"({"KeyId":"alias/fuzz"})"),
      Signed("enable-rotation", "EnableKeyRotation", R"({"KeyId":"alias/fuzz","RotationPeriodInDays":90})"),
      Signed("disable-rotation", "DisableKeyRotation", R"({"KeyId":"alias/fuzz"})"),
      Signed("rotation-status", "GetKeyRotationStatus", R"({"KeyId":"alias/fuzz"})"),
      Signed("rotate", "RotateKeyOnDemand", R"({"KeyId":"alias/fuzz"})"),
      Raw("raw-auth",
          "Host: h\nX-Amz-Date: 20231114T221320Z\nX-Amz-Target: TrentService.ListKeys\n"
          "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFUZZFUZZFUZZFUZZ/20231114/us-east-1/kms/"
          "aws4_request, SignedHeaders=host;x-amz-date, Signature=00\n\n{}"),
      Raw("raw-none", "Host: h\n\n{}"),
  };
}

}  // namespace veil::fuzz
