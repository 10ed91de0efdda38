// DevNsm: the NSM protocol client. Over the real /dev/nsm ioctl it is the
// enclave's NSM on AWS Nitro ("nitro"); over a Unix socket to veil-nsm-sim it
// is the same client code talking to the simulator ("simulated").
// Spec: ../shared/specs/nitro-attestation-nsm-kms.md section 3.
#ifndef VEIL_ATTESTATION_NSM_DEV_NSM_H_
#define VEIL_ATTESTATION_NSM_DEV_NSM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "veil/attestation/nsm/nsm_device.h"
#include "veil/attestation/nsm/nsm_transport.h"
#include "veil/attestation/nsm/protocol.h"

namespace veil::attestation::nsm {

// kDevNsmPath is where the NSM driver puts its misc device in an enclave.
inline constexpr char kDevNsmPath[] = "/dev/nsm";

// DevNsm encodes each call as an NSM request, sends it over its transport
// and decodes the answer. Thread-safe: calls are serialized, as in the
// kernel driver. An NSM Error response becomes an NsmError status with the
// NSM's code; an undecodable or unexpected answer is InvalidResponse.
class DevNsm : public NsmDevice {
 public:
  // Create opens the NSM device at `path` (O_RDWR; the raw ioctl needs
  // CAP_SYS_ADMIN). When it cannot be opened -- as on any machine that is not
  // a Nitro Enclave -- it fails with FailedPrecondition naming the path and
  // the alternatives. Kind() is kNitro.
  static absl::StatusOr<std::unique_ptr<NsmDevice>> Create(const std::string& path = kDevNsmPath);

  // ConnectSimulator connects to veil-nsm-sim's Unix socket at
  // `socket_path` and checks that it answers DescribeNSM. Kind() is
  // kSimulated. Unavailable when nothing listens there.
  static absl::StatusOr<std::unique_ptr<NsmDevice>> ConnectSimulator(
      const std::string& socket_path);

  // CreateWithTransport speaks the protocol over `transport` and reports
  // `kind` (tests use a fake transport).
  static std::unique_ptr<NsmDevice> CreateWithTransport(std::unique_ptr<NsmTransport> transport,
                                                        NsmKind kind);

  NsmKind Kind() const override { return kind_; }
  absl::StatusOr<std::vector<uint8_t>> GetAttestationDocument(
      std::optional<absl::Span<const uint8_t>> user_data,
      std::optional<absl::Span<const uint8_t>> nonce,
      std::optional<absl::Span<const uint8_t>> public_key) override;
  absl::StatusOr<PcrDescription> DescribePcr(uint16_t index) override;
  absl::StatusOr<PcrValue> ExtendPcr(uint16_t index, absl::Span<const uint8_t> data) override;
  absl::Status LockPcr(uint16_t index) override;
  absl::Status LockPcrs(uint16_t range) override;
  absl::StatusOr<std::vector<uint8_t>> GetRandom() override;
  absl::StatusOr<NsmDescription> DescribeNsm() override;

 private:
  DevNsm(std::unique_ptr<NsmTransport> transport, NsmKind kind)
      : transport_(std::move(transport)), kind_(kind) {}

  // Call sends `request` and returns the decoded response; an Error response
  // is returned as its NsmError status.
  absl::StatusOr<protocol::Response> Call(const protocol::Request& request);

  absl::Mutex mu_;
  std::unique_ptr<NsmTransport> transport_ ABSL_GUARDED_BY(mu_);
  const NsmKind kind_;
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_DEV_NSM_H_
