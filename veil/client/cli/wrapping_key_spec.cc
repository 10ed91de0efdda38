#include "veil/client/cli/wrapping_key_spec.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/local_files.h"
#include "veil/common/byte_reader.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/esdk/multi_keyring.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/esdk/raw_rsa_keyring.h"
#include "veil/kms/arn.h"
#include "veil/kms/kms_keyring.h"

namespace veil::client {
namespace {

constexpr char kSpecHelp[] =
    "raw-aes:<provider-id>:<key-name>:<key-file>, "
    "raw-rsa:<provider-id>:<key-name>:<pem-file>:<padding> or kms:<key-id>";
constexpr size_t kMaxAesKeyFile = 32;
constexpr size_t kMaxPemFile = 64 * 1024;

absl::Status BadSpec(std::string_view spec, std::string_view why) {
  return UsageError(absl::StrCat("--wrapping-key '", std::string(spec), "': ", std::string(why),
                                 " (expected ", kSpecHelp, ")"));
}

// PemBlock returns the first "-----BEGIN <label>-----" ... "-----END
// <label>-----" block of `text` (including both lines), or nullopt.
std::optional<std::string_view> PemBlock(std::string_view text, std::string_view label) {
  const std::string begin = absl::StrCat("-----BEGIN ", std::string(label), "-----");
  const std::string end = absl::StrCat("-----END ", std::string(label), "-----");
  const size_t b = text.find(begin);
  if (b == std::string_view::npos) return std::nullopt;
  const size_t e = text.find(end, b);
  if (e == std::string_view::npos) return std::nullopt;
  return text.substr(b, e + end.size() - b);
}

absl::StatusOr<std::shared_ptr<const esdk::Keyring>> LoadRawAes(const WrappingKeySpec& spec) {
  VEIL_ASSIGN_OR_RETURN(SecretBytes key,
                        ReadSecretFile(spec.key_file, kMaxAesKeyFile, "AES key file"));
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AES key file ", spec.key_file, " holds ", key.size(),
        " bytes; it must hold exactly 16, 24 or 32 raw bytes (make one with 'veil keygen --aes')"));
  }
  VEIL_ASSIGN_OR_RETURN(
      auto keyring, esdk::RawAesKeyring::Create(spec.provider_id, spec.key_name, std::move(key)));
  return std::shared_ptr<const esdk::Keyring>(std::move(keyring));
}

absl::StatusOr<std::shared_ptr<const esdk::Keyring>> LoadRawRsa(const WrappingKeySpec& spec) {
  VEIL_ASSIGN_OR_RETURN(SecretBytes pem, ReadSecretFile(spec.key_file, kMaxPemFile, "PEM file"));
  const std::string_view text = AsStringView(pem.Expose());
  auto refuse = [&spec](std::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("PEM file ", spec.key_file, ": ", std::string(why)));
  };
  if (text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos) {
    return refuse("password-protected private keys are not supported");
  }
  std::optional<std::string_view> private_block = PemBlock(text, "PRIVATE KEY");
  if (!private_block) private_block = PemBlock(text, "RSA PRIVATE KEY");
  std::optional<std::string_view> public_block = PemBlock(text, "PUBLIC KEY");
  if (!public_block && text.find("-----BEGIN RSA PUBLIC KEY-----") != std::string_view::npos) {
    return refuse(
        "PKCS#1 'RSA PUBLIC KEY' is not supported; use a SubjectPublicKeyInfo 'PUBLIC KEY' "
        "(openssl pkey -pubout)");
  }
  if (!private_block && !public_block) {
    return refuse("holds no 'PUBLIC KEY', 'PRIVATE KEY' or 'RSA PRIVATE KEY' block");
  }
  // The private block stays in wiping memory; the public half is not secret.
  SecretBytes private_pem;
  if (private_block) private_pem = SecretBytes::Copy(AsBytes(*private_block));
  std::string public_pem;
  if (public_block) {
    public_pem = std::string(*public_block);
  } else {
    VEIL_ASSIGN_OR_RETURN(auto private_key,
                          crypto::RsaPrivateKey::FromPem(AsStringView(private_pem.Expose())));
    VEIL_ASSIGN_OR_RETURN(public_pem, private_key->PublicKeyPem());
  }
  VEIL_ASSIGN_OR_RETURN(
      auto keyring, esdk::RawRsaKeyring::Create(spec.provider_id, spec.key_name, spec.padding,
                                                public_pem, AsStringView(private_pem.Expose())));
  return std::shared_ptr<const esdk::Keyring>(std::move(keyring));
}

// MakeKmsClient runs the factory, naming the spec in its errors (for
// example, missing AWS credentials).
absl::StatusOr<std::shared_ptr<kms::KmsClient>> MakeKmsClient(const KeyringSources& sources,
                                                              const WrappingKeySpec& spec) {
  if (!sources.kms_client) return absl::FailedPreconditionError("no KMS client configured");
  absl::StatusOr<std::shared_ptr<kms::KmsClient>> made = sources.kms_client();
  if (!made.ok()) {
    return absl::Status(made.status().code(),
                        absl::StrCat("kms:", spec.kms_key_id, ": ", made.status().message()));
  }
  return made;
}

}  // namespace

absl::StatusOr<WrappingKeySpec> ParseWrappingKeySpec(std::string_view spec) {
  WrappingKeySpec out;
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return BadSpec(spec, "no key type");
  const std::string_view type = spec.substr(0, colon);
  std::string_view rest = spec.substr(colon + 1);

  if (type == "kms") {
    if (rest.empty()) return BadSpec(spec, "empty KMS key id");
    if (absl::Status s = kms::ValidateKmsKeyIdentifier(rest); !s.ok()) {
      return BadSpec(spec, std::string(s.message()));
    }
    out.type = WrappingKeySpec::Type::kKms;
    out.kms_key_id = std::string(rest);
    return out;
  }
  if (type != "raw-aes" && type != "raw-rsa") {
    return BadSpec(spec, absl::StrCat("unknown key type '", std::string(type), "'"));
  }
  out.type = type == "raw-aes" ? WrappingKeySpec::Type::kRawAes : WrappingKeySpec::Type::kRawRsa;

  // <provider-id>:<key-name>:<file>[:<padding>]; the file may contain ':'.
  const size_t c1 = rest.find(':');
  const size_t c2 = c1 == std::string_view::npos ? c1 : rest.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return BadSpec(spec, "too few fields");
  out.provider_id = std::string(rest.substr(0, c1));
  out.key_name = std::string(rest.substr(c1 + 1, c2 - c1 - 1));
  std::string_view file = rest.substr(c2 + 1);
  if (out.type == WrappingKeySpec::Type::kRawRsa) {
    const size_t last = file.rfind(':');
    if (last == std::string_view::npos) return BadSpec(spec, "no padding");
    const std::string_view padding = file.substr(last + 1);
    auto parsed = esdk::ParseRsaPadding(padding);
    if (!parsed.ok()) {
      return BadSpec(spec, absl::StrCat("unknown padding '", std::string(padding),
                                        "' (pkcs1, oaep-sha1, oaep-sha256, oaep-sha384 or "
                                        "oaep-sha512)"));
    }
    out.padding = *parsed;
    file = file.substr(0, last);
  }
  if (out.provider_id.empty()) return BadSpec(spec, "empty provider id");
  if (out.key_name.empty()) return BadSpec(spec, "empty key name");
  if (file.empty()) return BadSpec(spec, "empty key file");
  out.key_file = std::string(file);
  return out;
}

absl::StatusOr<std::shared_ptr<kms::KmsClient>> KmsClientFromEnvironment() {
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<kms::KmsClient> client,
                        kms::NewKmsClientFromEnvironment({}, kms::AwsEnvironment::Process()));
  return std::shared_ptr<kms::KmsClient>(std::move(client));
}

absl::Status CheckSpecForUse(const WrappingKeySpec& spec, KeyringUse use) {
  if (spec.type != WrappingKeySpec::Type::kKms || use != KeyringUse::kDecrypt) {
    return absl::OkStatus();
  }
  if (kms::ParseKmsKeyArn(spec.kms_key_id).ok()) return absl::OkStatus();
  // Gotcha 13: the EDK names the key ARN KMS answered with when encrypting,
  // and the keyring only unwraps EDKs equal to its identifier.
  return UsageError(absl::StrCat(
      "--wrapping-key kms:", spec.kms_key_id,
      ": decrypting needs the key ARN (arn:aws:kms:<region>:<account>:key/<key-id>). Encrypted "
      "messages record the key ARN KMS answered with, never an alias or a bare key id, so '",
      spec.kms_key_id,
      "' can never match. Find the ARN with: aws kms describe-key --key-id ", spec.kms_key_id,
      " --query KeyMetadata.Arn"));
}

absl::StatusOr<std::shared_ptr<const esdk::Keyring>> LoadKeyring(
    const WrappingKeySpec& spec, const KeyringSources& sources,
    std::shared_ptr<kms::KmsClient> kms_client) {
  switch (spec.type) {
    case WrappingKeySpec::Type::kRawAes:
      return LoadRawAes(spec);
    case WrappingKeySpec::Type::kRawRsa:
      return LoadRawRsa(spec);
    case WrappingKeySpec::Type::kKms:
      break;
  }
  VEIL_RETURN_IF_ERROR(CheckSpecForUse(spec, sources.use));
  if (kms_client == nullptr) {
    VEIL_ASSIGN_OR_RETURN(kms_client, MakeKmsClient(sources, spec));
  }
  VEIL_ASSIGN_OR_RETURN(auto keyring, kms::KmsKeyring::Create(std::move(kms_client),
                                                              spec.kms_key_id));
  return std::shared_ptr<const esdk::Keyring>(std::move(keyring));
}

absl::StatusOr<std::shared_ptr<const esdk::Keyring>> KeyringFromSpecs(
    const std::vector<std::string>& specs, const KeyringSources& sources) {
  if (specs.empty()) return UsageError("at least one --wrapping-key is required");
  std::vector<WrappingKeySpec> parsed;
  for (const std::string& s : specs) {
    VEIL_ASSIGN_OR_RETURN(WrappingKeySpec p, ParseWrappingKeySpec(s));
    VEIL_RETURN_IF_ERROR(CheckSpecForUse(p, sources.use));
    parsed.push_back(std::move(p));
  }
  std::vector<std::shared_ptr<const esdk::Keyring>> keyrings;
  std::shared_ptr<kms::KmsClient> kms_client;  // one for every kms: spec
  for (const WrappingKeySpec& p : parsed) {
    if (p.type == WrappingKeySpec::Type::kKms && kms_client == nullptr) {
      VEIL_ASSIGN_OR_RETURN(kms_client, MakeKmsClient(sources, p));
    }
    VEIL_ASSIGN_OR_RETURN(auto keyring, LoadKeyring(p, sources, kms_client));
    keyrings.push_back(std::move(keyring));
  }
  if (keyrings.size() == 1) return keyrings.front();
  std::shared_ptr<const esdk::Keyring> generator = keyrings.front();
  keyrings.erase(keyrings.begin());
  VEIL_ASSIGN_OR_RETURN(auto multi, esdk::MultiKeyring::Create(generator, std::move(keyrings)));
  return std::shared_ptr<const esdk::Keyring>(std::move(multi));
}

}  // namespace veil::client
