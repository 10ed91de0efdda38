#include "veil/attestation/nsm/mock_nsm.h"

#include <cstring>
#include <utility>

#include "veil/attestation/mock_root.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"

namespace veil::attestation::nsm {
namespace {

// The MOCK root's private key (P-384, PKCS#8). NOT A SECRET: it is published
// here so that nobody can mistake a mock document for evidence. The matching
// certificate is MockRootCertificateDer().
constexpr char kMockRootPrivateKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDpx9EulR/2wIbLYWcv\n"
    "a5gJaq9+xn/25GPPu3BtyjjoINGz1n+xZlCi1cLykA/dLWehZANiAARHuybOy8b2\n"
    "QqWwwaso7vR5oS0ui+tqkd77h4mo6h79zotfu8AN55Ut5kQc3lP3fkSIvTlkwlyM\n"
    "b3mY87eazBQMWTpznJJWYgadI9vil9ltWf8WF+cZl1EnVqJ4YLLv0YI=\n"
    "-----END PRIVATE KEY-----\n";

}  // namespace

absl::StatusOr<std::unique_ptr<NsmDevice>> MockNsm::Create(MockNsmOptions options) {
  SimulatorCaOptions ca_options;
  ca_options.label = "veil-mock";
  ca_options.region = "mock";
  // A fixed, recognisable parent "instance": the mock has none.
  ca_options.instance_id = "i-00000000000000000";
  if (options.clock) ca_options.now = options.clock();
  const SecretBytes key = SecretBytes::Copy(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(kMockRootPrivateKeyPem), std::strlen(kMockRootPrivateKeyPem)));
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<SimulatorCa> ca,
                        SimulatorCa::GenerateUnderRoot(MockRootCertificateDer(), key, ca_options));
  SimulatedNsmOptions nsm_options;
  nsm_options.image = options.image;
  nsm_options.clock = std::move(options.clock);
  return SimulatedNsm::CreateWithKind(std::move(ca), std::move(nsm_options), NsmKind::kMock,
                                      "mock-");
}

}  // namespace veil::attestation::nsm
