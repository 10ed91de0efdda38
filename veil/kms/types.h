// AWS KMS request and response types for the operations Veil uses, and the
// AWS error types, shared by the client, the enclave and veil-kms.
//
// Spec: https://docs.aws.amazon.com/kms/latest/APIReference/ (one section per
// operation; field names below are AWS's). Recipient and
// CiphertextForRecipient: ../shared/specs/nitro-attestation-nsm-kms.md
// section 4.
//
// Conventions: an empty string, blob, list or map means "absent" and is not
// sent; optional numbers, booleans and times are std::optional. AWS enums are
// kept as strings (the constants below) so that a client keeps working when
// AWS adds a value; veil-kms validates them when it decodes a request.
// Plaintext key material is always SecretBytes.
#ifndef VEIL_KMS_TYPES_H_
#define VEIL_KMS_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "veil/common/secret_bytes.h"

namespace veil::kms {

// EncryptionContext is KMS's string-to-string additional authenticated data.
using EncryptionContext = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------
// Enumerations (AWS's spelling).

namespace key_encryption_algorithm {
inline constexpr char kRsaesOaepSha256[] = "RSAES_OAEP_SHA_256";  // the only one
}  // namespace key_encryption_algorithm

namespace encryption_algorithm {
inline constexpr char kSymmetricDefault[] = "SYMMETRIC_DEFAULT";
inline constexpr char kRsaesOaepSha1[] = "RSAES_OAEP_SHA_1";
inline constexpr char kRsaesOaepSha256[] = "RSAES_OAEP_SHA_256";
inline constexpr char kSm2Pke[] = "SM2PKE";
}  // namespace encryption_algorithm

namespace data_key_spec {
inline constexpr char kAes256[] = "AES_256";
inline constexpr char kAes128[] = "AES_128";
}  // namespace data_key_spec

namespace key_spec {
inline constexpr char kSymmetricDefault[] = "SYMMETRIC_DEFAULT";
}  // namespace key_spec

namespace key_usage {
inline constexpr char kEncryptDecrypt[] = "ENCRYPT_DECRYPT";
inline constexpr char kSignVerify[] = "SIGN_VERIFY";
inline constexpr char kGenerateVerifyMac[] = "GENERATE_VERIFY_MAC";
inline constexpr char kKeyAgreement[] = "KEY_AGREEMENT";
}  // namespace key_usage

namespace key_state {
inline constexpr char kCreating[] = "Creating";
inline constexpr char kEnabled[] = "Enabled";
inline constexpr char kDisabled[] = "Disabled";
inline constexpr char kPendingDeletion[] = "PendingDeletion";
inline constexpr char kPendingImport[] = "PendingImport";
inline constexpr char kPendingReplicaDeletion[] = "PendingReplicaDeletion";
inline constexpr char kUnavailable[] = "Unavailable";
inline constexpr char kUpdating[] = "Updating";
}  // namespace key_state

namespace origin {
inline constexpr char kAwsKms[] = "AWS_KMS";
inline constexpr char kExternal[] = "EXTERNAL";
}  // namespace origin

namespace key_manager {
inline constexpr char kCustomer[] = "CUSTOMER";
inline constexpr char kAws[] = "AWS";
}  // namespace key_manager

// ---------------------------------------------------------------------------
// Errors.

// ErrorType is an AWS KMS error `__type` (plus the common AWS errors a KMS
// endpoint answers with).
enum class ErrorType {
  kNotFound,                     // NotFoundException
  kDisabled,                     // DisabledException
  kInvalidState,                 // KMSInvalidStateException
  kInvalidCiphertext,            // InvalidCiphertextException
  kAccessDenied,                 // AccessDeniedException
  kValidation,                   // ValidationException
  kSerialization,                // SerializationException (malformed JSON)
  kIncorrectKey,                 // IncorrectKeyException
  kInvalidKeyUsage,              // InvalidKeyUsageException
  kInvalidArn,                   // InvalidArnException
  kInvalidMarker,                // InvalidMarkerException
  kKmsInvalidSignature,          // KMSInvalidSignatureException (Verify operation)
  kAlreadyExists,                // AlreadyExistsException
  kLimitExceeded,                // LimitExceededException
  kThrottling,                   // ThrottlingException
  kInternal,                     // KMSInternalException
  kKeyUnavailable,               // KeyUnavailableException
  kDependencyTimeout,            // DependencyTimeoutException
  kUnrecognizedClient,           // UnrecognizedClientException
  kInvalidSignature,             // InvalidSignatureException (SigV4)
  kIncompleteSignature,          // IncompleteSignatureException
  kMissingAuthenticationToken,   // MissingAuthenticationTokenException
  kMalformedPolicyDocument,      // MalformedPolicyDocumentException
  kInvalidAliasName,             // InvalidAliasNameException
  kInvalidGrantToken,            // InvalidGrantTokenException
  kNotAuthorized,                // NotAuthorizedException
  kUnsupportedOperation,         // UnsupportedOperationException
  kUnknownOperation,             // UnknownOperationException
  kRequestEntityTooLarge,        // RequestEntityTooLargeException
  kDryRunOperation,              // DryRunOperationException
};

// ErrorTypeName returns the AWS `__type` string ("NotFoundException").
const char* ErrorTypeName(ErrorType type);

// ParseErrorType maps an AWS `__type` to ErrorType. It accepts the forms
// AWS uses on the wire: a bare name, a namespaced "com.amazonaws.kms#Name",
// and the "Name:http://..." form of the x-amzn-ErrorType header.
std::optional<ErrorType> ParseErrorType(std::string_view aws_type);

// ErrorHttpStatus returns the HTTP status AWS KMS answers `type` with: 500
// for KMSInternalException, KeyUnavailableException and
// DependencyTimeoutException, 413 for RequestEntityTooLargeException, 412
// for DryRunOperationException, 403 for MissingAuthenticationTokenException,
// 400 for everything else (KMS answers 400 even for AccessDenied and
// Throttling).
int ErrorHttpStatus(ErrorType type);

// ErrorStatusCode returns the absl code for `type` (abseil's guidance):
// NotFound; FailedPrecondition for key-state errors; InvalidArgument for
// malformed or invalid input; PermissionDenied for authorisation;
// Unauthenticated for request authentication; AlreadyExists;
// ResourceExhausted for limits and throttling; Unavailable for transient
// service failures; Internal for KMSInternalException.
absl::StatusCode ErrorStatusCode(ErrorType type);

// IsRetryable reports whether AWS SDKs retry `type` (throttling and
// transient service failures).
bool IsRetryable(ErrorType type);

// KmsError returns a Status with ErrorStatusCode(type) whose message is
// "<__type>: <message>", carrying `type` so that GetKmsErrorType finds it.
absl::Status KmsError(ErrorType type, std::string_view message);

// GetKmsErrorType returns the ErrorType attached by KmsError, or nullopt.
std::optional<ErrorType> GetKmsErrorType(const absl::Status& status);

// ErrorResponse is the body of a failed call:
// {"__type": "NotFoundException", "message": "..."}.
struct ErrorResponse {
  std::string type;  // as received (may be namespaced)
  std::string message;
};

// ---------------------------------------------------------------------------
// Shared shapes.

// Recipient asks KMS to return the plaintext encrypted to the public key in
// an attestation document (CiphertextForRecipient) instead of in Plaintext.
struct Recipient {
  std::string key_encryption_algorithm = key_encryption_algorithm::kRsaesOaepSha256;
  std::vector<uint8_t> attestation_document;  // COSE_Sign1, 1..262144 bytes
};

struct Tag {
  std::string tag_key;
  std::string tag_value;
};

// KeyMetadata describes a KMS key (DescribeKey, CreateKey).
struct KeyMetadata {
  std::string aws_account_id;  // AWSAccountId
  std::string key_id;          // required
  std::string arn;
  std::optional<absl::Time> creation_date;
  std::optional<bool> enabled;
  std::string description;
  std::string key_usage;
  std::string key_state;
  std::optional<absl::Time> deletion_date;
  std::optional<absl::Time> valid_to;
  std::string origin;
  std::string key_manager;
  std::string customer_master_key_spec;
  std::string key_spec;
  std::vector<std::string> encryption_algorithms;
  std::vector<std::string> signing_algorithms;
  std::vector<std::string> mac_algorithms;
  std::optional<bool> multi_region;
  std::optional<int32_t> pending_deletion_window_in_days;
  std::string expiration_model;
};

struct KeyListEntry {
  std::string key_id;
  std::string key_arn;
};

struct AliasListEntry {
  std::string alias_name;
  std::string alias_arn;
  std::string target_key_id;
  std::optional<absl::Time> creation_date;
  std::optional<absl::Time> last_updated_date;
};

// ---------------------------------------------------------------------------
// Requests and responses, one pair per operation.

struct EncryptRequest {
  std::string key_id;   // required
  SecretBytes plaintext;  // required, 1..4096 bytes
  EncryptionContext encryption_context;
  std::vector<std::string> grant_tokens;
  std::string encryption_algorithm;
  std::optional<bool> dry_run;
};
struct EncryptResponse {
  std::vector<uint8_t> ciphertext_blob;
  std::string key_id;  // key ARN
  std::string encryption_algorithm;
};

struct DecryptRequest {
  std::vector<uint8_t> ciphertext_blob;  // required
  EncryptionContext encryption_context;
  std::vector<std::string> grant_tokens;
  std::string key_id;
  std::string encryption_algorithm;
  std::optional<Recipient> recipient;
  std::optional<bool> dry_run;
};
struct DecryptResponse {
  std::string key_id;
  SecretBytes plaintext;  // empty when a Recipient was given
  std::string encryption_algorithm;
  std::vector<uint8_t> ciphertext_for_recipient;  // CMS EnvelopedData (BER)
};

struct ReEncryptRequest {
  std::vector<uint8_t> ciphertext_blob;  // required
  EncryptionContext source_encryption_context;
  std::string source_key_id;
  std::string destination_key_id;  // required
  EncryptionContext destination_encryption_context;
  std::string source_encryption_algorithm;
  std::string destination_encryption_algorithm;
  std::vector<std::string> grant_tokens;
  std::optional<bool> dry_run;
};
struct ReEncryptResponse {
  std::vector<uint8_t> ciphertext_blob;
  std::string source_key_id;
  std::string key_id;
  std::string source_encryption_algorithm;
  std::string destination_encryption_algorithm;
};

struct GenerateDataKeyRequest {
  std::string key_id;  // required
  EncryptionContext encryption_context;
  std::optional<int32_t> number_of_bytes;  // 1..1024; exactly one of this and key_spec
  std::string key_spec;                    // data_key_spec::
  std::vector<std::string> grant_tokens;
  std::optional<Recipient> recipient;
  std::optional<bool> dry_run;
};
struct GenerateDataKeyResponse {
  std::vector<uint8_t> ciphertext_blob;
  SecretBytes plaintext;  // empty when a Recipient was given
  std::string key_id;
  std::vector<uint8_t> ciphertext_for_recipient;
};

struct GenerateDataKeyWithoutPlaintextRequest {
  std::string key_id;  // required
  EncryptionContext encryption_context;
  std::string key_spec;
  std::optional<int32_t> number_of_bytes;
  std::vector<std::string> grant_tokens;
  std::optional<bool> dry_run;
};
struct GenerateDataKeyWithoutPlaintextResponse {
  std::vector<uint8_t> ciphertext_blob;
  std::string key_id;
};

struct GenerateRandomRequest {
  std::optional<int32_t> number_of_bytes;  // 1..1024
  std::string custom_key_store_id;
  std::optional<Recipient> recipient;
};
struct GenerateRandomResponse {
  SecretBytes plaintext;  // empty when a Recipient was given
  std::vector<uint8_t> ciphertext_for_recipient;
};

struct CreateKeyRequest {
  std::string policy;
  std::string description;
  std::string key_usage;
  std::string key_spec;
  std::string origin;
  std::optional<bool> bypass_policy_lockout_safety_check;
  std::vector<Tag> tags;
  std::optional<bool> multi_region;
};
struct CreateKeyResponse {
  KeyMetadata key_metadata;
};

struct DescribeKeyRequest {
  std::string key_id;  // required
  std::vector<std::string> grant_tokens;
};
struct DescribeKeyResponse {
  KeyMetadata key_metadata;
};

struct ListKeysRequest {
  std::optional<int32_t> limit;  // 1..1000
  std::string marker;
};
struct ListKeysResponse {
  std::vector<KeyListEntry> keys;
  std::string next_marker;
  std::optional<bool> truncated;
};

struct CreateAliasRequest {
  std::string alias_name;     // required, "alias/..."
  std::string target_key_id;  // required
};
struct UpdateAliasRequest {
  std::string alias_name;     // required
  std::string target_key_id;  // required
};
struct DeleteAliasRequest {
  std::string alias_name;  // required
};

struct ListAliasesRequest {
  std::string key_id;
  std::optional<int32_t> limit;
  std::string marker;
};
struct ListAliasesResponse {
  std::vector<AliasListEntry> aliases;
  std::string next_marker;
  std::optional<bool> truncated;
};

struct GetKeyPolicyRequest {
  std::string key_id;       // required
  std::string policy_name;  // "default" when absent
};
struct GetKeyPolicyResponse {
  std::string policy;
  std::string policy_name;
};

struct PutKeyPolicyRequest {
  std::string key_id;       // required
  std::string policy_name;  // "default" when absent
  std::string policy;       // required
  std::optional<bool> bypass_policy_lockout_safety_check;
};

// KeyIdRequest is the request of EnableKey, DisableKey, CancelKeyDeletion,
// DisableKeyRotation and GetKeyRotationStatus: {"KeyId": ...}.
struct KeyIdRequest {
  std::string key_id;  // required
};
using EnableKeyRequest = KeyIdRequest;
using DisableKeyRequest = KeyIdRequest;
using CancelKeyDeletionRequest = KeyIdRequest;
using DisableKeyRotationRequest = KeyIdRequest;
using GetKeyRotationStatusRequest = KeyIdRequest;

struct ScheduleKeyDeletionRequest {
  std::string key_id;  // required
  std::optional<int32_t> pending_window_in_days;  // 7..30, default 30
};
struct ScheduleKeyDeletionResponse {
  std::string key_id;
  std::optional<absl::Time> deletion_date;
  std::string key_state;
  std::optional<int32_t> pending_window_in_days;
};

struct CancelKeyDeletionResponse {
  std::string key_id;
};

struct EnableKeyRotationRequest {
  std::string key_id;  // required
  std::optional<int32_t> rotation_period_in_days;  // 90..2560
};

struct GetKeyRotationStatusResponse {
  std::optional<bool> key_rotation_enabled;
  std::string key_id;
  std::optional<int32_t> rotation_period_in_days;
  std::optional<absl::Time> next_rotation_date;
  std::optional<absl::Time> on_demand_rotation_start_date;
};

// EmptyResponse is the `{}` answer of CreateAlias, UpdateAlias, DeleteAlias,
// PutKeyPolicy, EnableKey, DisableKey, EnableKeyRotation and
// DisableKeyRotation.
struct EmptyResponse {};

}  // namespace veil::kms

#endif  // VEIL_KMS_TYPES_H_
