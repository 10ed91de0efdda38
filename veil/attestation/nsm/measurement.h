// Enclave image measurement: the PCR values an NSM reports for an image,
// computed the way Nitro extends PCRs (PCR <- SHA-384(PCR || digest),
// starting from 48 zero bytes).
//
// The simulated image layout (docs/nsm-and-simulation.md). An image is an
// ordered list of parts: the enclave binary first, then the application's
// files (the model file, the enclave configuration, ... in the order given):
//   PCR0 = Extend(...Extend(Extend(0^48, H(part_0)), H(part_1))..., H(part_n-1))
//          -- every part, the "enclave image file" analogue;
//   PCR1 = Extend(0^48, H(part_0))
//          -- the enclave binary alone, the "kernel and bootstrap" analogue;
//   PCR2 = Extend(...Extend(0^48, H(part_1))..., H(part_n-1))
//          -- the remaining parts, the "application" analogue (0^48 if none);
//   PCR3 = SHA-384(0^48 || IAM role ARN), or 0^48 without a role;
//   PCR4 = SHA-384(0^48 || ASCII parent instance id), exactly as on Nitro;
//   PCR8 = 0^48 (the image is unsigned); PCR5-7 and PCR9-15 = 0^48.
// H is SHA-384. Each part is hashed on its own before it is extended, so
// moving bytes from the end of one part to the start of the next changes
// the measurement (a plain concatenation would not notice).
#ifndef VEIL_ATTESTATION_NSM_MEASUREMENT_H_
#define VEIL_ATTESTATION_NSM_MEASUREMENT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "veil/attestation/nsm/nsm_device.h"

namespace veil::attestation::nsm {

// ZeroPcr returns 48 zero bytes, the value of every PCR before it is extended.
inline PcrValue ZeroPcr() { return PcrValue{}; }

// PcrExtend returns SHA-384(pcr || data).
PcrValue PcrExtend(const PcrValue& pcr, absl::Span<const uint8_t> data);

// ImageMeasurement is what measuring an image gives: PCR0, PCR1 and PCR2.
struct ImageMeasurement {
  PcrValue pcr0{};
  PcrValue pcr1{};
  PcrValue pcr2{};
};

// MeasureImageFiles measures the image whose parts are the files `paths`
// (the enclave binary first). Files are streamed, never read whole. Fails
// with InvalidArgument for an empty list and NotFound / Internal when a file
// cannot be read.
absl::StatusOr<ImageMeasurement> MeasureImageFiles(absl::Span<const std::string> paths);

// MeasureImageParts measures an image whose parts are in memory.
// InvalidArgument for an empty list.
absl::StatusOr<ImageMeasurement> MeasureImageParts(
    absl::Span<const absl::Span<const uint8_t>> parts);

// MeasureRoleArn returns PCR3 for an IAM role ARN: SHA-384(0^48 || arn).
PcrValue MeasureRoleArn(std::string_view role_arn);

// MeasureInstanceId returns PCR4 for a parent instance id such as
// "i-0bee92034f3d60691": SHA-384(0^48 || ASCII id).
PcrValue MeasureInstanceId(std::string_view instance_id);

// BootPcrs returns PCR0..PCR15 as an NSM locks them at boot for this image,
// parent instance and role (see the layout above). With `debug`, PCR0, 1, 2
// and 8 read as zero, as for a Nitro enclave started in debug mode; PCR3 and
// PCR4 stay filled in.
std::array<PcrValue, kBootLockedPcrs> BootPcrs(const ImageMeasurement& image,
                                               std::string_view instance_id,
                                               std::optional<std::string_view> role_arn,
                                               bool debug);

// InstanceIdOfModuleId returns the parent instance id a module id starts
// with ("i-...-enc..." -> "i-..."), or nullopt if there is no "-enc".
std::optional<std::string> InstanceIdOfModuleId(std::string_view module_id);

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_MEASUREMENT_H_
