// The simulated Nitro launcher (veil-nitro-run), the integration tier's
// stand-in for `nitro-cli describe-eif` and `nitro-cli run-enclave`. It
// measures an enclave image (image_description.h), serves its NSM through a
// veil-nsm-sim child, and runs the enclave binary in a bubblewrap sandbox
// with no network, no host files and a read-only filesystem. This is a
// SIMULATION: Linux namespaces, not a hypervisor, separate the enclave from
// the host, and the host's root can read its memory. docs/enclave-launcher.md.
#ifndef VEIL_NITRO_SIM_LAUNCHER_H_
#define VEIL_NITRO_SIM_LAUNCHER_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "veil/attestation/nsm/measurement.h"
#include "veil/nitro_sim/image_description.h"

namespace veil::nitro_sim {

// Paths inside the sandbox.
inline constexpr char kSandboxBinDir[] = "/enclave/bin";
inline constexpr char kSandboxAppDir[] = "/enclave/app";
inline constexpr char kSandboxSocketDir[] = "/run/veil";

// MeasuredPart is one image part and the SHA-384 of its bytes.
struct MeasuredPart {
  std::string path;
  std::string sha384_hex;
};

// MeasuredImage is an image's parts (binary first) and its PCR0-2.
struct MeasuredImage {
  std::vector<MeasuredPart> parts;
  attestation::nsm::ImageMeasurement measurement;
};

// MeasureImage hashes every part of `image` and measures the image exactly as
// `veil measure binary files...` does. NotFound / Internal when a part
// cannot be read.
absl::StatusOr<MeasuredImage> MeasureImage(const EnclaveImageDescription& image);

// MeasurementsJson returns the "Measurements" object of nitro-cli (and of
// `veil measure`): HashAlgorithm, PCR0, PCR1, PCR2, PCR3 when `role_arn` is
// not empty, PCR4 when `instance_id` is not empty, and PCR8 (zero: unsigned).
nlohmann::json MeasurementsJson(const attestation::nsm::ImageMeasurement& m,
                                const std::string& role_arn, const std::string& instance_id);

// DescribeImageJson returns what `veil-nitro-run describe` prints, shaped
// like `nitro-cli describe-eif`.
nlohmann::json DescribeImageJson(const EnclaveImageDescription& image, const MeasuredImage& measured,
                                 const std::string& role_arn, const std::string& instance_id);

// SandboxLayout is what the enclave's sandbox is made of.
struct SandboxLayout {
  // binary is the host path of the (copied) enclave binary.
  std::string binary;
  // files are the host paths of the (copied) application files.
  std::vector<std::string> files;
  // config_basename is the base name of the configuration file.
  std::string config_basename;
  // socket_dir is the host directory bound read-write at /run/veil.
  std::string socket_dir;
};

// SandboxArguments returns bwrap's arguments (without argv[0]) that run the
// enclave as `/enclave/bin/<binary> --config /enclave/app/<config>`:
// every namespace unshared (no network but a loopback of its own), no
// capabilities, a new session, only PATH and VEIL_ENCLAVE_SIMULATED=1 in the
// environment, /usr read-only (with the /bin, /lib, /lib64 links), fresh
// /proc, /dev and a memory-only /tmp, the image read-only under /enclave,
// `socket_dir` read-write at /run/veil, and the root remounted read-only.
// With `command` set, it runs instead of the enclave binary (the launcher's
// preflight check runs /usr/bin/true in the same sandbox).
std::vector<std::string> SandboxArguments(const SandboxLayout& layout,
                                          const std::vector<std::string>& command = {});

// LaunchOptions configure one `veil-nitro-run run`.
struct LaunchOptions {
  std::string image_path;
  std::string ca_dir;
  std::string run_dir;
  bool debug = false;
  std::string instance_id;
  std::string role_arn;
  uint32_t enclave_cid = 16;
  // memory_mib, when set, is enforced as the sandbox's RLIMIT_AS.
  std::optional<uint64_t> memory_mib;
  // nsm_sim is veil-nsm-sim's path; empty: beside this executable.
  std::string nsm_sim;
  std::string bwrap = "/usr/bin/bwrap";
  absl::Duration nsm_start_timeout = absl::Seconds(10);
  // stop_grace is how long a stopping enclave has between SIGTERM and SIGKILL.
  absl::Duration stop_grace = absl::Seconds(5);
};

// EnclaveEnd says how the enclave ended.
struct EnclaveEnd {
  // exit_code is its exit status, or -1 when it was killed by a signal.
  int exit_code = -1;
  // signal is the signal that killed it (bubblewrap reports a death by
  // signal N as exit status 128+N), or 0.
  int signal = 0;
  // stopped_by_launcher: the launcher stopped it (SIGINT/SIGTERM received,
  // or veil-nsm-sim died).
  bool stopped_by_launcher = false;
  // Description returns e.g. "exited with status 0" or "killed by signal 15 (SIGTERM)".
  std::string Description() const;
};

// RunEnclave launches the image described by `options` and returns when the
// enclave has ended and every child has been stopped; it prints the
// run-enclave JSON on `out` once the enclave has started, and its banner and
// progress on stderr. It never restarts the enclave. SIGINT and SIGTERM
// stop the enclave (SIGTERM, then SIGKILL after `stop_grace`). Every child
// is tied to this process with PR_SET_PDEATHSIG, so none outlives it.
// The caller must block SIGINT and SIGTERM in every thread (see
// BlockStopSignals) before calling. Fails with InvalidArgument / NotFound
// for a bad image or directory, FailedPrecondition when bubblewrap cannot
// build the sandbox, Unavailable when veil-nsm-sim does not start, and
// Internal when veil-nsm-sim dies while the enclave runs.
absl::StatusOr<EnclaveEnd> RunEnclave(const LaunchOptions& options, std::ostream& out);

// BlockStopSignals resets SIGINT and SIGTERM to their default action and
// blocks them in the calling thread (and in threads it starts later), so
// that RunEnclave receives them, even when started with them ignored.
void BlockStopSignals();

// DefaultNsmSimPath returns veil-nsm-sim's path beside the running
// executable (/proc/self/exe's directory).
std::string DefaultNsmSimPath();

}  // namespace veil::nitro_sim

#endif  // VEIL_NITRO_SIM_LAUNCHER_H_
