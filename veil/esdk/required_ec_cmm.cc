#include "veil/esdk/required_ec_cmm.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"

namespace veil::esdk {

absl::StatusOr<std::unique_ptr<RequiredEncryptionContextCmm>> RequiredEncryptionContextCmm::Create(
    std::shared_ptr<CryptoMaterialsManager> underlying, std::set<std::string> required_keys) {
  if (underlying == nullptr) return absl::InvalidArgumentError("no underlying CMM");
  if (required_keys.empty()) return absl::InvalidArgumentError("no required encryption context keys");
  return std::unique_ptr<RequiredEncryptionContextCmm>(
      new RequiredEncryptionContextCmm(std::move(underlying), std::move(required_keys)));
}

absl::StatusOr<EncryptionMaterials> RequiredEncryptionContextCmm::GetEncryptionMaterials(
    const EncryptionMaterialsRequest& request) {
  //= framework/required-encryption-context-cmm.md#get-encryption-materials
  //# The encryption context on the encryption materials request MUST contain
  //# a value for every key in the configured required encryption context keys.
  for (const std::string& key : required_keys_) {
    if (!request.encryption_context.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("encryption context lacks the required key '", key, "'"));
    }
  }
  VEIL_ASSIGN_OR_RETURN(EncryptionMaterials materials, underlying_->GetEncryptionMaterials(request));
  for (const std::string& key : required_keys_) {
    if (!materials.encryption_context.contains(key)) {
      return absl::InternalError("underlying CMM dropped a required encryption context key");
    }
    materials.required_encryption_context_keys.insert(key);
  }
  return materials;
}

absl::StatusOr<DecryptionMaterials> RequiredEncryptionContextCmm::DecryptMaterials(
    const DecryptionMaterialsRequest& request) {
  //= framework/required-encryption-context-cmm.md#decrypt-materials
  //# The reproduced encryption context on the decrypt materials request MUST
  //# contain a value for every key in the configured required encryption
  //# context keys.
  for (const std::string& key : required_keys_) {
    if (!request.reproduced_encryption_context.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("reproduced encryption context lacks the required key '", key, "'"));
    }
  }
  VEIL_ASSIGN_OR_RETURN(DecryptionMaterials materials, underlying_->DecryptMaterials(request));
  for (const std::string& key : required_keys_) {
    if (!materials.encryption_context.contains(key)) {
      return absl::InternalError("underlying CMM dropped a required encryption context key");
    }
  }
  return materials;
}

}  // namespace veil::esdk
