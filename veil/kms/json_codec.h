// AWS JSON 1.1 encoding of the KMS requests and responses in types.h, used
// by the client (encodes requests, decodes responses) and by veil-kms
// (decodes requests, encodes responses).
//
// Wire rules (the awsJson1_1 protocol as the AWS SDKs implement it):
//   - one JSON object per body; absent fields are omitted, and a JSON null
//     is read as absent;
//   - blobs are padded standard Base64; timestamps are epoch seconds as a
//     JSON number (fractions allowed on decode, milliseconds on encode);
//   - unknown fields are ignored on decode, as AWS SDKs and services do.
// Decode errors carry an AWS error type (GetKmsErrorType): malformed JSON or
// a field of the wrong JSON type is SerializationException; a missing
// required field, or (for requests only) an enum value outside AWS's set,
// is ValidationException with AWS's message wording. Both are
// InvalidArgument. Responses are decoded leniently about enum values so that
// a client keeps working when AWS adds one.
//
// Secrets: bodies that carry plaintext (EncryptRequest and the Decrypt,
// GenerateDataKey and GenerateRandom responses) hold it in Base64; callers
// wipe such bodies (SecureWipe) once sent or decoded. Decoding wipes the
// parser's copy of those fields.
#ifndef VEIL_KMS_JSON_CODEC_H_
#define VEIL_KMS_JSON_CODEC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "veil/kms/types.h"

namespace veil::kms {

// EncodeJson returns the JSON body of `value`. It fails (InvalidArgument)
// only when a string is not valid UTF-8.
absl::StatusOr<std::string> EncodeJson(const EncryptRequest& value);
absl::StatusOr<std::string> EncodeJson(const EncryptResponse& value);
absl::StatusOr<std::string> EncodeJson(const DecryptRequest& value);
absl::StatusOr<std::string> EncodeJson(const DecryptResponse& value);
absl::StatusOr<std::string> EncodeJson(const ReEncryptRequest& value);
absl::StatusOr<std::string> EncodeJson(const ReEncryptResponse& value);
absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyRequest& value);
absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyResponse& value);
absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyWithoutPlaintextRequest& value);
absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyWithoutPlaintextResponse& value);
absl::StatusOr<std::string> EncodeJson(const GenerateRandomRequest& value);
absl::StatusOr<std::string> EncodeJson(const GenerateRandomResponse& value);
absl::StatusOr<std::string> EncodeJson(const CreateKeyRequest& value);
absl::StatusOr<std::string> EncodeJson(const CreateKeyResponse& value);
absl::StatusOr<std::string> EncodeJson(const DescribeKeyRequest& value);
absl::StatusOr<std::string> EncodeJson(const DescribeKeyResponse& value);
absl::StatusOr<std::string> EncodeJson(const ListKeysRequest& value);
absl::StatusOr<std::string> EncodeJson(const ListKeysResponse& value);
absl::StatusOr<std::string> EncodeJson(const CreateAliasRequest& value);
absl::StatusOr<std::string> EncodeJson(const UpdateAliasRequest& value);
absl::StatusOr<std::string> EncodeJson(const DeleteAliasRequest& value);
absl::StatusOr<std::string> EncodeJson(const ListAliasesRequest& value);
absl::StatusOr<std::string> EncodeJson(const ListAliasesResponse& value);
absl::StatusOr<std::string> EncodeJson(const GetKeyPolicyRequest& value);
absl::StatusOr<std::string> EncodeJson(const GetKeyPolicyResponse& value);
absl::StatusOr<std::string> EncodeJson(const PutKeyPolicyRequest& value);
absl::StatusOr<std::string> EncodeJson(const KeyIdRequest& value);
absl::StatusOr<std::string> EncodeJson(const ScheduleKeyDeletionRequest& value);
absl::StatusOr<std::string> EncodeJson(const ScheduleKeyDeletionResponse& value);
absl::StatusOr<std::string> EncodeJson(const CancelKeyDeletionResponse& value);
absl::StatusOr<std::string> EncodeJson(const EnableKeyRotationRequest& value);
absl::StatusOr<std::string> EncodeJson(const GetKeyRotationStatusResponse& value);
absl::StatusOr<std::string> EncodeJson(const EmptyResponse& value);
absl::StatusOr<std::string> EncodeJson(const ErrorResponse& value);

// DecodeJson<T> parses a body into T. See the file comment for the errors.
template <typename T>
absl::StatusOr<T> DecodeJson(std::string_view json);

#define VEIL_KMS_DECLARE_DECODE(T) \
  template <>                      \
  absl::StatusOr<T> DecodeJson<T>(std::string_view json)
VEIL_KMS_DECLARE_DECODE(EncryptRequest);
VEIL_KMS_DECLARE_DECODE(EncryptResponse);
VEIL_KMS_DECLARE_DECODE(DecryptRequest);
VEIL_KMS_DECLARE_DECODE(DecryptResponse);
VEIL_KMS_DECLARE_DECODE(ReEncryptRequest);
VEIL_KMS_DECLARE_DECODE(ReEncryptResponse);
VEIL_KMS_DECLARE_DECODE(GenerateDataKeyRequest);
VEIL_KMS_DECLARE_DECODE(GenerateDataKeyResponse);
VEIL_KMS_DECLARE_DECODE(GenerateDataKeyWithoutPlaintextRequest);
VEIL_KMS_DECLARE_DECODE(GenerateDataKeyWithoutPlaintextResponse);
VEIL_KMS_DECLARE_DECODE(GenerateRandomRequest);
VEIL_KMS_DECLARE_DECODE(GenerateRandomResponse);
VEIL_KMS_DECLARE_DECODE(CreateKeyRequest);
VEIL_KMS_DECLARE_DECODE(CreateKeyResponse);
VEIL_KMS_DECLARE_DECODE(DescribeKeyRequest);
VEIL_KMS_DECLARE_DECODE(DescribeKeyResponse);
VEIL_KMS_DECLARE_DECODE(ListKeysRequest);
VEIL_KMS_DECLARE_DECODE(ListKeysResponse);
VEIL_KMS_DECLARE_DECODE(CreateAliasRequest);
VEIL_KMS_DECLARE_DECODE(UpdateAliasRequest);
VEIL_KMS_DECLARE_DECODE(DeleteAliasRequest);
VEIL_KMS_DECLARE_DECODE(ListAliasesRequest);
VEIL_KMS_DECLARE_DECODE(ListAliasesResponse);
VEIL_KMS_DECLARE_DECODE(GetKeyPolicyRequest);
VEIL_KMS_DECLARE_DECODE(GetKeyPolicyResponse);
VEIL_KMS_DECLARE_DECODE(PutKeyPolicyRequest);
VEIL_KMS_DECLARE_DECODE(KeyIdRequest);
VEIL_KMS_DECLARE_DECODE(ScheduleKeyDeletionRequest);
VEIL_KMS_DECLARE_DECODE(ScheduleKeyDeletionResponse);
VEIL_KMS_DECLARE_DECODE(CancelKeyDeletionResponse);
VEIL_KMS_DECLARE_DECODE(EnableKeyRotationRequest);
VEIL_KMS_DECLARE_DECODE(GetKeyRotationStatusResponse);
VEIL_KMS_DECLARE_DECODE(EmptyResponse);
VEIL_KMS_DECLARE_DECODE(ErrorResponse);
#undef VEIL_KMS_DECLARE_DECODE

}  // namespace veil::kms

#endif  // VEIL_KMS_JSON_CODEC_H_
