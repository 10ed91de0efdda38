// SimulatorCa: the certificate authority of the simulated Nitro hypervisor.
//
// It mirrors the shape of the AWS Nitro PKI (brief sections 1.3 step 9 and
// 1.4) with names that cannot be mistaken for it: a P-384 root, three P-384
// intermediates (regional, zonal, instance) and a short-lived leaf per
// attestation document, all signed with ecdsa-with-SHA384, every common name
// containing the CA's label ("veil-simulated"), organization "Veil", and
// every DER certificate at most 1024 bytes. A verifier accepts the
// documents only when it is configured with this CA's root (tier
// kSimulated), never in production.
#ifndef VEIL_ATTESTATION_NSM_SIMULATOR_CA_H_
#define VEIL_ATTESTATION_NSM_SIMULATOR_CA_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "veil/common/secret_bytes.h"

namespace veil::attestation::nsm {

// SimulatorCaOptions shapes a new CA.
struct SimulatorCaOptions {
  // Label is part of every certificate's common name and organizational
  // unit ("veil-simulated"; the mock uses "veil-mock"). At most 16 characters.
  std::string label = "veil-simulated";
  // Region stands in for the AWS region in the names. At most 8 characters
  // (every common name must stay within X.509's 64).
  std::string region = "sim";
  // InstanceId is the simulated parent instance ("i-" and 17 lowercase hex
  // digits) named by the instance intermediate; empty means a random one.
  std::string instance_id;
  // Now is when the CA is made; intermediates start a minute before it.
  absl::Time now = absl::Now();
};

// LeafSigner is one attestation document's signing credential: a fresh P-384
// key and its leaf certificate. Its private key never leaves it.
// Thread-compatible.
class LeafSigner {
 public:
  ~LeafSigner();
  LeafSigner(LeafSigner&&) noexcept;
  LeafSigner& operator=(LeafSigner&&) noexcept;

  // CertificateDer returns the leaf certificate (the document's
  // `certificate` field).
  const std::vector<uint8_t>& CertificateDer() const { return certificate_der_; }

  // Sign returns the untagged COSE_Sign1 (ES384) over `payload`, the
  // already-encoded document map.
  absl::StatusOr<std::vector<uint8_t>> Sign(absl::Span<const uint8_t> payload) const;

 private:
  friend class SimulatorCa;
  struct Key;
  LeafSigner(std::vector<uint8_t> certificate_der, std::unique_ptr<Key> key);
  std::vector<uint8_t> certificate_der_;
  std::unique_ptr<Key> key_;
};

// SimulatorCa holds the root and the three intermediates with their private
// keys. Thread-safe.
class SimulatorCa {
 public:
  // Generate makes a new CA: root valid 30 years, regional 5 years, zonal 2
  // years, instance 1 year.
  static absl::StatusOr<std::unique_ptr<SimulatorCa>> Generate(
      const SimulatorCaOptions& options = SimulatorCaOptions());

  // GenerateUnderRoot makes the three intermediates under an existing root
  // certificate whose PKCS#8 DER private key is `root_key_pkcs8` (the mock
  // tier's published root). The root must be a self-signed P-384 CA whose
  // key matches.
  static absl::StatusOr<std::unique_ptr<SimulatorCa>> GenerateUnderRoot(
      absl::Span<const uint8_t> root_der, const SecretBytes& root_key_pkcs8,
      const SimulatorCaOptions& options);

  // Save writes the CA to `dir` (created with mode 0700 if missing):
  // root.pem -- the trust anchor to configure verifiers with -- and
  // regional.pem, zonal.pem, instance.pem, each certificate's private key
  // beside it as <name>.key (PKCS#8 PEM, mode 0600). Existing files are never
  // overwritten (AlreadyExists).
  absl::Status Save(const std::string& dir) const;

  // Load reads a CA written by Save. Fails with NotFound when a file is
  // missing, InvalidArgument when the files do not form a chain with
  // matching keys, and FailedPrecondition when a certificate has expired at
  // `now` (make a new CA with `veil attest simulate-ca`).
  static absl::StatusOr<std::unique_ptr<SimulatorCa>> Load(const std::string& dir,
                                                           absl::Time now = absl::Now());

  ~SimulatorCa();

  // RootDer returns the root certificate's DER.
  const std::vector<uint8_t>& RootDer() const;
  // RootPem returns the root certificate as PEM.
  std::string RootPem() const;
  // CaBundle returns [root, regional, zonal, instance] as DER, the document's
  // `cabundle`.
  std::vector<std::vector<uint8_t>> CaBundle() const;
  // InstanceId returns the parent instance id the instance intermediate names.
  const std::string& InstanceId() const { return instance_id_; }
  // Region returns the region the names use.
  const std::string& Region() const { return region_; }
  // Label returns the label in every name ("veil-simulated").
  const std::string& Label() const { return label_; }

  // IssueLeaf makes a new P-384 key and its leaf certificate for a document
  // of `module_id` stamped `timestamp`: CN=<module_id>.<region>.<label>.aws,
  // critical CA:FALSE, KeyUsage digitalSignature+nonRepudiation, valid from
  // 3 seconds before `timestamp` for 3 hours (as the real NSM's leaves).
  absl::StatusOr<LeafSigner> IssueLeaf(std::string_view module_id, absl::Time timestamp) const;

 private:
  struct Chain;
  SimulatorCa(std::unique_ptr<Chain> chain, std::string label, std::string region,
              std::string instance_id);
  std::unique_ptr<Chain> chain_;
  std::string label_;
  std::string region_;
  std::string instance_id_;
};

}  // namespace veil::attestation::nsm

#endif  // VEIL_ATTESTATION_NSM_SIMULATOR_CA_H_
