#include "fuzz/esdk_decrypt_fuzzer.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/types/span.h"
#include "veil/common/byte_reader.h"
#include "veil/common/secret_bytes.h"
#include "veil/esdk/decryptor.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/encryption_context.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"

namespace veil::fuzz {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "esdk_decrypt_fuzzer: invariant violated: %s\n", what);
  std::abort();
}

esdk::DecryptOptions FuzzOptions() {
  esdk::DecryptOptions options;
  // Permissive: every suite, committing or not, is decrypted.
  options.commitment_policy = esdk::CommitmentPolicy::kRequireEncryptAllowDecrypt;
  return options;
}

esdk::CryptoMaterialsManager& FuzzCmm() {
  static const std::unique_ptr<esdk::DefaultCmm> cmm = esdk::DefaultCmm::Create(FuzzKeyring());
  return *cmm;
}

bool SameBytes(const SecretBytes& a, const SecretBytes& b) {
  return std::equal(a.Expose().begin(), a.Expose().end(), b.Expose().begin(), b.Expose().end());
}

// A parsed context must serialize and parse back to itself.
void CheckEncryptionContext(absl::Span<const uint8_t> bytes) {
  auto ec = esdk::ParseEncryptionContext(bytes);
  if (!ec.ok()) return;
  auto serialized = esdk::SerializeEncryptionContext(*ec);
  if (!serialized.ok()) return;  // e.g. a context too large to re-serialize
  auto reparsed = esdk::ParseEncryptionContext(*serialized);
  if (!reparsed.ok() || *reparsed != *ec) Fail("encryption context round trip");
  // Canonical order changes nothing but the order of the entries.
  if (serialized->size() != bytes.size()) Fail("canonical encryption context changed length");
}

// The header's encryption-context field, located by the fixed offsets of
// the v1 and v2 headers (without parsing anything else).
void CheckHeaderEncryptionContext(absl::Span<const uint8_t> message) {
  if (message.empty()) return;
  const size_t offset = message[0] == 1 ? 1 + 1 + 2 + 16 : 1 + 2 + 32;
  if (message.size() < offset) return;
  ByteReader r(message.subspan(offset));
  absl::Span<const uint8_t> field;
  if (r.ReadLengthPrefixed16(&field)) CheckEncryptionContext(field);
}

// Streaming decryption in chunks of `chunk` bytes; returns whether the whole
// message decrypted, and the plaintext in `out`.
bool DecryptStreaming(absl::Span<const uint8_t> message, size_t chunk, SecretBytes* out) {
  auto decryptor = esdk::MessageDecryptor::Create(FuzzCmm(), FuzzOptions());
  size_t pos = 0;
  do {
    const size_t n = std::min(chunk, message.size() - pos);
    if (!decryptor->Update(message.subspan(pos, n), out).ok()) {
      // A failed decryptor stays failed.
      if (decryptor->Update({}, out).ok() || decryptor->Finish(out).ok()) {
        Fail("decryptor accepted input after an error");
      }
      return false;
    }
    pos += n;
  } while (pos < message.size());
  if (!decryptor->Finish(out).ok()) return false;
  if (decryptor->info() == nullptr) Fail("decrypted message without MessageInfo");
  return true;
}

}  // namespace

std::shared_ptr<const esdk::Keyring> FuzzKeyring() {
  static const std::shared_ptr<const esdk::Keyring> keyring = [] {
    std::vector<uint8_t> key(32);
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
    auto created = esdk::RawAesKeyring::Create(kFuzzKeyNamespace, kFuzzKeyName,
                                               SecretBytes::Copy(key));
    if (!created.ok()) Fail("cannot create the fuzz keyring");
    return std::shared_ptr<const esdk::Keyring>(std::move(*created));
  }();
  return keyring;
}

size_t ChunkSizeForSelector(uint8_t selector, size_t message_size) {
  if (selector == 0) return std::max<size_t>(message_size, 1);
  if (selector < 128) return selector;
  return static_cast<size_t>(selector - 127) * 61;
}

}  // namespace veil::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace veil;
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const absl::Span<const uint8_t> message(data + 1, size - 1);

  auto one_shot = esdk::Decrypt(fuzz::FuzzCmm(), message, fuzz::FuzzOptions());

  SecretBytes streamed;
  const bool streaming_ok = fuzz::DecryptStreaming(
      message, fuzz::ChunkSizeForSelector(selector, message.size()), &streamed);

  if (one_shot.ok() != streaming_ok) fuzz::Fail("one-shot and streaming decrypt disagree");
  if (streaming_ok && !fuzz::SameBytes(one_shot->plaintext, streamed)) {
    fuzz::Fail("one-shot and streaming plaintexts differ");
  }
  if (one_shot.ok() && one_shot->plaintext.size() >= message.size()) {
    fuzz::Fail("plaintext is not shorter than its message");
  }

  fuzz::CheckEncryptionContext(message);
  fuzz::CheckHeaderEncryptionContext(message);
  return 0;
}
