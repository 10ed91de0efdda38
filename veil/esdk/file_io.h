// File streaming for ESDK messages: encrypt or decrypt a file (or
// stdin/stdout) with bounded memory, and all-or-nothing output.
// Spec: client-apis/encrypt.md, client-apis/decrypt.md (streaming).
#ifndef VEIL_ESDK_FILE_IO_H_
#define VEIL_ESDK_FILE_IO_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "veil/esdk/cmm.h"
#include "veil/esdk/decryptor.h"
#include "veil/esdk/encryptor.h"

namespace veil::esdk {

// kStdioPath names stdin (as an input) or stdout (as an output).
inline constexpr char kStdioPath[] = "-";
// kStreamChunkSize is how many bytes are read from the input at a time.
inline constexpr size_t kStreamChunkSize = 64 * 1024;

// EncryptStream encrypts the file `input_path` into one ESDK message at
// `output_path`, reading kStreamChunkSize bytes at a time through a
// MessageEncryptor, so memory is bounded by one frame plus one chunk. When the
// input is a regular file its size is passed to the CMM as the plaintext
// length (the input must not change while it is read).
//
// The output is all-or-nothing: the message is written to a temporary file
// (mode 0600) in the output's directory, fsynced and renamed over
// `output_path` only after the encryptor finished; on any failure the
// temporary file is removed and `output_path` is untouched. For output "-"
// the message is spooled to an unlinked temporary file (in $TMPDIR or /tmp)
// and copied to stdout only on success. The output file gets mode 0600.
//
// Fails with InvalidArgument when `output_path` names the input (same path or
// same file), with the encryptor's or CMM's error, or with an errno-derived
// status for I/O errors. Input "-" is stdin.
absl::Status EncryptStream(CryptoMaterialsManager& cmm, const std::string& input_path,
                           const std::string& output_path, const EncryptOptions& options);

// DecryptStream decrypts the ESDK message in `input_path` into `output_path`
// with a MessageDecryptor, memory bounded by one frame plus one chunk.
//
// All-or-nothing: plaintext goes only to a temporary file (mode 0600) that is
// renamed over `output_path` after the final frame, the absence of trailing
// bytes and (for signed suites) the signature have verified. On any failure
// the temporary file is removed, `output_path` is untouched and `out_info`
// is not written. For output "-" the plaintext is spooled to an unlinked
// temporary file and copied to stdout only after verification, so stdout
// never receives unauthenticated plaintext. Plaintext held in memory is wiped
// after each write. The output file gets mode 0600.
//
// On success `*out_info` (if non-null) describes the message. Errors are
// those of MessageDecryptor (every authentication failure is Unauthenticated
// with kAuthenticationFailedMessage), InvalidArgument for an output naming the
// input, or an errno-derived status for I/O errors.
absl::Status DecryptStream(CryptoMaterialsManager& cmm, const std::string& input_path,
                           const std::string& output_path, const DecryptOptions& options,
                           MessageInfo* out_info);

}  // namespace veil::esdk

#endif  // VEIL_ESDK_FILE_IO_H_
