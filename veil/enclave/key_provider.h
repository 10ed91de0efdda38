// KeyProvider: the keyring the enclave uses for a tenant, by key tier
// (config.h): a local key file (raw AES keyring; development only), KMS
// without attestation (KmsKeyring), or KMS with a Recipient
// (KmsRecipientKeyring: data keys come back encrypted to the enclave's
// ephemeral RSA key, bound by an attestation document).
#ifndef VEIL_ENCLAVE_KEY_PROVIDER_H_
#define VEIL_ENCLAVE_KEY_PROVIDER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "veil/esdk/keyring.h"

namespace veil::enclave {

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;
  // KeyringFor returns the tenant's keyring: it decrypts only data keys
  // wrapped under that tenant's key, and encrypts results under it.
  // PermissionDenied for a tenant the configuration does not name.
  virtual absl::StatusOr<std::shared_ptr<const esdk::Keyring>> KeyringFor(
      const std::string& tenant) const = 0;
};

// StaticKeyProvider serves keyrings built at start, one per tenant.
class StaticKeyProvider final : public KeyProvider {
 public:
  explicit StaticKeyProvider(std::map<std::string, std::shared_ptr<const esdk::Keyring>> keyrings)
      : keyrings_(std::move(keyrings)) {}
  absl::StatusOr<std::shared_ptr<const esdk::Keyring>> KeyringFor(
      const std::string& tenant) const override;

 private:
  const std::map<std::string, std::shared_ptr<const esdk::Keyring>> keyrings_;
};

}  // namespace veil::enclave

#endif  // VEIL_ENCLAVE_KEY_PROVIDER_H_
