#include "veil/client/cli/infer_command.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/attestation_document.h"
#include "veil/attestation/verifier.h"
#include "veil/client/cli/attest_verify_command.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/local_files.h"
#include "veil/client/cli/wrapping_key_spec.h"
#include "veil/common/encoding.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/inference/annotate.h"

namespace veil::client {
namespace {

constexpr absl::Duration kRequestLifetime = absl::Minutes(5);
constexpr absl::Duration kMaxDocumentAge = absl::Minutes(5);
constexpr size_t kMaxImageBytes = 16 << 20;

absl::StatusOr<std::string> NewRequestId() {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> b, crypto::RandomBytes(16));
  b[6] = (b[6] & 0x0F) | 0x40;  // RFC 9562 version 4
  b[8] = (b[8] & 0x3F) | 0x80;  // variant
  const std::string h = HexEncode(b);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

std::unique_ptr<httplib::Client> HttpClient(const InferCommandOptions& o) {
  auto client = std::make_unique<httplib::Client>(o.endpoint);
  client->set_connection_timeout(10, 0);
  client->set_read_timeout(o.timeout_seconds, 0);
  client->set_write_timeout(o.timeout_seconds, 0);
  if (!o.ca_file.empty()) client->set_ca_cert_path(o.ca_file.c_str());
  return client;
}

std::string HttpFailure(const httplib::Result& r, const std::string& what) {
  if (!r) return absl::StrCat(what, ": ", httplib::to_string(r.error()));
  std::string code;
  const nlohmann::json body = nlohmann::json::parse(r->body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string()) {
    code = body["error"].get<std::string>();
  }
  return absl::StrCat(what, ": HTTP ", r->status, code.empty() ? "" : absl::StrCat(" (", code, ")"));
}

// VerifyEnclave fetches a document for a fresh nonce and checks it; it prints
// the facts that were verified.
absl::Status VerifyEnclave(const InferCommandOptions& o, httplib::Client& http,
                           std::ostream& err) {
  namespace att = attestation;
  att::VerifierConfig config;
  if (o.allow_mock_attestation) {
    config.tier = att::Tier::kLocal;
  }
  if (!o.attestation_root.empty()) {
    std::ifstream in(o.attestation_root, std::ios::binary);
    if (!in) return UsageError(absl::StrCat("--attestation-root '", o.attestation_root, "' not found"));
    const std::string pem((std::istreambuf_iterator<char>(in)), {});
    auto root = att::CertificateDerFromPem(pem);
    if (!root.ok()) return UsageError("--attestation-root: not a PEM or DER certificate");
    if (!o.allow_mock_attestation) {
      config.tier = att::IsAwsNitroRoot(*root) ? att::Tier::kProduction : att::Tier::kSimulated;
    }
    config.roots.push_back(*std::move(root));
  }
  config.chain_cache_capacity = 0;
  VEIL_ASSIGN_OR_RETURN(auto verifier, att::AttestationVerifier::Create(std::move(config)));
  att::VerifyPolicy policy;
  VEIL_ASSIGN_OR_RETURN(policy.expected_pcrs, ParseExpectedPcrs(o.expect_pcr));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> nonce, crypto::RandomBytes(32));
  policy.expected_nonce = nonce;
  policy.require_public_key = true;
  policy.max_age = kMaxDocumentAge;
  // A mock NSM measures nothing (PCR0 reads zero, like debug mode); such a
  // document proves nothing either way, and says so below.
  policy.allow_debug = o.allow_mock_attestation;

  httplib::Result r = http.Get(absl::StrCat("/v1/attestation?nonce=", HexEncode(nonce)));
  if (!r || r->status != 200) return absl::UnavailableError(HttpFailure(r, "attestation"));
  const std::vector<uint8_t> document(r->body.begin(), r->body.end());
  absl::StatusOr<att::VerifiedDocument> verified = verifier->Verify(document, policy);
  if (!verified.ok()) {
    return absl::Status(verified.status().code(),
                        absl::StrCat("the enclave's attestation did not verify; nothing was "
                                     "sent: ", verified.status().message()));
  }
  const auto pcr0 = verified->pcrs.find(0);
  err << "veil infer: attested enclave " << verified->module_id << ", tier "
      << att::TierName(verifier->tier()) << (verified->mock ? " (MOCK: proves nothing)" : "")
      << ", PCR0 " << (pcr0 == verified->pcrs.end() ? "?" : HexEncode(pcr0->second))
      << ", nonce matched\n";
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const esdk::Keyring>> TenantKeyring(const InferCommandOptions& o,
                                                                   const std::string& tenant) {
  if (!o.kms_key.empty() && !o.local_key.empty()) {
    return UsageError("give --key or --local-key, not both");
  }
  if (!o.kms_key.empty()) {
    VEIL_ASSIGN_OR_RETURN(WrappingKeySpec spec, ParseWrappingKeySpec(absl::StrCat("kms:", o.kms_key)));
    VEIL_RETURN_IF_ERROR(CheckSpecForUse(spec, KeyringUse::kDecrypt));
    KeyringSources sources;
    sources.use = KeyringUse::kDecrypt;
    return LoadKeyring(spec, sources);
  }
  if (o.local_key.empty()) return UsageError("give the tenant's key: --key KMS_KEY_ARN or --local-key FILE");
  VEIL_ASSIGN_OR_RETURN(SecretBytes key, ReadSecretFile(o.local_key, 64, "local key"));
  VEIL_ASSIGN_OR_RETURN(auto keyring, esdk::RawAesKeyring::Create("veil", tenant, std::move(key)));
  return std::shared_ptr<const esdk::Keyring>(std::move(keyring));
}

std::vector<inference::Detection> DetectionsOf(const nlohmann::json& result) {
  std::vector<inference::Detection> out;
  for (const auto& d : result.value("detections", nlohmann::json::array())) {
    inference::Detection det;
    det.label = d.value("label", "");
    det.class_id = d.value("class_id", 0);
    det.confidence = d.value("confidence", 0.0f);
    const auto& b = d["box"];
    if (b.is_array() && b.size() == 4) {
      det.x = b[0].get<float>();
      det.y = b[1].get<float>();
      det.w = b[2].get<float>();
      det.h = b[3].get<float>();
    }
    out.push_back(std::move(det));
  }
  return out;
}

}  // namespace

absl::Status RunInfer(const InferCommandOptions& o, std::ostream& out, std::ostream& err) {
  if (o.endpoint.empty()) return UsageError("--endpoint is required");
  VEIL_ASSIGN_OR_RETURN(SecretBytes api_key_file, ReadSecretFile(o.api_key_file, 4096, "API key"));
  std::string api_key(reinterpret_cast<const char*>(api_key_file.Expose().data()),
                      api_key_file.size());
  absl::Cleanup wipe_key = [&api_key] { SecureWipe(api_key.data(), api_key.size()); };
  while (!api_key.empty() && (api_key.back() == '\n' || api_key.back() == '\r' ||
                              api_key.back() == ' ')) {
    api_key.pop_back();
  }
  std::string tenant = o.tenant;
  if (tenant.empty()) tenant = api_key.substr(0, api_key.find('.'));
  if (tenant.empty() || tenant == api_key) {
    return UsageError("cannot tell the tenant: give --tenant, or an API key '<tenant>.<secret>'");
  }
  VEIL_ASSIGN_OR_RETURN(auto keyring, TenantKeyring(o, tenant));
  VEIL_ASSIGN_OR_RETURN(SecretBytes image, ReadSecretFile(o.image, kMaxImageBytes, "image"));

  std::unique_ptr<httplib::Client> http = HttpClient(o);
  if (!o.attestation_root.empty() || o.allow_mock_attestation) {
    VEIL_RETURN_IF_ERROR(VerifyEnclave(o, *http, err));
  } else {
    err << "veil infer: WARNING: no --attestation-root: the enclave is not verified before "
           "the image is sent (the key policy may still require attestation)\n";
  }

  VEIL_ASSIGN_OR_RETURN(std::string request_id, NewRequestId());
  esdk::EncryptOptions encrypt;
  encrypt.encryption_context = {
      {"tenant", tenant},
      {"purpose", "ml-inference"},
      {"request", request_id},
      {"expires", absl::FormatTime(absl::RFC3339_sec, absl::Now() + kRequestLifetime,
                                   absl::UTCTimeZone())}};
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> body, esdk::Encrypt(keyring, image.Expose(), encrypt));

  const httplib::Headers headers = {{"Authorization", absl::StrCat("Bearer ", api_key)},
                                    {"Veil-Request-Id", request_id}};
  httplib::Result r = http->Post("/v1/infer", headers,
                                 reinterpret_cast<const char*>(body.data()), body.size(),
                                 "application/octet-stream");
  if (!r || r->status != 200) {
    return absl::UnavailableError(HttpFailure(r, absl::StrCat("request ", request_id)));
  }
  esdk::DecryptOptions decrypt;
  decrypt.reproduced_encryption_context = {
      {"tenant", tenant}, {"purpose", "ml-inference-result"}, {"request", request_id}};
  const std::vector<uint8_t> sealed(r->body.begin(), r->body.end());
  VEIL_ASSIGN_OR_RETURN(esdk::DecryptResult opened, esdk::Decrypt(keyring, sealed, decrypt));
  const auto text = opened.plaintext.Expose();
  const nlohmann::json result = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (result.is_discarded() || !result.is_object()) {
    return absl::DataLossError("the enclave's result is not a JSON document");
  }
  if (result.contains("error")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the enclave could not process the image: ", result["error"].value("message", "?")));
  }
  if (!o.annotate.empty()) {
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> png,
                          inference::AnnotateToPng(image.Expose(), DetectionsOf(result)));
    VEIL_RETURN_IF_ERROR(WriteFileAtomically(o.annotate, png));
  }
  if (o.json) {
    out << result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    const auto& image_info = result["image"];
    const auto& dets = result["detections"];
    out << absl::StrFormat("%s: %dx%d %s, %d %s (confidential; enclave model %s, sha256 %s...)\n",
                           o.image, image_info.value("width", 0), image_info.value("height", 0),
                           image_info.value("format", "?"), dets.size(),
                           dets.size() == 1 ? "detection" : "detections",
                           result["model"].value("id", "?"),
                           result["model"].value("sha256", "").substr(0, 16));
    for (const inference::Detection& d : DetectionsOf(result)) {
      out << absl::StrFormat("  %-12s %.2f  [%d, %d, %d, %d]\n", d.label, d.confidence,
                             std::lround(d.x), std::lround(d.y), std::lround(d.w),
                             std::lround(d.h));
    }
    if (!o.annotate.empty()) out << "  annotated: " << o.annotate << "\n";
  }
  out.flush();
  return absl::OkStatus();
}

CommandRunner AddInferFlags(CLI::App& cmd) {
  auto o = std::make_shared<InferCommandOptions>();
  cmd.add_option("image", o->image, "JPEG or PNG file")->required()->type_name("IMAGE");
  cmd.add_option("--endpoint", o->endpoint, "veil-host URL, e.g. http://127.0.0.1:8080")
      ->required()
      ->type_name("URL");
  cmd.add_option("--api-key-file", o->api_key_file, "File holding the API key '<tenant>.<secret>'")
      ->required()
      ->type_name("F");
  cmd.add_option("--tenant", o->tenant, "Tenant id (default: the API key up to its first '.')");
  cmd.add_option("--key", o->kms_key, "The tenant's KMS key ARN (AWS KMS or veil-kms)")
      ->type_name("KMS_KEY");
  cmd.add_option("--local-key", o->local_key,
                 "The tenant's raw AES-256 key file (local tier; key namespace 'veil', name = "
                 "tenant)")
      ->type_name("FILE");
  cmd.add_option("--attestation-root", o->attestation_root,
                 "Verify the enclave before sending: pinned root (PEM); the AWS Nitro root "
                 "selects the production tier, any other the simulated tier")
      ->type_name("PEM");
  cmd.add_flag("--allow-mock-attestation", o->allow_mock_attestation,
               "Accept documents from the published MOCK root (dev-local tier; proves nothing)");
  cmd.add_option("--expect-pcr", o->expect_pcr, "Require PCR N to equal HEX (repeatable)")
      ->type_name("N=HEX");
  cmd.add_option("--ca-file", o->ca_file, "CA bundle for an https endpoint")->type_name("PEM");
  cmd.add_flag("--json", o->json, "Print the result JSON document");
  cmd.add_option("--annotate", o->annotate, "Draw the detections onto a PNG copy")
      ->type_name("OUT.png");
  cmd.add_option("--timeout", o->timeout_seconds, "Seconds to wait for the host")
      ->capture_default_str();
  cmd.footer(
      "\nThe image is encrypted here and decrypted only inside the attested enclave; the "
      "host sees ciphertext.\n"
      "\nExamples:\n"
      "  veil infer dog.jpg --endpoint http://127.0.0.1:8080 --api-key-file acme.apikey \\\n"
      "      --key arn:aws:kms:us-east-1:111122223333:key/... \\\n"
      "      --attestation-root sim-root.pem --expect-pcr 0=<PCR0>\n");
  return [o] { return RunInfer(*o, std::cout, std::cerr); };
}

}  // namespace veil::client
