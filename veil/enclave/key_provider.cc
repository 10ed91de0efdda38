#include "veil/enclave/key_provider.h"

#include "absl/status/status.h"

namespace veil::enclave {

absl::StatusOr<std::shared_ptr<const esdk::Keyring>> StaticKeyProvider::KeyringFor(
    const std::string& tenant) const {
  auto it = keyrings_.find(tenant);
  if (it == keyrings_.end()) return absl::PermissionDeniedError("tenant not configured");
  return it->second;
}

}  // namespace veil::enclave
