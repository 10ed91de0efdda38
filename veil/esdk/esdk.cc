#include "veil/esdk/esdk.h"

#include "veil/common/status_macros.h"
#include "veil/esdk/default_cmm.h"

namespace veil::esdk {

absl::StatusOr<std::vector<uint8_t>> Encrypt(CryptoMaterialsManager& cmm,
                                             absl::Span<const uint8_t> plaintext,
                                             const EncryptOptions& options) {
  VEIL_ASSIGN_OR_RETURN(auto encryptor, MessageEncryptor::Create(cmm, options, plaintext.size()));
  std::vector<uint8_t> out;
  out.reserve(encryptor->CiphertextLength(plaintext.size()));
  VEIL_RETURN_IF_ERROR(encryptor->Update(plaintext, &out));
  VEIL_RETURN_IF_ERROR(encryptor->Finish(&out));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> Encrypt(std::shared_ptr<const Keyring> keyring,
                                             absl::Span<const uint8_t> plaintext,
                                             const EncryptOptions& options) {
  auto cmm = DefaultCmm::Create(std::move(keyring));
  return Encrypt(*cmm, plaintext, options);
}

absl::StatusOr<DecryptResult> Decrypt(CryptoMaterialsManager& cmm,
                                      absl::Span<const uint8_t> ciphertext,
                                      const DecryptOptions& options) {
  auto decryptor = MessageDecryptor::Create(cmm, options);
  DecryptResult result;
  // Plaintext is never longer than the ciphertext; reserving avoids
  // reallocations (each of which would copy and wipe).
  result.plaintext.Reserve(ciphertext.size());
  absl::Status s = decryptor->Update(ciphertext, &result.plaintext);
  if (s.ok()) s = decryptor->Finish(&result.plaintext);
  if (!s.ok()) return s;  // result.plaintext is wiped on destruction
  result.info = *decryptor->info();
  return result;
}

absl::StatusOr<DecryptResult> Decrypt(std::shared_ptr<const Keyring> keyring,
                                      absl::Span<const uint8_t> ciphertext,
                                      const DecryptOptions& options) {
  auto cmm = DefaultCmm::Create(std::move(keyring));
  return Decrypt(*cmm, ciphertext, options);
}

}  // namespace veil::esdk
