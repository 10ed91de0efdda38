// KmsClient: the seam between Veil and a key service speaking the AWS KMS
// API (AWS KMS itself, or veil-kms), and HttpKmsClient, its implementation
// over HTTPS with SigV4.
#ifndef VEIL_KMS_CLIENT_H_
#define VEIL_KMS_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/kms/aws_config.h"
#include "veil/kms/sigv4.h"
#include "veil/kms/types.h"

namespace veil::kms {

// KmsClient calls the AWS KMS operations Veil uses. Each method returns the
// decoded response or an error whose code follows ErrorStatusCode() for the
// AWS error type, whose message starts with the AWS `__type`, and which
// carries that type (GetKmsErrorType). Plaintext in responses is SecretBytes.
// Implementations are thread-safe.
class KmsClient {
 public:
  virtual ~KmsClient() = default;

  virtual absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) = 0;
  // Decrypt with a Recipient returns CiphertextForRecipient and no Plaintext.
  virtual absl::StatusOr<DecryptResponse> Decrypt(const DecryptRequest& request) = 0;
  virtual absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest& request) = 0;
  // GenerateDataKey with a Recipient returns CiphertextForRecipient and no
  // Plaintext (CiphertextBlob is returned either way).
  virtual absl::StatusOr<GenerateDataKeyResponse> GenerateDataKey(
      const GenerateDataKeyRequest& request) = 0;
  virtual absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyWithoutPlaintextRequest& request) = 0;
  virtual absl::StatusOr<GenerateRandomResponse> GenerateRandom(
      const GenerateRandomRequest& request) = 0;
  virtual absl::StatusOr<CreateKeyResponse> CreateKey(const CreateKeyRequest& request) = 0;
  virtual absl::StatusOr<DescribeKeyResponse> DescribeKey(const DescribeKeyRequest& request) = 0;
  virtual absl::StatusOr<ListKeysResponse> ListKeys(const ListKeysRequest& request) = 0;
  virtual absl::Status CreateAlias(const CreateAliasRequest& request) = 0;
  virtual absl::Status UpdateAlias(const UpdateAliasRequest& request) = 0;
  virtual absl::Status DeleteAlias(const DeleteAliasRequest& request) = 0;
  virtual absl::StatusOr<ListAliasesResponse> ListAliases(const ListAliasesRequest& request) = 0;
  virtual absl::StatusOr<GetKeyPolicyResponse> GetKeyPolicy(
      const GetKeyPolicyRequest& request) = 0;
  virtual absl::Status PutKeyPolicy(const PutKeyPolicyRequest& request) = 0;
  virtual absl::Status EnableKey(const EnableKeyRequest& request) = 0;
  virtual absl::Status DisableKey(const DisableKeyRequest& request) = 0;
  virtual absl::StatusOr<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(
      const ScheduleKeyDeletionRequest& request) = 0;
  virtual absl::StatusOr<CancelKeyDeletionResponse> CancelKeyDeletion(
      const CancelKeyDeletionRequest& request) = 0;
  virtual absl::Status EnableKeyRotation(const EnableKeyRotationRequest& request) = 0;
  virtual absl::Status DisableKeyRotation(const DisableKeyRotationRequest& request) = 0;
  virtual absl::StatusOr<GetKeyRotationStatusResponse> GetKeyRotationStatus(
      const GetKeyRotationStatusRequest& request) = 0;
};

// RetryOptions bounds retries. Attempt n (n >= 1, counting retries) waits a
// uniformly random time in [0, min(max_delay, base_delay * 2^(n-1))] ("full
// jitter"), as the AWS SDKs' standard retry mode does.
struct RetryOptions {
  int max_attempts = 3;  // including the first; 1 disables retries
  absl::Duration base_delay = absl::Milliseconds(100);
  absl::Duration max_delay = absl::Seconds(20);
};

// HttpKmsClientOptions configures HttpKmsClient.
struct HttpKmsClientOptions {
  // endpoint is "https://host[:port][/path]" (or "http://" for a local
  // veil-kms without TLS).
  std::string endpoint;
  std::string region;
  AwsCredentials credentials;
  // ca_file is a PEM bundle of trusted roots; empty means the system store.
  // An enclave pins its key service's CA here.
  std::string ca_file;
  // connect_host, when set, is the numeric IPv4 or IPv6 address the client
  // connects to instead of resolving the endpoint's host: inside an enclave,
  // the loopback listener of the byte proxy that leads to KMS. The port is
  // the endpoint's. TLS still checks the certificate against the endpoint's
  // host name (and sends it as SNI), and the Host header, and so the SigV4
  // signature, still names it: the proxy in between sees TLS records only.
  std::string connect_host;
  absl::Duration connect_timeout = absl::Seconds(10);
  absl::Duration timeout = absl::Seconds(30);  // each read and write
  RetryOptions retry;
  std::string user_agent = "veil-kms-client/0.1";

  // Seams for tests; the defaults are the real clock, sleep and randomness.
  std::function<absl::Time()> now;
  std::function<void(absl::Duration)> sleep;
  std::function<double()> jitter;  // uniform in [0, 1)
};

// HttpKmsClient speaks the AWS JSON 1.1 protocol: POST / with
// `X-Amz-Target: TrentService.<Operation>` and
// `Content-Type: application/x-amz-json-1.1`, SigV4-signed for service
// "kms". It retries network errors, HTTP 5xx, 429 and retryable AWS errors
// (ThrottlingException, KMSInternalException, ...), re-signing each attempt;
// TLS certificate failures are not retried. Network failures are
// Unavailable. Thread-safe; calls share one keep-alive connection and are
// serialised on it.
class HttpKmsClient final : public KmsClient {
 public:
  // Create validates the options (InvalidArgument for a malformed endpoint,
  // missing region or credentials, a bad retry bound, or a connect_host that
  // is not a numeric address).
  static absl::StatusOr<std::unique_ptr<KmsClient>> Create(HttpKmsClientOptions options);
  ~HttpKmsClient() override;

  absl::StatusOr<EncryptResponse> Encrypt(const EncryptRequest& request) override;
  absl::StatusOr<DecryptResponse> Decrypt(const DecryptRequest& request) override;
  absl::StatusOr<ReEncryptResponse> ReEncrypt(const ReEncryptRequest& request) override;
  absl::StatusOr<GenerateDataKeyResponse> GenerateDataKey(
      const GenerateDataKeyRequest& request) override;
  absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const GenerateDataKeyWithoutPlaintextRequest& request) override;
  absl::StatusOr<GenerateRandomResponse> GenerateRandom(
      const GenerateRandomRequest& request) override;
  absl::StatusOr<CreateKeyResponse> CreateKey(const CreateKeyRequest& request) override;
  absl::StatusOr<DescribeKeyResponse> DescribeKey(const DescribeKeyRequest& request) override;
  absl::StatusOr<ListKeysResponse> ListKeys(const ListKeysRequest& request) override;
  absl::Status CreateAlias(const CreateAliasRequest& request) override;
  absl::Status UpdateAlias(const UpdateAliasRequest& request) override;
  absl::Status DeleteAlias(const DeleteAliasRequest& request) override;
  absl::StatusOr<ListAliasesResponse> ListAliases(const ListAliasesRequest& request) override;
  absl::StatusOr<GetKeyPolicyResponse> GetKeyPolicy(const GetKeyPolicyRequest& request) override;
  absl::Status PutKeyPolicy(const PutKeyPolicyRequest& request) override;
  absl::Status EnableKey(const EnableKeyRequest& request) override;
  absl::Status DisableKey(const DisableKeyRequest& request) override;
  absl::StatusOr<ScheduleKeyDeletionResponse> ScheduleKeyDeletion(
      const ScheduleKeyDeletionRequest& request) override;
  absl::StatusOr<CancelKeyDeletionResponse> CancelKeyDeletion(
      const CancelKeyDeletionRequest& request) override;
  absl::Status EnableKeyRotation(const EnableKeyRotationRequest& request) override;
  absl::Status DisableKeyRotation(const DisableKeyRotationRequest& request) override;
  absl::StatusOr<GetKeyRotationStatusResponse> GetKeyRotationStatus(
      const GetKeyRotationStatusRequest& request) override;

 private:
  struct State;
  explicit HttpKmsClient(std::unique_ptr<State> state);

  // Call sends one operation (with retries) and returns the response body.
  absl::StatusOr<std::string> Call(const char* operation, std::string& body);
  template <typename Response, typename Request>
  absl::StatusOr<Response> Invoke(const char* operation, const Request& request);
  template <typename Request>
  absl::Status InvokeEmpty(const char* operation, const Request& request);

  std::unique_ptr<State> state_;
};

// KmsEndpointPort returns the TCP port an HttpKmsClient with `endpoint`
// connects to (explicit, or 443/80 for https/http), with the same
// validation as Create.
absl::StatusOr<uint16_t> KmsEndpointPort(const std::string& endpoint);

// NewKmsClientFromEnvironment resolves credentials, region and endpoint with
// ResolveAwsConfig and returns an HttpKmsClient for them. `base` supplies
// timeouts, retries and test seams; its endpoint, region, credentials and
// CA file are replaced by the resolved ones.
absl::StatusOr<std::unique_ptr<KmsClient>> NewKmsClientFromEnvironment(
    const AwsConfigOverrides& overrides, const AwsEnvironment& env,
    HttpKmsClientOptions base = {});

// ErrorFromHttpResponse turns a non-2xx KMS answer into a Status: the AWS
// type comes from the body's `__type` or the x-amzn-ErrorType header; an
// unknown type keeps its name in the message and gets a code from the HTTP
// status. Exposed for tests.
absl::Status ErrorFromHttpResponse(const char* operation, int http_status,
                                   std::string_view error_type_header, std::string_view body);

}  // namespace veil::kms

#endif  // VEIL_KMS_CLIENT_H_
