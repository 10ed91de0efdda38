// The ESDK decrypt fuzz target, shared by the libFuzzer binary (clang,
// `fuzz` preset) and its replay test (every build with tests), so the target
// is exercised on every compiler.
//
// Input layout: one selector byte, then the candidate message. The selector
// only picks the chunk size for the streaming pass (see ChunkSizeForSelector);
// the message bytes are what every decrypt path sees. Seeds written by
// esdk_corpus_gen follow the same layout.
#ifndef VEIL_FUZZ_ESDK_DECRYPT_FUZZER_H_
#define VEIL_FUZZ_ESDK_DECRYPT_FUZZER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "veil/esdk/keyring.h"

// LLVMFuzzerTestOneInput decrypts the message in `data` three ways (one-shot
// Decrypt, MessageDecryptor fed in chunks, and ParseEncryptionContext on the
// raw bytes and on the header's context field) under the permissive
// commitment policy with FuzzKeyring(). It aborts if the one-shot and the
// streaming decryptions disagree (one succeeds and the other fails, or they
// return different plaintexts) or if a parsed encryption context does not
// survive a serialize/parse round trip. Always returns 0.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace veil::fuzz {

inline constexpr char kFuzzKeyNamespace[] = "veil-fuzz";
inline constexpr char kFuzzKeyName[] = "fuzz-aes-256";

// FuzzKeyring returns the raw AES-256 keyring every fuzz input is decrypted
// with (a fixed, public key: byte i is i * 7 + 1). The same object is
// returned on every call.
std::shared_ptr<const esdk::Keyring> FuzzKeyring();

// ChunkSizeForSelector returns the streaming chunk size for `selector`: 0
// feeds the whole message in one Update, 1-127 that many bytes, 128-255
// (selector - 127) * 61 bytes (61 to 7808, crossing frame boundaries at odd
// offsets).
size_t ChunkSizeForSelector(uint8_t selector, size_t message_size);

}  // namespace veil::fuzz

#endif  // VEIL_FUZZ_ESDK_DECRYPT_FUZZER_H_
