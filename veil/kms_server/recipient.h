// The Recipient parameter (spec brief nitro-attestation-nsm-kms.md section
// 4): attestation documents verified against pinned roots, and
// CiphertextForRecipient as CMS EnvelopedData (RSAES-OAEP-SHA-256,
// AES-256-CBC) for the document's RSA-2048 public key.
#ifndef VEIL_KMS_SERVER_RECIPIENT_H_
#define VEIL_KMS_SERVER_RECIPIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/attestation/clock.h"
#include "veil/kms_server/key_service.h"

namespace veil::kms_server {

struct RecipientOptions {
  // roots are DER certificates. Only the AWS Nitro Enclaves Root G1: the
  // production tier. Anything else (the simulator's root): the simulated
  // tier, where documents are marked simulated in the audit log. The MOCK
  // root of the local tier is refused: it proves nothing.
  std::vector<std::vector<uint8_t>> roots;
  // max_age bounds how old a document may be (AWS KMS uses 5 minutes).
  absl::Duration max_age = absl::Minutes(5);
  std::shared_ptr<const attestation::Clock> clock;  // SystemClock() when null
};

// NewAttestationRecipientHandler returns the RecipientHandler veil-kms
// uses. InvalidArgument when no root is given or a root is refused.
absl::StatusOr<std::shared_ptr<const RecipientHandler>> NewAttestationRecipientHandler(
    RecipientOptions options);

// ReadRootPemFiles reads each file's first PEM certificate as DER.
absl::StatusOr<std::vector<std::vector<uint8_t>>> ReadRootPemFiles(
    const std::vector<std::string>& paths);

}  // namespace veil::kms_server

#endif  // VEIL_KMS_SERVER_RECIPIENT_H_
