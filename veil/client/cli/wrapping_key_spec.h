// Wrapping-key specs on the command line, and the keyrings they name.
//
//   raw-aes:<provider-id>:<key-name>:<key-file>
//   raw-rsa:<provider-id>:<key-name>:<pem-file>:<padding>
//   kms:<key-id-or-arn>
//
// Provider ids and key names cannot contain ':'; file names can.
#ifndef VEIL_CLIENT_CLI_WRAPPING_KEY_SPEC_H_
#define VEIL_CLIENT_CLI_WRAPPING_KEY_SPEC_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "veil/crypto/rsa.h"
#include "veil/esdk/keyring.h"
#include "veil/kms/client.h"

namespace veil::client {

// WrappingKeySpec is a parsed --wrapping-key value. It names files; no key
// material is read until LoadKeyring.
struct WrappingKeySpec {
  enum class Type { kRawAes, kRawRsa, kKms };
  Type type = Type::kRawAes;
  std::string provider_id;  // raw-*: the keyring namespace
  std::string key_name;     // raw-*
  std::string key_file;     // raw-aes: 16/24/32 raw bytes; raw-rsa: PEM
  crypto::RsaPadding padding = crypto::RsaPadding::kOaepSha256;  // raw-rsa
  std::string kms_key_id;                                        // kms
};

// ParseWrappingKeySpec parses one spec. Malformed specs (unknown type,
// missing or empty fields, unknown padding, a KMS identifier that is not a
// key ARN, alias ARN, alias name or key id) are UsageError.
absl::StatusOr<WrappingKeySpec> ParseWrappingKeySpec(std::string_view spec);

// KeyringUse says what the keyrings are for. Decrypting with KMS needs key
// ARNs (brief section 14, gotcha 13).
enum class KeyringUse { kEncrypt, kDecrypt };

// KmsClientFactory makes the KMS client kms: specs use.
using KmsClientFactory = std::function<absl::StatusOr<std::shared_ptr<kms::KmsClient>>()>;

// KmsClientFromEnvironment is the default factory: credentials, region and
// endpoint found the way the AWS SDKs find them (kms::ResolveAwsConfig), so
// AWS_ENDPOINT_URL_KMS points `veil` at veil-kms and its absence at AWS KMS.
absl::StatusOr<std::shared_ptr<kms::KmsClient>> KmsClientFromEnvironment();

// KeyringSources are what loading keyrings may use besides files.
struct KeyringSources {
  KeyringUse use = KeyringUse::kEncrypt;
  KmsClientFactory kms_client = KmsClientFromEnvironment;
};

// CheckSpecForUse refuses (UsageError) a kms: spec that cannot serve `use`:
// decryption needs a key ARN, and the message says why an alias or key id
// cannot work and how to find the ARN.
absl::Status CheckSpecForUse(const WrappingKeySpec& spec, KeyringUse use);

// LoadKeyring reads the key file(s) and builds the keyring. Key bytes are
// held only in SecretBytes and never appear in errors. A raw-aes key file
// must hold exactly 16, 24 or 32 bytes. A raw-rsa PEM file may hold an SPKI
// public key, a PKCS#8 or PKCS#1 private key, or both; with only a private
// key the public half is derived from it. A kms spec gives a kms::KmsKeyring
// over `kms_client` (made with sources.kms_client when null).
absl::StatusOr<std::shared_ptr<const esdk::Keyring>> LoadKeyring(
    const WrappingKeySpec& spec, const KeyringSources& sources = {},
    std::shared_ptr<kms::KmsClient> kms_client = nullptr);

// KeyringFromSpecs parses and checks every spec (all usage errors come
// before any file is read or any client made), then loads them; kms specs
// share one client. One spec gives its keyring; several give a MultiKeyring
// whose generator is the first and whose children are the rest.
absl::StatusOr<std::shared_ptr<const esdk::Keyring>> KeyringFromSpecs(
    const std::vector<std::string>& specs, const KeyringSources& sources = {});

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_WRAPPING_KEY_SPEC_H_
