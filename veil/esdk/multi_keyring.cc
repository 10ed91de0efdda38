#include "veil/esdk/multi_keyring.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"

namespace veil::esdk {

absl::StatusOr<std::unique_ptr<MultiKeyring>> MultiKeyring::Create(
    std::shared_ptr<const Keyring> generator, std::vector<std::shared_ptr<const Keyring>> children) {
  if (generator == nullptr && children.empty()) {
    return absl::InvalidArgumentError("multi-keyring needs a generator or children");
  }
  for (const auto& child : children) {
    if (child == nullptr) return absl::InvalidArgumentError("multi-keyring child is null");
  }
  return std::unique_ptr<MultiKeyring>(new MultiKeyring(std::move(generator), std::move(children)));
}

absl::Status MultiKeyring::OnEncrypt(EncryptionMaterials& materials) const {
  //= framework/multi-keyring.md#onencrypt
  //# If this keyring does not have a generator keyring, and the input
  //# encryption materials does not include a plaintext data key, OnEncrypt
  //# MUST fail.
  if (generator_ == nullptr && !materials.plaintext_data_key) {
    return absl::FailedPreconditionError("multi-keyring without a generator needs a data key");
  }
  // Work on a copy so a failing child leaves the caller's materials unchanged.
  EncryptionMaterials work = materials.Clone();
  if (generator_ != nullptr) VEIL_RETURN_IF_ERROR(generator_->OnEncrypt(work));
  for (const auto& child : children_) VEIL_RETURN_IF_ERROR(child->OnEncrypt(work));
  materials = std::move(work);
  return absl::OkStatus();
}

absl::Status MultiKeyring::OnDecrypt(DecryptionMaterials& materials,
                                     absl::Span<const EncryptedDataKey> edks) const {
  if (materials.plaintext_data_key) {
    return absl::FailedPreconditionError("decryption materials already hold a data key");
  }
  std::vector<std::string> errors;
  auto attempt = [&](const Keyring& k) {
    absl::Status s = k.OnDecrypt(materials, edks);
    if (!s.ok()) errors.push_back(std::string(s.message()));
    return s.ok() && materials.plaintext_data_key.has_value();
  };
  if (generator_ != nullptr && attempt(*generator_)) return absl::OkStatus();
  for (const auto& child : children_) {
    if (attempt(*child)) return absl::OkStatus();
  }
  std::string joined;
  for (const auto& e : errors) absl::StrAppend(&joined, joined.empty() ? "" : "; ", e);
  return absl::PermissionDeniedError(
      absl::StrCat("no keyring could unwrap an encrypted data key: ", joined));
}

}  // namespace veil::esdk
