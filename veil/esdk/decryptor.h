// MessageDecryptor: streaming decryption of ESDK messages.
// Spec: client-apis/decrypt.md (brief section 9).
#ifndef VEIL_ESDK_DECRYPTOR_H_
#define VEIL_ESDK_DECRYPTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/esdk/cmm.h"

namespace veil::esdk {

struct DecryptOptions {
  CommitmentPolicy commitment_policy = CommitmentPolicy::kRequireEncryptRequireDecrypt;
  // When set, a message with more EDKs fails before any keyring is called.
  std::optional<size_t> max_encrypted_data_keys;
  // The context the caller reproduces: each pair must equal the stored pair,
  // or (if not stored) is authenticated as a required key.
  EncryptionContext reproduced_encryption_context;
  // Refuse signed suites right after the header (the spec's switch for
  // callers that must not release any plaintext before the end).
  bool refuse_signed_suites = false;
  // Limit on the header size in bytes (guards against huge EDK lists).
  size_t max_header_size = 1 << 20;
};

// MessageInfo describes a message whose header has been authenticated.
struct MessageInfo {
  uint16_t suite_id = 0;
  std::vector<uint8_t> message_id;
  // Stored pairs plus reproduced (authenticate-only) pairs.
  EncryptionContext encryption_context;
  uint32_t frame_length = 0;
  size_t encrypted_data_key_count = 0;
};

// kAuthenticationFailedMessage is the one message every authentication
// failure (header tag, frame tag, key commitment, signature) carries, with
// code Unauthenticated. Details never reach the caller (STYLE.md C4).
inline constexpr char kAuthenticationFailedMessage[] = "message authentication failed";

// MessageDecryptor decrypts one message fed in pieces.
//
// Release rules (brief section 9): nothing is released before the header tag
// verifies; plaintext of a regular frame is released once its tag verifies;
// for signed suites the final frame's plaintext is held until the signature
// verifies in Finish. Plaintext released before Finish succeeds is not yet
// known to belong to a complete, signed message: a caller that must be
// all-or-nothing (as the one-shot Decrypt and the file API are) discards it
// on any error. After an error every later call fails. Not thread-safe.
class MessageDecryptor {
 public:
  // Create makes a decryptor; `cmm` must outlive it.
  static std::unique_ptr<MessageDecryptor> Create(CryptoMaterialsManager& cmm,
                                                  DecryptOptions options);
  ~MessageDecryptor();

  // Update consumes ciphertext bytes and appends released plaintext to `out`.
  absl::Status Update(absl::Span<const uint8_t> ciphertext, SecretBytes* out);
  // Finish checks that a complete message (and nothing more) was fed and
  // appends any held plaintext. Fails (InvalidArgument) on a truncated
  // message.
  absl::Status Finish(SecretBytes* out);

  // info is set once the header has been authenticated.
  const MessageInfo* info() const;

 private:
  struct State;
  explicit MessageDecryptor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace veil::esdk

#endif  // VEIL_ESDK_DECRYPTOR_H_
