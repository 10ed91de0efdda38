// SimulatedNsm: the Nitro Secure Module as the simulated hypervisor side
// plays it. It keeps PCR state like the real NSM and produces attestation
// documents with the structure and encoding of real ones (brief 1.6), signed
// by a SimulatorCa. It runs inside veil-nsm-sim, never in the enclave
// process: the enclave reaches it through DevNsm over a Unix socket, so the
// CA's keys stay out of the enclave.
#ifndef VEIL_ATTESTATION_NSM_SIMULATED_NSM_H_
#define VEIL_ATTESTATION_NSM_SIMULATED_NSM_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/attestation/nsm/nsm_device.h"
#include "veil/attestation/nsm/simulator_ca.h"

namespace veil::attestation::nsm {

// SimulatedNsmOptions describe the simulated enclave at boot.
struct SimulatedNsmOptions {
  // Image is the measured enclave image (PCR0, PCR1, PCR2).
  ImageMeasurement image;
  // InstanceId is the parent instance ("i-" and 17 lowercase hex digits);
  // empty means the CA's. PCR4 and the module id follow from it.
  std::string instance_id;
  // RoleArn, if set, is measured into PCR3.
  std::optional<std::string> role_arn;
  // Debug starts the enclave in debug mode: PCR0, 1, 2 and 8 read as zero.
  bool debug = false;
  // Clock stamps documents; absl::Now when empty.
  std::function<absl::Time()> clock;
};

// SimulatedNsm implements NsmDevice with the real NSM's rules (brief 3.5):
// PCR0..15 are locked at boot; PCR16..31 start at zero and can be extended
// (PCR <- SHA-384(PCR || data)) until locked; changing a locked PCR is
// ReadOnlyIndex, an index over 31 InvalidIndex; documents carry every locked
// PCR. Its module id is "i-<17 hex>-enc<16 hex>" whose instance part is the
// one PCR4 measures. Thread-safe.
class SimulatedNsm : public NsmDevice {
 public:
  // Create boots a simulated NSM whose documents `ca` signs. Kind() is
  // kSimulated. InvalidArgument for a malformed instance id.
  static absl::StatusOr<std::unique_ptr<NsmDevice>> Create(std::shared_ptr<const SimulatorCa> ca,
                                                           SimulatedNsmOptions options);

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
  friend class MockNsm;
  // CreateWithKind is Create for the simulator (kSimulated) and the mock
  // (kMock, whose module ids start with `module_id_prefix`).
  static absl::StatusOr<std::unique_ptr<NsmDevice>> CreateWithKind(
      std::shared_ptr<const SimulatorCa> ca, SimulatedNsmOptions options, NsmKind kind,
      const std::string& module_id_prefix);
  SimulatedNsm(std::shared_ptr<const SimulatorCa> ca, NsmKind kind, std::string module_id,
               std::function<absl::Time()> clock, const std::array<PcrValue, kBootLockedPcrs>& boot);

  const std::shared_ptr<const SimulatorCa> ca_;
  const NsmKind kind_;
  const std::string module_id_;
  const std::function<absl::Time()> clock_;

  mutable absl::Mutex mu_;
  std::array<PcrValue, kMaxPcrs> pcrs_ ABSL_GUARDED_BY(mu_);
  std::array<bool, kMaxPcrs> locked_ ABSL_GUARDED_BY(mu_);
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_SIMULATED_NSM_H_
