// One-shot encrypt and decrypt of ESDK messages: the entry points most
// callers want.
// Spec: client-apis/encrypt.md, client-apis/decrypt.md.
#ifndef VEIL_ESDK_ESDK_H_
#define VEIL_ESDK_ESDK_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"
#include "veil/esdk/cmm.h"
#include "veil/esdk/decryptor.h"
#include "veil/esdk/encryptor.h"
#include "veil/esdk/keyring.h"

namespace veil::esdk {

// Encrypt returns the complete message for `plaintext`.
absl::StatusOr<std::vector<uint8_t>> Encrypt(CryptoMaterialsManager& cmm,
                                             absl::Span<const uint8_t> plaintext,
                                             const EncryptOptions& options);
// Encrypt with a keyring wraps it in a DefaultCmm.
absl::StatusOr<std::vector<uint8_t>> Encrypt(std::shared_ptr<const Keyring> keyring,
                                             absl::Span<const uint8_t> plaintext,
                                             const EncryptOptions& options);

struct DecryptResult {
  SecretBytes plaintext;
  MessageInfo info;
};

// Decrypt is all-or-nothing: it returns the plaintext only after every frame
// tag, the header tag, the key commitment and (for signed suites) the
// signature have verified and no byte follows the message. On failure no
// plaintext is returned and every buffer that held some has been wiped. All
// authentication failures give Unauthenticated with
// kAuthenticationFailedMessage.
absl::StatusOr<DecryptResult> Decrypt(CryptoMaterialsManager& cmm,
                                      absl::Span<const uint8_t> ciphertext,
                                      const DecryptOptions& options);
absl::StatusOr<DecryptResult> Decrypt(std::shared_ptr<const Keyring> keyring,
                                      absl::Span<const uint8_t> ciphertext,
                                      const DecryptOptions& options);

}  // namespace veil::esdk

#endif  // VEIL_ESDK_ESDK_H_
