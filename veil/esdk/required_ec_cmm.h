// RequiredEncryptionContextCmm: keys that are authenticated but not stored.
// Spec: framework/required-encryption-context-cmm.md (brief section 11).
#ifndef VEIL_ESDK_REQUIRED_EC_CMM_H_
#define VEIL_ESDK_REQUIRED_EC_CMM_H_

#include <memory>
#include <set>
#include <string>

#include "veil/esdk/cmm.h"

namespace veil::esdk {

// RequiredEncryptionContextCmm wraps another CMM. On encrypt the request's
// context must contain every required key; those keys are then omitted from
// the header and bound only through the header authentication tag. On
// decrypt the caller must reproduce every required key. Thread-safe if the
// wrapped CMM is.
class RequiredEncryptionContextCmm : public CryptoMaterialsManager {
 public:
  // Create fails (InvalidArgument) with an empty key set.
  static absl::StatusOr<std::unique_ptr<RequiredEncryptionContextCmm>> Create(
      std::shared_ptr<CryptoMaterialsManager> underlying, std::set<std::string> required_keys);

  absl::StatusOr<EncryptionMaterials> GetEncryptionMaterials(
      const EncryptionMaterialsRequest& request) override;
  absl::StatusOr<DecryptionMaterials> DecryptMaterials(
      const DecryptionMaterialsRequest& request) override;

 private:
  RequiredEncryptionContextCmm(std::shared_ptr<CryptoMaterialsManager> underlying,
                               std::set<std::string> required_keys)
      : underlying_(std::move(underlying)), required_keys_(std::move(required_keys)) {}
  std::shared_ptr<CryptoMaterialsManager> underlying_;
  std::set<std::string> required_keys_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_REQUIRED_EC_CMM_H_
