#include "veil/client/cli/simulate_command.h"

#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/attestation/nsm/nsm_device.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/client/cli/cli_status.h"
#include "veil/client/cli/local_files.h"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"

namespace veil::client {
namespace {

namespace nsm = attestation::nsm;

// Input files are small (a key, some user data); anything bigger is a
// mistake, reported before the NSM's own limits would.
constexpr size_t kMaxInputFile = 64 * 1024;

absl::StatusOr<std::vector<uint8_t>> ReadSmallFile(const std::string& path, const char* what) {
  VEIL_ASSIGN_OR_RETURN(SecretBytes bytes, ReadSecretFile(path, kMaxInputFile, what));
  const absl::Span<const uint8_t> b = bytes.Expose();
  return std::vector<uint8_t>(b.begin(), b.end());
}

// PublicKeyDer returns the DER inside a "PUBLIC KEY" PEM block, or the file
// itself when it is not PEM (already DER). The NSM does not check that the
// bytes are a key; KMS Recipient wants an RSA SubjectPublicKeyInfo.
absl::StatusOr<std::vector<uint8_t>> PublicKeyDer(const std::vector<uint8_t>& file) {
  const std::string_view text = AsStringView(file);
  constexpr std::string_view kBegin = "-----BEGIN PUBLIC KEY-----";
  constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
  const size_t begin = text.find(kBegin);
  if (begin == std::string_view::npos) {
    if (text.find("-----BEGIN") != std::string_view::npos) {
      return UsageError("--public-key: expected a \"PUBLIC KEY\" PEM block (SubjectPublicKeyInfo)");
    }
    return file;
  }
  const size_t end = text.find(kEnd, begin);
  if (end == std::string_view::npos) return UsageError("--public-key: unterminated PEM block");
  std::string b64;
  for (char c : text.substr(begin + kBegin.size(), end - begin - kBegin.size())) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') b64.push_back(c);
  }
  absl::StatusOr<std::vector<uint8_t>> der = Base64Decode(b64);
  if (!der.ok()) return UsageError("--public-key: the PEM body is not valid Base64");
  return der;
}

}  // namespace

absl::Status RunSimulate(const SimulateCommandOptions& options, std::ostream& info) {
  if (options.ca.empty()) return UsageError("--ca is empty");
  if (options.out.empty()) return UsageError("--out is empty");
  if (options.measure.empty()) return UsageError("give at least one --measure FILE");

  std::optional<std::vector<uint8_t>> public_key, user_data, nonce;
  if (!options.public_key.empty()) {
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> file, ReadSmallFile(options.public_key, "public key file"));
    VEIL_ASSIGN_OR_RETURN(public_key, PublicKeyDer(file));
    if (public_key->empty() || public_key->size() > nsm::kMaxPublicKeySize) {
      return UsageError(absl::StrCat("--public-key: ", public_key->size(),
                                     " bytes; the NSM takes 1 to ", nsm::kMaxPublicKeySize));
    }
  }
  if (!options.user_data.empty()) {
    VEIL_ASSIGN_OR_RETURN(user_data, ReadSmallFile(options.user_data, "user data file"));
    if (user_data->size() > nsm::kMaxUserDataSize) {
      return UsageError(absl::StrCat("--user-data: ", user_data->size(),
                                     " bytes; the NSM takes at most ", nsm::kMaxUserDataSize));
    }
  }
  if (!options.nonce_hex.empty()) {
    absl::StatusOr<std::vector<uint8_t>> n = HexDecode(options.nonce_hex);
    if (!n.ok()) return UsageError("--nonce: not hex");
    if (n->size() > nsm::kMaxNonceSize) {
      return UsageError(absl::StrCat("--nonce: ", n->size(), " bytes; the NSM takes at most ",
                                     nsm::kMaxNonceSize));
    }
    nonce = std::move(*n);
  }

  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<nsm::SimulatorCa> ca, nsm::SimulatorCa::Load(options.ca));
  VEIL_ASSIGN_OR_RETURN(nsm::ImageMeasurement image, nsm::MeasureImageFiles(options.measure));
  nsm::SimulatedNsmOptions nsm_options;
  nsm_options.image = image;
  nsm_options.instance_id = options.instance_id;
  if (!options.role_arn.empty()) nsm_options.role_arn = options.role_arn;
  nsm_options.debug = options.debug;
  absl::StatusOr<std::unique_ptr<nsm::NsmDevice>> device = nsm::SimulatedNsm::Create(
      std::shared_ptr<const nsm::SimulatorCa>(std::move(ca)), std::move(nsm_options));
  if (absl::IsInvalidArgument(device.status())) return UsageError(device.status().message());
  if (!device.ok()) return device.status();

  auto span = [](const std::optional<std::vector<uint8_t>>& v) {
    return v ? std::optional<absl::Span<const uint8_t>>(*v) : std::nullopt;
  };
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> document,
                        (*device)->GetAttestationDocument(span(user_data), span(nonce),
                                                          span(public_key)));
  VEIL_ASSIGN_OR_RETURN(nsm::NsmDescription description, (*device)->DescribeNsm());
  VEIL_RETURN_IF_ERROR(WriteFileAtomically(options.out, document));

  info << "SIMULATED attestation document (signed by the simulator CA in " << options.ca
       << ", not by AWS)\n"
       << "module_id: " << description.module_id << "\n";
  for (uint16_t i : {0, 1, 2, 3, 4, 8}) {
    VEIL_ASSIGN_OR_RETURN(nsm::PcrDescription pcr, (*device)->DescribePcr(i));
    info << "PCR" << i << ": " << HexEncode(pcr.value) << "\n";
  }
  if (options.debug) info << "debug mode: PCR0, 1, 2 and 8 read as zero\n";
  return absl::OkStatus();
}

CommandRunner AddSimulateFlags(CLI::App& cmd) {
  auto o = std::make_shared<SimulateCommandOptions>();
  cmd.add_option("--ca", o->ca, "Simulator CA directory (veil attest simulate-ca)")
      ->required()
      ->type_name("DIR");
  cmd.add_option("--measure", o->measure,
                 "Enclave image part (repeatable, in order): the enclave binary, then the model "
                 "file, the configuration, ...")
      ->required()
      ->allow_extra_args(false)
      ->type_name("FILE");
  cmd.add_option("--public-key", o->public_key,
                 "Public key to embed: a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo) or DER file")
      ->type_name("PEM");
  cmd.add_option("--user-data", o->user_data, "File whose bytes (at most 512) become user_data")
      ->type_name("FILE");
  cmd.add_option("--nonce", o->nonce_hex, "Nonce, as hex (at most 512 bytes)")->type_name("HEX");
  cmd.add_option("--instance-id", o->instance_id,
                 "Simulated parent instance id (default: the CA's); measured into PCR4")
      ->type_name("ID");
  cmd.add_option("--role-arn", o->role_arn, "IAM role ARN measured into PCR3")->type_name("ARN");
  cmd.add_flag("--debug", o->debug, "Simulate a debug-mode enclave (PCR0, 1, 2 and 8 zero)");
  cmd.add_option("--out", o->out, "Where to write the document (COSE_Sign1), or - for stdout")
      ->required()
      ->type_name("DOC");
  cmd.footer(
      "\nExample:\n"
      "  veil attest simulate --ca sim-ca --measure veil-enclave --measure model.onnx \\\n"
      "      --nonce 00112233 --out doc.cbor\n");
  return [o] { return RunSimulate(*o, o->out == "-" ? std::cerr : std::cout); };
}

}  // namespace veil::client
