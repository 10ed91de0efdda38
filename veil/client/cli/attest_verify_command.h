// `veil attest verify`: verify a Nitro attestation document against a pinned
// root, at a chosen time, with optional PCR and nonce expectations.
#ifndef VEIL_CLIENT_CLI_ATTEST_VERIFY_COMMAND_H_
#define VEIL_CLIENT_CLI_ATTEST_VERIFY_COMMAND_H_

#include <ostream>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "veil/client/cli/command.h"

namespace veil::client {

// AttestVerifyOptions are the flags of `veil attest verify`.
// ParseExpectedPcrs parses --expect-pcr values "N=HEX" (N in 0..31, each
// at most once); UsageError otherwise.
absl::StatusOr<std::map<int, std::vector<uint8_t>>> ParseExpectedPcrs(
    const std::vector<std::string>& specs);

struct AttestVerifyOptions {
  std::string document;                 // COSE_Sign1 file, or - for stdin
  std::string root;                     // PEM (or DER) root certificate file
  std::string at;                       // RFC 3339 or Unix seconds; empty: now
  std::vector<std::string> expect_pcr;  // N=HEX, repeatable
  std::string nonce_hex;                // empty: no nonce expectation
  bool allow_debug = false;
  bool json = false;
};

// RunAttestVerify verifies `options.document` and returns OK only when every
// check passed; otherwise the verifier's status, whose message names the
// failed check (exit 1), or a UsageError for bad flags (exit 2). The tier
// follows the root: the AWS Nitro Enclaves Root G1 is production, any other
// root is simulated, which is announced on `err` ("simulated attestation
// root: not AWS Nitro"). On success it prints to `out` a short summary, or
// with `json` one JSON object: module_id, timestamp_ms, digest, pcrs (index
// -> lowercase hex), debug, tier and public_key/user_data/nonce presence.
absl::Status RunAttestVerify(const AttestVerifyOptions& options, std::ostream& out,
                             std::ostream& err);

// AddAttestVerifyFlags declares the flags on `cmd` and returns the runner.
CommandRunner AddAttestVerifyFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_ATTEST_VERIFY_COMMAND_H_
