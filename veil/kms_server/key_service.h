// KeyService: the KMS operations of veil-kms over the store, independent of
// HTTP and SigV4 (which request_handler.h adds). Requests and responses are
// the AWS JSON 1.1 bodies of the AWS KMS API
// (https://docs.aws.amazon.com/kms/latest/APIReference/), decoded and
// encoded with veil/kms/json_codec.h (the codec the KMS client uses), with
// AWS's validation and error types (kms::KmsError).
#ifndef VEIL_KMS_SERVER_KEY_SERVICE_H_
#define VEIL_KMS_SERVER_KEY_SERVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/kms_server/policy.h"
#include "veil/kms_server/root_key.h"
#include "veil/kms_server/store.h"

namespace veil::kms_server {

// Caller is an authenticated principal.
struct Caller {
  std::string arn;      // arn:aws:iam::<account>:user/<name> or role/<name>
  std::string account;  // owns the keys this caller creates
  std::string access_key_id;
  bool secure_transport = false;  // aws:SecureTransport
};

// AttestedRecipient is what a verified Recipient attestation document says.
struct AttestedRecipient {
  std::map<int, std::vector<uint8_t>> pcrs;
  std::vector<uint8_t> public_key_spki;  // RSA-2048 SubjectPublicKeyInfo DER
  std::string module_id;
  bool simulated = false;  // chained to a root other than AWS's
};

// RecipientHandler verifies Recipient attestation documents and encrypts
// plaintext for them (CiphertextForRecipient). Implementations must be
// thread-safe.
class RecipientHandler {
 public:
  virtual ~RecipientHandler() = default;
  // Verify checks a document's signature chain, freshness and public key.
  // Any failure is an error; what failed goes to the server's log only.
  virtual absl::StatusOr<AttestedRecipient> Verify(absl::Span<const uint8_t> document) const = 0;
  // Seal returns CMS EnvelopedData of `plaintext` for the recipient's key.
  virtual absl::StatusOr<std::vector<uint8_t>> Seal(const AttestedRecipient& recipient,
                                                    const SecretBytes& plaintext) const = 0;
};

struct KeyServiceOptions {
  // region names the keys' ARNs.
  std::string region = "us-east-1";
  // now is the service's clock (rotation, deletion windows); absl::Now when
  // empty.
  std::function<absl::Time()> now;
  // recipients handles the Recipient parameter; without one, a request that
  // carries a Recipient is refused.
  std::shared_ptr<const RecipientHandler> recipients;
};

// CallInfo is what the audit record of a call needs, filled in as far as the
// call got.
struct CallInfo {
  std::string key_arn;
  std::string recipient_pcr0_hex;
  std::string recipient_module_id;
  bool recipient_simulated = false;
};

// KeyService is thread-safe.
class KeyService {
 public:
  // Create builds a service over `store` and `root_key` (not owned; they
  // must outlive it).
  static absl::StatusOr<std::unique_ptr<KeyService>> Create(Store* store, const RootKey* root_key,
                                                            KeyServiceOptions options);
  ~KeyService();

  // IsOperation says whether `operation` ("Decrypt") is implemented.
  static bool IsOperation(std::string_view operation);

  // Call runs `operation` for `caller` with the JSON request body `body` (an
  // empty body is `{}`) and returns the JSON response body. Failures are
  // kms::KmsError statuses carrying the AWS error type.
  absl::StatusOr<std::string> Call(const Caller& caller, std::string_view operation,
                                   std::string_view body, CallInfo* info);

  // region returns the service's region.
  const std::string& region() const { return options_.region; }

  class Impl;

 private:
  explicit KeyService(std::unique_ptr<Impl> impl, KeyServiceOptions options);
  std::unique_ptr<Impl> impl_;
  KeyServiceOptions options_;
};

// NewKeyMaterial returns fresh key material sealed under `root_key` for
// version `version` of `key_id` (exposed for tests of the store format).
absl::StatusOr<std::vector<uint8_t>> SealKeyMaterial(const RootKey& root_key,
                                                     const std::string& key_id, uint32_t version,
                                                     const SecretBytes& material);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_KEY_SERVICE_H_
