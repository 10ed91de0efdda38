// DefaultCmm: the default cryptographic materials manager over one keyring.
// Spec: framework/default-cmm.md (brief sections 3, 8, 9).
#ifndef VEIL_ESDK_DEFAULT_CMM_H_
#define VEIL_ESDK_DEFAULT_CMM_H_

#include <memory>

#include "veil/esdk/cmm.h"
#include "veil/esdk/keyring.h"

namespace veil::esdk {

// DefaultCmm picks the suite (the policy's default unless one is requested),
// makes the signing key for signed suites and records its public half as
// `aws-crypto-public-key`, and delegates key wrapping to the keyring. On
// decrypt it checks the reproduced context against the stored one, enforces
// the aws-crypto-public-key rules and asks the keyring to unwrap.
// Thread-safe if the keyring is.
class DefaultCmm : public CryptoMaterialsManager {
 public:
  static std::unique_ptr<DefaultCmm> Create(std::shared_ptr<const Keyring> keyring);

  absl::StatusOr<EncryptionMaterials> GetEncryptionMaterials(
      const EncryptionMaterialsRequest& request) override;
  absl::StatusOr<DecryptionMaterials> DecryptMaterials(
      const DecryptionMaterialsRequest& request) override;

 private:
  explicit DefaultCmm(std::shared_ptr<const Keyring> keyring) : keyring_(std::move(keyring)) {}
  std::shared_ptr<const Keyring> keyring_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_DEFAULT_CMM_H_
