#include "veil/client/cli/keygen_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/local_files.h"
#include "veil/common/byte_reader.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"
#include "veil/crypto/rsa.h"

namespace veil::client {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

absl::Status RefuseExisting(const std::string& path) {
  if (Exists(path)) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, " already exists; refusing to overwrite it"));
  }
  return absl::OkStatus();
}

absl::Status GenerateAes(int bits, const std::string& out) {
  if (bits != 128 && bits != 192 && bits != 256) {
    return UsageError(absl::StrCat("--aes ", bits, ": must be 128, 192 or 256"));
  }
  VEIL_RETURN_IF_ERROR(RefuseExisting(out));
  VEIL_ASSIGN_OR_RETURN(SecretBytes key, crypto::RandomSecret(static_cast<size_t>(bits / 8)));
  return WriteNewFile(out, key.Expose(), 0600);
}

absl::Status GenerateRsa(int bits, const std::string& prefix) {
  if (bits != 2048 && bits != 3072 && bits != 4096) {
    return UsageError(absl::StrCat("--rsa ", bits, ": must be 2048, 3072 or 4096"));
  }
  const std::string private_path = absl::StrCat(prefix, ".pem");
  const std::string public_path = absl::StrCat(prefix, ".pub.pem");
  // Check both before the (slow) key generation.
  VEIL_RETURN_IF_ERROR(RefuseExisting(private_path));
  VEIL_RETURN_IF_ERROR(RefuseExisting(public_path));
  VEIL_ASSIGN_OR_RETURN(auto key, crypto::RsaPrivateKey::Generate(bits));
  VEIL_ASSIGN_OR_RETURN(SecretBytes private_pem, key->PrivateKeyPem());
  VEIL_ASSIGN_OR_RETURN(std::string public_pem, key->PublicKeyPem());
  VEIL_RETURN_IF_ERROR(WriteNewFile(private_path, private_pem.Expose(), 0600));
  absl::Status s = WriteNewFile(public_path, AsBytes(public_pem), 0644);
  if (!s.ok()) ::unlink(private_path.c_str());
  return s;
}

}  // namespace

absl::Status RunKeygen(const KeygenCommandOptions& options) {
  if (options.aes_bits.has_value() == options.rsa_bits.has_value()) {
    return UsageError("give exactly one of --aes BITS or --rsa BITS");
  }
  if (options.out.empty()) return UsageError("--out is empty");
  if (options.aes_bits) return GenerateAes(*options.aes_bits, options.out);
  return GenerateRsa(*options.rsa_bits, options.out);
}

CommandRunner AddKeygenFlags(CLI::App& cmd) {
  auto o = std::make_shared<KeygenCommandOptions>();
  cmd.add_option_function<int>(
         "--aes", [o](const int& bits) { o->aes_bits = bits; },
         "Make a random raw AES key of BITS (128, 192 or 256) for raw-aes: wrapping keys")
      ->type_name("BITS");
  cmd.add_option_function<int>(
         "--rsa", [o](const int& bits) { o->rsa_bits = bits; },
         "Make an RSA key pair of BITS (2048, 3072 or 4096) for raw-rsa: wrapping keys")
      ->type_name("BITS");
  cmd.add_option("--out", o->out,
                 "--aes: the key file to create (mode 0600). --rsa: a PREFIX; creates "
                 "PREFIX.pem (PKCS#8 private key, mode 0600) and PREFIX.pub.pem (public key)")
      ->required()
      ->type_name("FILE|PREFIX");
  cmd.footer(
      "\nExisting files are never overwritten. Keep key files private: anyone who can read "
      "them can decrypt.\n"
      "\nExamples:\n"
      "  veil keygen --aes 256 --out wrap.key\n"
      "      then --wrapping-key raw-aes:acme:wrap-1:wrap.key\n"
      "  veil keygen --rsa 3072 --out owner\n"
      "      encrypt with --wrapping-key raw-rsa:acme:owner-rsa:owner.pub.pem:oaep-sha256\n"
      "      decrypt with --wrapping-key raw-rsa:acme:owner-rsa:owner.pem:oaep-sha256\n");
  return [o] { return RunKeygen(*o); };
}

}  // namespace veil::client
