// MultiKeyring: a generator keyring plus child keyrings.
// Spec: framework/multi-keyring.md (brief section 12).
#ifndef VEIL_ESDK_MULTI_KEYRING_H_
#define VEIL_ESDK_MULTI_KEYRING_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "veil/esdk/keyring.h"

namespace veil::esdk {

// MultiKeyring: on encrypt the generator makes (or receives) the data key and
// every child wraps it too; on decrypt the generator and then the children are
// tried in order until one unwraps. Thread-safe if its members are.
class MultiKeyring : public Keyring {
 public:
  // Create needs a generator or at least one child (InvalidArgument).
  static absl::StatusOr<std::unique_ptr<MultiKeyring>> Create(
      std::shared_ptr<const Keyring> generator,
      std::vector<std::shared_ptr<const Keyring>> children);

  absl::Status OnEncrypt(EncryptionMaterials& materials) const override;
  absl::Status OnDecrypt(DecryptionMaterials& materials,
                         absl::Span<const EncryptedDataKey> edks) const override;

 private:
  MultiKeyring(std::shared_ptr<const Keyring> generator,
               std::vector<std::shared_ptr<const Keyring>> children)
      : generator_(std::move(generator)), children_(std::move(children)) {}
  std::shared_ptr<const Keyring> generator_;
  std::vector<std::shared_ptr<const Keyring>> children_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_MULTI_KEYRING_H_
