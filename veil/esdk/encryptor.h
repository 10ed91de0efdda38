// MessageEncryptor: streaming encryption into the ESDK message format.
// Spec: client-apis/encrypt.md (brief section 8).
#ifndef VEIL_ESDK_ENCRYPTOR_H_
#define VEIL_ESDK_ENCRYPTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/esdk/cmm.h"

namespace veil::esdk {

inline constexpr uint32_t kDefaultFrameLength = 4096;

struct EncryptOptions {
  CommitmentPolicy commitment_policy = CommitmentPolicy::kRequireEncryptRequireDecrypt;
  // The suite to write; empty = the policy's default (0x0578).
  std::optional<uint16_t> suite_id;
  // 1 to 2^32 - 1 bytes of plaintext per frame.
  uint32_t frame_length = kDefaultFrameLength;
  // When set, materials with more EDKs than this fail.
  std::optional<size_t> max_encrypted_data_keys;
  EncryptionContext encryption_context;
};

// MessageEncryptor writes one framed message. Memory use is bounded by one
// frame regardless of the plaintext length. Not thread-safe.
class MessageEncryptor {
 public:
  // Create validates the options and obtains materials from `cmm`. When
  // `plaintext_length` is known it is passed to the CMM (data-key caching
  // needs it) and the plaintext fed must be exactly that long.
  static absl::StatusOr<std::unique_ptr<MessageEncryptor>> Create(
      CryptoMaterialsManager& cmm, const EncryptOptions& options,
      std::optional<uint64_t> plaintext_length = std::nullopt);
  ~MessageEncryptor();

  // Update consumes `plaintext` and appends the ciphertext produced so far
  // (the header on the first call, then whole frames) to `out`.
  absl::Status Update(absl::Span<const uint8_t> plaintext, std::vector<uint8_t>* out);
  // Finish appends the final frame and, for signed suites, the footer. The
  // encryptor must not be used afterwards.
  absl::Status Finish(std::vector<uint8_t>* out);

  // The suite and full encryption context (including aws-crypto-public-key)
  // of the message being written.
  const AlgorithmSuite& suite() const;
  const EncryptionContext& encryption_context() const;
  // CiphertextLength returns the exact message length for a plaintext of
  // `plaintext_length` bytes (signatures are written at fixed length).
  uint64_t CiphertextLength(uint64_t plaintext_length) const;

 private:
  struct State;
  explicit MessageEncryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_ENCRYPTOR_H_
