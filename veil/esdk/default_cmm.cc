#include "veil/esdk/default_cmm.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/ecdsa.h"

namespace veil::esdk {

std::unique_ptr<DefaultCmm> DefaultCmm::Create(std::shared_ptr<const Keyring> keyring) {
  return std::unique_ptr<DefaultCmm>(new DefaultCmm(std::move(keyring)));
}

absl::StatusOr<EncryptionMaterials> DefaultCmm::GetEncryptionMaterials(
    const EncryptionMaterialsRequest& request) {
  //= framework/default-cmm.md#get-encryption-materials
  //# If the encryption context included in the request contains the key
  //# "aws-crypto-public-key", this operation MUST fail.
  for (const auto& [key, value] : request.encryption_context) {
    if (absl::StartsWith(key, kReservedPrefix)) {
      return absl::InvalidArgumentError(
          absl::StrCat("encryption context key '", key, "' uses the reserved prefix aws-crypto-"));
    }
  }
  const uint16_t suite_id = request.suite_id.value_or(DefaultSuite(request.commitment_policy));
  const AlgorithmSuite* suite = FindSuite(suite_id);
  if (suite == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown algorithm suite ", SuiteIdString(suite_id)));
  }
  if (!SuiteAllowedForEncrypt(request.commitment_policy, *suite)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "algorithm suite ", SuiteIdString(suite_id), " is not allowed by the commitment policy"));
  }

  EncryptionMaterials materials;
  materials.suite = suite;
  materials.encryption_context = request.encryption_context;
  if (suite->signed_suite()) {
    VEIL_ASSIGN_OR_RETURN(auto signer, crypto::EcdsaSigner::Generate(*suite->signature_curve));
    materials.encryption_context[kPublicKeyContextKey] =
        Base64Encode(signer->CompressedPublicKey());
    VEIL_ASSIGN_OR_RETURN(materials.signing_key, signer->PrivateKeyDer());
  }
  VEIL_RETURN_IF_ERROR(keyring_->OnEncrypt(materials));
  if (!materials.plaintext_data_key || materials.plaintext_data_key->size() != suite->key_length) {
    return absl::InternalError("keyring did not produce a data key of the suite's length");
  }
  if (materials.encrypted_data_keys.empty()) {
    return absl::InternalError("keyring produced no encrypted data key");
  }
  return materials;
}

absl::StatusOr<DecryptionMaterials> DefaultCmm::DecryptMaterials(
    const DecryptionMaterialsRequest& request) {
  const AlgorithmSuite* suite = FindSuite(request.suite_id);
  if (suite == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown algorithm suite ", SuiteIdString(request.suite_id)));
  }
  if (!SuiteAllowedForDecrypt(request.commitment_policy, *suite)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "algorithm suite ", SuiteIdString(request.suite_id),
        " is not allowed by the commitment policy"));
  }

  DecryptionMaterials materials;
  materials.suite = suite;
  materials.encryption_context = request.encryption_context;
  //= framework/default-cmm.md#decrypt-materials
  //# For every key that exists in both the reproduced encryption context and
  //# the encryption context in the request, the values MUST be equal or this
  //# operation MUST fail.
  for (const auto& [key, value] : request.reproduced_encryption_context) {
    auto it = request.encryption_context.find(key);
    if (it == request.encryption_context.end()) {
      // Not stored: authenticated only, as a required key.
      materials.encryption_context.emplace(key, value);
      materials.required_encryption_context_keys.insert(key);
    } else if (it->second != value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "encryption context value for '", key, "' does not match the message"));
    }
  }

  auto pub = materials.encryption_context.find(kPublicKeyContextKey);
  if (suite->signed_suite()) {
    if (pub == materials.encryption_context.end()) {
      return absl::InvalidArgumentError(
          "signed algorithm suite but no aws-crypto-public-key in the encryption context");
    }
    auto point = Base64Decode(pub->second);
    if (!point.ok()) return absl::InvalidArgumentError("aws-crypto-public-key is not Base64");
    materials.verification_key = std::move(*point);
  } else if (pub != materials.encryption_context.end()) {
    return absl::InvalidArgumentError(
        "unsigned algorithm suite but aws-crypto-public-key is in the encryption context");
  }

  VEIL_RETURN_IF_ERROR(keyring_->OnDecrypt(materials, request.encrypted_data_keys));
  if (!materials.plaintext_data_key || materials.plaintext_data_key->size() != suite->key_length) {
    return absl::InternalError("keyring did not produce a data key of the suite's length");
  }
  return materials;
}

}  // namespace veil::esdk
