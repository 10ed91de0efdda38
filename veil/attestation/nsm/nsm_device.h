// NsmDevice: the seam in front of the Nitro Secure Module (STYLE.md C3, C12).
//
// Three implementations, chosen at run time by main() and reported loudly:
//   DevNsm       the NSM protocol over a transport: the real /dev/nsm ioctl
//                ("nitro"), or a Unix socket to veil-nsm-sim ("simulated");
//   SimulatedNsm the simulated hypervisor side, signing with a local simulator
//                CA (used inside veil-nsm-sim and in tests; "simulated");
//   MockNsm      the local tier, signing with the published MOCK root ("mock").
// Spec: ../shared/specs/nitro-attestation-nsm-kms.md section 3.
#ifndef VEIL_ATTESTATION_NSM_NSM_DEVICE_H_
#define VEIL_ATTESTATION_NSM_NSM_DEVICE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::attestation::nsm {

// Limits of the NSM (brief sections 1.2, 3.1 and 3.5).
inline constexpr size_t kPcrLength = 48;          // SHA-384
inline constexpr uint16_t kMaxPcrs = 32;          // PCR0..PCR31
inline constexpr uint16_t kBootLockedPcrs = 16;   // PCR0..PCR15 are locked at boot
inline constexpr size_t kMaxRequestSize = 4096;   // NSM_REQUEST_MAX_SIZE
inline constexpr size_t kMaxResponseSize = 12288; // NSM_RESPONSE_MAX_SIZE
inline constexpr size_t kMaxPublicKeySize = 1024;
inline constexpr size_t kMaxUserDataSize = 512;
inline constexpr size_t kMaxNonceSize = 512;
inline constexpr size_t kMaxRandomSize = 256;     // what one GetRandom returns at most

// PcrValue is one PCR: a SHA-384 sized register.
using PcrValue = std::array<uint8_t, kPcrLength>;

// PcrDescription is DescribePCR's answer.
struct PcrDescription {
  bool locked = false;
  PcrValue value{};
};

// NsmDescription is DescribeNSM's answer.
struct NsmDescription {
  uint16_t version_major = 0;
  uint16_t version_minor = 0;
  uint16_t version_patch = 0;
  std::string module_id;
  uint16_t max_pcrs = 0;
  std::vector<uint16_t> locked_pcrs;  // ascending
  std::string digest;                 // "SHA384"
};

// NsmKind says which kind of NSM a device is; callers log it at startup and
// report it in health and audit output (STYLE.md C12: simulation is loud).
enum class NsmKind { kNitro, kSimulated, kMock };

// NsmKindName returns "nitro", "simulated" or "mock".
std::string_view NsmKindName(NsmKind kind);

// ErrorCode is the NSM's own error vocabulary (nsm-api ErrorCode).
enum class ErrorCode {
  kSuccess,
  kInvalidArgument,
  kInvalidIndex,
  kInvalidResponse,
  kReadOnlyIndex,
  kInvalidOperation,
  kBufferTooSmall,
  kInputTooLarge,
  kInternalError,
};

// ErrorCodeName returns the wire name ("InvalidIndex", ...).
std::string_view ErrorCodeName(ErrorCode code);
// ErrorCodeFromName maps a wire name back, or nullopt for an unknown name.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// NsmError returns a non-OK Status that carries `code` (see NsmErrorCodeOf)
// with a canonical code chosen to match it: InvalidArgument (InvalidArgument,
// InputTooLarge), OutOfRange (InvalidIndex), FailedPrecondition
// (ReadOnlyIndex, InvalidOperation), ResourceExhausted (BufferTooSmall),
// Internal (InvalidResponse, InternalError). `code` must not be kSuccess.
absl::Status NsmError(ErrorCode code, std::string_view message);

// NsmErrorCodeOf returns the NSM error code a Status carries: the one
// NsmError attached, else one derived from the canonical code (kSuccess for
// OK, kInternalError for codes with no NSM counterpart).
ErrorCode NsmErrorCodeOf(const absl::Status& status);

// NsmDevice is one Nitro Secure Module. Implementations are thread-safe.
// Failures that the NSM itself reports carry its ErrorCode (NsmErrorCodeOf).
class NsmDevice {
 public:
  virtual ~NsmDevice() = default;

  // Kind says whether this is real Nitro hardware, the simulator or the mock.
  virtual NsmKind Kind() const = 0;

  // GetAttestationDocument returns a signed attestation document (untagged
  // COSE_Sign1) that embeds each given field byte for byte; an absent field
  // is encoded as CBOR null. Limits: user_data and nonce at most 512 bytes,
  // public_key 1 to 1024 bytes (InvalidArgument / InputTooLarge otherwise).
  virtual absl::StatusOr<std::vector<uint8_t>> GetAttestationDocument(
      std::optional<absl::Span<const uint8_t>> user_data,
      std::optional<absl::Span<const uint8_t>> nonce,
      std::optional<absl::Span<const uint8_t>> public_key) = 0;

  // DescribePcr returns PCR `index` (0..31; InvalidIndex otherwise).
  virtual absl::StatusOr<PcrDescription> DescribePcr(uint16_t index) = 0;

  // ExtendPcr sets PCR `index` to SHA-384(PCR || data) and returns the new
  // value. Fails with ReadOnlyIndex when the PCR is locked.
  virtual absl::StatusOr<PcrValue> ExtendPcr(uint16_t index, absl::Span<const uint8_t> data) = 0;

  // LockPcr makes PCR `index` read-only until the enclave stops; locked PCRs
  // appear in every later attestation document. Locking a locked PCR is
  // ReadOnlyIndex.
  virtual absl::Status LockPcr(uint16_t index) = 0;

  // LockPcrs locks PCRs [0, range); range > 32 is InvalidIndex.
  virtual absl::Status LockPcrs(uint16_t range) = 0;

  // GetRandom returns up to 256 random bytes from the NSM.
  virtual absl::StatusOr<std::vector<uint8_t>> GetRandom() = 0;

  // DescribeNsm returns the module's version, id and PCR state.
  virtual absl::StatusOr<NsmDescription> DescribeNsm() = 0;
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_NSM_DEVICE_H_
