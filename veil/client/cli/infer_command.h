// `veil infer`: confidential inference through a Veil host. The image is
// encrypted here, travels through the host as ciphertext, is decrypted and
// detected only inside the enclave, and the result comes back encrypted to
// this tenant's key.
//
//   1. With --attestation-root: fetch a fresh attestation document for our
//      own random nonce and verify it (root, nonce, --expect-pcr values,
//      not debug, at most 5 minutes old) before anything is sent.
//   2. Encrypt the image with encryption context {tenant, purpose=
//      ml-inference, request=<random UUID>, expires=<now + 5 min>} under the
//      tenant's KMS key (--key) or a local key file (--local-key).
//   3. POST it to /v1/infer with the API key and the request id.
//   4. Decrypt the answer, requiring {tenant, purpose=ml-inference-result,
//      request}, and print or draw the detections.
#ifndef VEIL_CLIENT_CLI_INFER_COMMAND_H_
#define VEIL_CLIENT_CLI_INFER_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "veil/client/cli/command.h"

namespace veil::client {

struct InferCommandOptions {
  std::string image;
  std::string endpoint;      // http(s)://host:port of veil-host
  std::string api_key_file;  // the tenant's API key, "<tenant>.<secret>"
  std::string tenant;        // default: the API key up to its first '.'
  std::string kms_key;       // --key: KMS key ARN
  std::string local_key;     // --local-key: raw AES-256 key file (namespace veil, name = tenant)
  std::string attestation_root;  // PEM; empty: no attestation check
  bool allow_mock_attestation = false;  // accept the published MOCK root (dev-local tier)
  std::vector<std::string> expect_pcr;
  std::string ca_file;       // CA bundle for an https endpoint
  bool json = false;
  std::string annotate;
  int timeout_seconds = 60;
};

absl::Status RunInfer(const InferCommandOptions& options, std::ostream& out, std::ostream& err);

CommandRunner AddInferFlags(CLI::App& cmd);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_INFER_COMMAND_H_
