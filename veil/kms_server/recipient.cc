#include "veil/kms_server/recipient.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "veil/attestation/verifier.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/rsa.h"

namespace veil::kms_server {
namespace {

std::string SpkiPem(const std::vector<uint8_t>& der) {
  const std::string b64 = Base64Encode(der);
  std::string pem = "-----BEGIN PUBLIC KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&pem, b64.substr(i, 64), "\n");
  absl::StrAppend(&pem, "-----END PUBLIC KEY-----\n");
  return pem;
}

class AttestationRecipientHandler : public RecipientHandler {
 public:
  AttestationRecipientHandler(std::unique_ptr<attestation::AttestationVerifier> verifier,
                              absl::Duration max_age)
      : verifier_(std::move(verifier)), max_age_(max_age) {}

  absl::StatusOr<AttestedRecipient> Verify(absl::Span<const uint8_t> document) const override {
    attestation::VerifyPolicy policy;
    policy.max_age = max_age_;
    // AWS KMS accepts debug-mode enclaves; their ImageSha384 is all zeros,
    // which no sensible policy condition matches.
    policy.allow_debug = true;
    policy.require_public_key = true;
    auto verified = verifier_->Verify(document, policy);
    if (!verified.ok()) {
      std::fprintf(stderr, "veil-kms: Recipient refused: %s\n",
                   std::string(verified.status().message()).c_str());
      return absl::UnauthenticatedError("attestation document refused");
    }
    if (!verified->public_key.has_value()) {
      return absl::UnauthenticatedError("attestation document has no public key");
    }
    auto key = crypto::RsaPublicKey::FromPem(SpkiPem(*verified->public_key));
    if (!key.ok() || (*key)->ModulusBits() != 2048) {
      std::fprintf(stderr, "veil-kms: Recipient refused: public_key is not an RSA-2048 SPKI\n");
      return absl::UnauthenticatedError("attestation public key is not RSA-2048");
    }
    AttestedRecipient r;
    r.pcrs = verified->pcrs;
    r.public_key_spki = *verified->public_key;
    r.module_id = verified->module_id;
    r.simulated = verified->root_sha256_hex != attestation::kAwsNitroRootG1Sha256Hex;
    return r;
  }

  absl::StatusOr<std::vector<uint8_t>> Seal(const AttestedRecipient& recipient,
                                            const SecretBytes& plaintext) const override {
    return crypto::EncryptForRecipient(plaintext, recipient.public_key_spki);
  }

 private:
  std::unique_ptr<attestation::AttestationVerifier> verifier_;
  absl::Duration max_age_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const RecipientHandler>> NewAttestationRecipientHandler(
    RecipientOptions options) {
  if (options.roots.empty()) return absl::InvalidArgumentError("no attestation root given");
  bool all_aws = true;
  for (const auto& root : options.roots) all_aws = all_aws && attestation::IsAwsNitroRoot(root);
  attestation::VerifierConfig config;
  config.tier = all_aws ? attestation::Tier::kProduction : attestation::Tier::kSimulated;
  config.roots = std::move(options.roots);
  config.clock = options.clock;
  VEIL_ASSIGN_OR_RETURN(auto verifier, attestation::AttestationVerifier::Create(std::move(config)));
  return std::shared_ptr<const RecipientHandler>(
      new AttestationRecipientHandler(std::move(verifier), options.max_age));
}

absl::StatusOr<std::vector<std::vector<uint8_t>>> ReadRootPemFiles(
    const std::vector<std::string>& paths) {
  std::vector<std::vector<uint8_t>> roots;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
    std::stringstream ss;
    ss << in.rdbuf();
    auto der = attestation::CertificateDerFromPem(ss.str());
    if (!der.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": not a PEM certificate"));
    }
    roots.push_back(*std::move(der));
  }
  return roots;
}

}  // namespace veil::kms_server
