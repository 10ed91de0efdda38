// MockNsm: the NSM of the local tier. Its documents have the shape of real
// ones but chain to the published MOCK root (veil/attestation/mock_root.h),
// whose private key is in this module's source on purpose: anyone can make
// such a document, so it proves nothing, and verifiers accept it only in
// tier kLocal. Module ids start with "mock-".
#ifndef VEIL_ATTESTATION_NSM_MOCK_NSM_H_
#define VEIL_ATTESTATION_NSM_MOCK_NSM_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/attestation/nsm/nsm_device.h"

namespace veil::attestation::nsm {

// MockNsmOptions describe the mock enclave.
struct MockNsmOptions {
  // Image is the measured enclave image; all-zero if not measured.
  ImageMeasurement image;
  // Clock stamps documents; absl::Now when empty.
  std::function<absl::Time()> clock;
};

// MockNsm makes mock NSMs; it has no instances of its own.
class MockNsm {
 public:
  MockNsm() = delete;

  // Create returns an NsmDevice whose Kind() is kMock: a SimulatedNsm (same
  // PCR rules, same document encoding) under fresh intermediates issued by
  // the MOCK root, module id "mock-i-<17 hex>-enc<16 hex>".
  static absl::StatusOr<std::unique_ptr<NsmDevice>> Create(MockNsmOptions options = {});
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_MOCK_NSM_H_
