// RootKey: the key that wraps everything veil-kms keeps at rest (key
// material, principals' secret access keys). It lives in one file of 32
// random bytes, mode 0600, in the data directory.
#ifndef VEIL_KMS_SERVER_ROOT_KEY_H_
#define VEIL_KMS_SERVER_ROOT_KEY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::kms_server {

inline constexpr size_t kRootKeySize = 32;

// RootKey seals and opens small secrets with AES-256-GCM under the root key.
// Every sealed value is bound to a caller-chosen `context` string (the AAD),
// so a wrapped key cannot be swapped for another row's. Thread-safe.
class RootKey {
 public:
  // LoadOrCreate reads the root key at `path`, or creates it (32 random
  // bytes, mode 0600, written and fsynced before it is used) when the file
  // does not exist. A file of the wrong size or with group/other permission
  // bits is FailedPrecondition: veil-kms refuses to run on a key anyone else
  // could have read.
  static absl::StatusOr<std::unique_ptr<RootKey>> LoadOrCreate(const std::string& path);
  // FromBytes wraps an existing key (tests, fuzzers). InvalidArgument unless
  // 32 bytes.
  static absl::StatusOr<std::unique_ptr<RootKey>> FromBytes(SecretBytes key);

  // Seal returns iv(12) || ciphertext || tag(16) of `plaintext` bound to
  // `context`.
  absl::StatusOr<std::vector<uint8_t>> Seal(std::string_view context,
                                            absl::Span<const uint8_t> plaintext) const;
  // Open reverses Seal; a wrong context, a different root key or any change
  // to `sealed` is Unauthenticated (DataLoss is never used: the caller
  // decides whether this means corruption).
  absl::StatusOr<SecretBytes> Open(std::string_view context,
                                   absl::Span<const uint8_t> sealed) const;

 private:
  explicit RootKey(SecretBytes key) : key_(std::move(key)) {}
  const SecretBytes key_;
};

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_ROOT_KEY_H_
