// Help text shared by several `veil` subcommands.
#ifndef VEIL_CLIENT_CLI_HELP_TEXT_H_
#define VEIL_CLIENT_CLI_HELP_TEXT_H_

namespace veil::client {

inline constexpr char kWrappingKeyHelp[] =
    "Wrapping key SPEC (repeatable; with several, the first generates the data key and every "
    "one wraps it)";

inline constexpr char kWrappingKeySpecFooter[] =
    "\nWrapping key SPECs:\n"
    "  raw-aes:<provider-id>:<key-name>:<key-file>\n"
    "      key-file holds exactly 16, 24 or 32 raw bytes (veil keygen --aes 256 --out FILE)\n"
    "  raw-rsa:<provider-id>:<key-name>:<pem-file>:<padding>\n"
    "      pem-file holds a public key (encrypt), a private key (both), or both;\n"
    "      padding is pkcs1, oaep-sha1, oaep-sha256, oaep-sha384 or oaep-sha512\n"
    "      (veil keygen --rsa 3072 --out PREFIX makes PREFIX.pem and PREFIX.pub.pem)\n"
    "  kms:<key-id-or-arn>\n"
    "      an AWS KMS key (key ARN, alias ARN, alias/<name> or key id to encrypt; the key ARN\n"
    "      to decrypt). Credentials, region and endpoint come from the AWS environment and\n"
    "      ~/.aws files; AWS_ENDPOINT_URL_KMS points at veil-kms instead of AWS KMS\n"
    "  provider-id and key-name must match the ones used to encrypt.\n";

inline constexpr char kCommitmentPolicyHelp[] =
    "require-encrypt-require-decrypt (default), require-encrypt-allow-decrypt or "
    "forbid-encrypt-allow-decrypt";

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_HELP_TEXT_H_
