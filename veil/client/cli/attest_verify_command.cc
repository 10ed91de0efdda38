#include "veil/client/cli/attest_verify_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/verifier.h"
#include "veil/client/cli/cli_status.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/hash.h"

namespace veil::client {
namespace {

using attestation::Tier;

// Documents are about 5 KB and NSM responses at most 12 KiB; certificates
// are smaller still. Anything above this is not what the flag names.
constexpr size_t kMaxInput = 1 << 20;

absl::StatusOr<std::vector<uint8_t>> ReadInput(const std::string& path, const char* what) {
  std::string bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", what, " '", path, "'"));
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", what, " '", path, "'"));
  }
  if (bytes.size() > kMaxInput) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", path, "' is larger than ", kMaxInput, " bytes"));
  }
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// ParseAt accepts RFC 3339 ("2025-01-06T16:07:05Z", fractions allowed) or
// Unix seconds.
absl::StatusOr<absl::Time> ParseAt(const std::string& text) {
  int64_t seconds = 0;
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
      absl::SimpleAtoi(text, &seconds)) {
    return absl::FromUnixSeconds(seconds);
  }
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  return UsageError(absl::StrCat("--at '", text,
                                 "': expected RFC 3339 (2025-01-06T16:07:05Z) or Unix seconds"));
}


std::string Rfc3339Millis(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string Presence(const std::optional<std::vector<uint8_t>>& field) {
  return field.has_value() ? absl::StrCat(field->size(), " bytes") : "absent";
}

void PrintSummary(const attestation::VerifiedDocument& v, Tier tier, std::ostream& out) {
  out << "attestation document verified (tier " << attestation::TierName(tier) << ")\n"
      << "module_id:  " << v.module_id << "\n"
      << "timestamp:  " << Rfc3339Millis(v.timestamp) << " (" << v.timestamp_ms << " ms)\n"
      << "digest:     " << v.digest << "\n"
      << "debug:      " << (v.debug ? "YES (PCR0 is zero)" : "no") << "\n";
  for (int index : {0, 1, 2}) {
    const auto it = v.pcrs.find(index);
    if (it != v.pcrs.end()) out << "PCR" << index << ":       " << HexEncode(it->second) << "\n";
  }
  out << "pcrs:       " << v.pcrs.size() << " locked\n"
      << "public_key: " << Presence(v.public_key) << "\n"
      << "user_data:  " << Presence(v.user_data) << "\n"
      << "nonce:      " << Presence(v.nonce) << "\n";
}

void PrintJson(const attestation::VerifiedDocument& v, Tier tier, std::ostream& out) {
  nlohmann::ordered_json pcrs = nlohmann::ordered_json::object();
  for (const auto& [index, value] : v.pcrs) pcrs[std::to_string(index)] = HexEncode(value);
  nlohmann::ordered_json j;
  j["module_id"] = v.module_id;
  j["timestamp_ms"] = v.timestamp_ms;
  j["digest"] = v.digest;
  j["pcrs"] = std::move(pcrs);
  j["debug"] = v.debug;
  j["tier"] = std::string(attestation::TierName(tier));
  j["public_key"] = v.public_key.has_value();
  j["user_data"] = v.user_data.has_value();
  j["nonce"] = v.nonce.has_value();
  // module_id is checked UTF-8 by the CBOR decoder, so dump cannot throw.
  out << j.dump(2) << "\n";
}

}  // namespace

absl::StatusOr<std::map<int, std::vector<uint8_t>>> ParseExpectedPcrs(
    const std::vector<std::string>& specs) {
  std::map<int, std::vector<uint8_t>> pcrs;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    int index = -1;
    if (eq == std::string::npos || !absl::SimpleAtoi(spec.substr(0, eq), &index) || index < 0 ||
        index > 31) {
      return UsageError(absl::StrCat("--expect-pcr '", spec, "': expected N=HEX with N in 0..31"));
    }
    auto value = HexDecode(spec.substr(eq + 1));
    if (!value.ok() || value->empty()) {
      return UsageError(absl::StrCat("--expect-pcr '", spec, "': the value is not hex"));
    }
    if (!pcrs.emplace(index, *std::move(value)).second) {
      return UsageError(absl::StrCat("--expect-pcr: PCR", index, " given more than once"));
    }
  }
  return pcrs;
}

absl::Status RunAttestVerify(const AttestVerifyOptions& options, std::ostream& out,
                             std::ostream& err) {
  if (options.document.empty()) return UsageError("DOC is empty (use - for stdin)");
  if (options.root.empty()) return UsageError("--root is empty");

  attestation::VerifyPolicy policy;
  if (!options.at.empty()) {
    VEIL_ASSIGN_OR_RETURN(policy.at, ParseAt(options.at));
  }
  VEIL_ASSIGN_OR_RETURN(policy.expected_pcrs, ParseExpectedPcrs(options.expect_pcr));
  if (!options.nonce_hex.empty()) {
    auto nonce = HexDecode(options.nonce_hex);
    if (!nonce.ok()) return UsageError(absl::StrCat("--nonce '", options.nonce_hex, "' is not hex"));
    policy.expected_nonce = *std::move(nonce);
  }
  policy.allow_debug = options.allow_debug;

  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> root_file, ReadInput(options.root, "root"));
  auto root = attestation::CertificateDerFromPem(
      std::string_view(reinterpret_cast<const char*>(root_file.data()), root_file.size()));
  if (!root.ok()) {
    return UsageError(absl::StrCat("--root '", options.root, "': not a PEM or DER certificate"));
  }
  const Tier tier = attestation::IsAwsNitroRoot(*root) ? Tier::kProduction : Tier::kSimulated;
  if (tier != Tier::kProduction) {
    err << "veil: WARNING: simulated attestation root: not AWS Nitro (root sha256 "
        << HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, *root))
        << "); a document that verifies proves nothing about real hardware\n";
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> document, ReadInput(options.document, "document"));

  attestation::VerifierConfig config;
  config.tier = tier;
  config.roots = {*std::move(root)};
  config.chain_cache_capacity = 0;  // one document: nothing to reuse
  VEIL_ASSIGN_OR_RETURN(auto verifier, attestation::AttestationVerifier::Create(std::move(config)));
  VEIL_ASSIGN_OR_RETURN(attestation::VerifiedDocument verified, verifier->Verify(document, policy));

  if (options.json) {
    PrintJson(verified, tier, out);
  } else {
    PrintSummary(verified, tier, out);
  }
  out.flush();
  if (!out) return absl::DataLossError("cannot write the result to stdout");
  return absl::OkStatus();
}

CommandRunner AddAttestVerifyFlags(CLI::App& cmd) {
  auto o = std::make_shared<AttestVerifyOptions>();
  cmd.add_option("document", o->document, "Attestation document (COSE_Sign1), or - for stdin")
      ->required()
      ->type_name("DOC");
  cmd.add_option("--root", o->root,
                 "Pinned root certificate (PEM or DER). The AWS Nitro Enclaves Root G1 selects "
                 "the production tier; any other root the simulated tier")
      ->required()
      ->type_name("ROOT.pem");
  cmd.add_option("--at", o->at,
                 "Verification time, RFC 3339 or Unix seconds (default: now). Real documents "
                 "verify only within their leaf's ~3 h validity")
      ->type_name("TIME");
  cmd.add_option("--expect-pcr", o->expect_pcr, "Require PCR N to equal HEX (repeatable)")
      ->allow_extra_args(false)
      ->type_name("N=HEX");
  cmd.add_option("--nonce", o->nonce_hex, "Require the document's nonce to equal HEX")
      ->type_name("HEX");
  cmd.add_flag("--allow-debug", o->allow_debug,
               "Accept a debug-mode enclave (PCR0 zero; its memory is open to the parent)");
  cmd.add_flag("--json", o->json, "Print the verified contents as JSON");
  cmd.footer(
      "\nExit status 0 only when every check passes; the error names the failed check.\n"
      "\nExamples:\n"
      "  veil attest verify doc.cbor --root aws-nitro-enclaves-root-g1.pem \\\n"
      "      --expect-pcr 0=8bb159f2...c26b --nonce 00112233 --json\n"
      "  veil attest verify doc1.cbor --root aws-nitro-enclaves-root-g1.pem \\\n"
      "      --at 2025-01-06T16:07:05Z\n");
  return [o] { return RunAttestVerify(*o, std::cout, std::cerr); };
}

}  // namespace veil::client
