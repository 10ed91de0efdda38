#include "veil/attestation/nsm/simulated_nsm.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"

namespace veil::attestation::nsm {
namespace {

bool IsInstanceId(std::string_view id) {
  if (id.size() != 19 || id.substr(0, 2) != "i-") return false;
  for (char c : id.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// EnclaveId returns the 16 hex digits after "-enc": like the real ones, the
// boot time in milliseconds (12 digits) followed by 4 random digits.
absl::StatusOr<std::string> EnclaveId(absl::Time boot) {
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(boot)) & 0xFFFFFFFFFFFFull;
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> r, crypto::RandomBytes(2));
  std::vector<uint8_t> id(8);
  for (int i = 0; i < 6; ++i) id[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  id[6] = r[0];
  id[7] = r[1];
  return HexEncode(id);
}

void OptionalBytes(cbor::Writer& w, const std::optional<absl::Span<const uint8_t>>& b) {
  if (b.has_value()) {
    w.Bytes(*b);
  } else {
    w.Null();
  }
}

absl::Status CheckIndex(uint16_t index) {
  if (index >= kMaxPcrs) {
    return NsmError(ErrorCode::kInvalidIndex,
                    absl::StrCat("PCR", index, " does not exist (the NSM has ", kMaxPcrs, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<NsmDevice>> SimulatedNsm::Create(
    std::shared_ptr<const SimulatorCa> ca, SimulatedNsmOptions options) {
  return CreateWithKind(std::move(ca), std::move(options), NsmKind::kSimulated, "");
}

absl::StatusOr<std::unique_ptr<NsmDevice>> SimulatedNsm::CreateWithKind(
    std::shared_ptr<const SimulatorCa> ca, SimulatedNsmOptions options, NsmKind kind,
    const std::string& module_id_prefix) {
  if (ca == nullptr) return absl::InvalidArgumentError("a simulated NSM needs a CA");
  const std::string instance_id =
      options.instance_id.empty() ? ca->InstanceId() : options.instance_id;
  if (!IsInstanceId(instance_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("instance id must be \"i-\" and 17 lowercase hex digits: ", instance_id));
  }
  std::function<absl::Time()> clock =
      options.clock ? std::move(options.clock) : std::function<absl::Time()>(&absl::Now);
  VEIL_ASSIGN_OR_RETURN(std::string enclave_id, EnclaveId(clock()));
  // The module id's instance part is exactly what PCR4 measures
  // (InstanceIdOfModuleId), as on Nitro.
  const std::string full_instance = absl::StrCat(module_id_prefix, instance_id);
  std::string module_id = absl::StrCat(full_instance, "-enc", enclave_id);
  const std::optional<std::string_view> role =
      options.role_arn ? std::optional<std::string_view>(*options.role_arn) : std::nullopt;
  const std::array<PcrValue, kBootLockedPcrs> boot =
      BootPcrs(options.image, full_instance, role, options.debug);
  return std::unique_ptr<NsmDevice>(
      new SimulatedNsm(std::move(ca), kind, std::move(module_id), std::move(clock), boot));
}

SimulatedNsm::SimulatedNsm(std::shared_ptr<const SimulatorCa> ca, NsmKind kind,
                           std::string module_id, std::function<absl::Time()> clock,
                           const std::array<PcrValue, kBootLockedPcrs>& boot)
    : ca_(std::move(ca)), kind_(kind), module_id_(std::move(module_id)), clock_(std::move(clock)) {
  pcrs_.fill(ZeroPcr());
  locked_.fill(false);
  for (size_t i = 0; i < kBootLockedPcrs; ++i) {
    pcrs_[i] = boot[i];
    locked_[i] = true;
  }
}

absl::StatusOr<std::vector<uint8_t>> SimulatedNsm::GetAttestationDocument(
    std::optional<absl::Span<const uint8_t>> user_data,
    std::optional<absl::Span<const uint8_t>> nonce,
    std::optional<absl::Span<const uint8_t>> public_key) {
  // Spec: brief 3.5 -- the same limits the verifier applies.
  if ((user_data && user_data->size() > kMaxUserDataSize) ||
      (nonce && nonce->size() > kMaxNonceSize) ||
      (public_key && public_key->size() > kMaxPublicKeySize)) {
    return NsmError(ErrorCode::kInputTooLarge,
                    "user_data and nonce take at most 512 bytes, public_key 1024");
  }
  if (public_key && public_key->empty()) {
    return NsmError(ErrorCode::kInvalidArgument, "public_key must not be empty");
  }

  std::vector<std::pair<uint16_t, PcrValue>> locked;
  {
    absl::MutexLock lock(&mu_);
    for (uint16_t i = 0; i < kMaxPcrs; ++i) {
      if (locked_[i]) locked.emplace_back(i, pcrs_[i]);
    }
  }
  const absl::Time now = clock_();
  const int64_t ms = absl::ToUnixMillis(now);
  if (ms <= 0) return NsmError(ErrorCode::kInternalError, "the clock is before 1970");
  VEIL_ASSIGN_OR_RETURN(LeafSigner leaf, ca_->IssueLeaf(module_id_, now));

  // Spec: brief 1.2 and 1.6 -- a definite map of nine entries in serde's
  // field order; absent optionals are null; pcrs ascending, 48-byte values.
  cbor::Writer w;
  w.MapHeader(9);
  w.Text("module_id");
  w.Text(module_id_);
  w.Text("digest");
  w.Text("SHA384");
  w.Text("timestamp");
  w.Unsigned(static_cast<uint64_t>(ms));
  w.Text("pcrs");
  w.MapHeader(locked.size());
  for (const auto& [index, value] : locked) {
    w.Unsigned(index);
    w.Bytes(value);
  }
  w.Text("certificate");
  w.Bytes(leaf.CertificateDer());
  w.Text("cabundle");
  const std::vector<std::vector<uint8_t>> bundle = ca_->CaBundle();
  w.ArrayHeader(bundle.size());
  for (const std::vector<uint8_t>& cert : bundle) w.Bytes(cert);
  w.Text("public_key");
  OptionalBytes(w, public_key);
  w.Text("user_data");
  OptionalBytes(w, user_data);
  w.Text("nonce");
  OptionalBytes(w, nonce);

  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> document, leaf.Sign(w.bytes()));
  // The document travels inside an Attestation response of at most 12288
  // bytes; 64 bytes cover that response's own framing.
  if (document.size() > kMaxResponseSize - 64) {
    return NsmError(ErrorCode::kBufferTooSmall, "the attestation document does not fit a response");
  }
  return document;
}

absl::StatusOr<PcrDescription> SimulatedNsm::DescribePcr(uint16_t index) {
  VEIL_RETURN_IF_ERROR(CheckIndex(index));
  absl::MutexLock lock(&mu_);
  return PcrDescription{locked_[index], pcrs_[index]};
}

absl::StatusOr<PcrValue> SimulatedNsm::ExtendPcr(uint16_t index, absl::Span<const uint8_t> data) {
  VEIL_RETURN_IF_ERROR(CheckIndex(index));
  absl::MutexLock lock(&mu_);
  if (locked_[index]) {
    return NsmError(ErrorCode::kReadOnlyIndex, absl::StrCat("PCR", index, " is locked"));
  }
  pcrs_[index] = PcrExtend(pcrs_[index], data);
  return pcrs_[index];
}

absl::Status SimulatedNsm::LockPcr(uint16_t index) {
  VEIL_RETURN_IF_ERROR(CheckIndex(index));
  absl::MutexLock lock(&mu_);
  if (locked_[index]) {
    return NsmError(ErrorCode::kReadOnlyIndex, absl::StrCat("PCR", index, " is already locked"));
  }
  locked_[index] = true;
  return absl::OkStatus();
}

absl::Status SimulatedNsm::LockPcrs(uint16_t range) {
  if (range > kMaxPcrs) {
    return NsmError(ErrorCode::kInvalidIndex,
                    absl::StrCat("LockPCRs range ", range, " is over ", kMaxPcrs));
  }
  absl::MutexLock lock(&mu_);
  for (uint16_t i = 0; i < range; ++i) locked_[i] = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> SimulatedNsm::GetRandom() {
  absl::StatusOr<std::vector<uint8_t>> random = crypto::RandomBytes(kMaxRandomSize);
  if (!random.ok()) return NsmError(ErrorCode::kInternalError, "no entropy");
  return random;
}

absl::StatusOr<NsmDescription> SimulatedNsm::DescribeNsm() {
  NsmDescription d;
  d.version_major = 1;
  d.version_minor = 0;
  d.version_patch = 0;
  d.module_id = module_id_;
  d.max_pcrs = kMaxPcrs;
  d.digest = "SHA384";
  absl::MutexLock lock(&mu_);
  for (uint16_t i = 0; i < kMaxPcrs; ++i) {
    if (locked_[i]) d.locked_pcrs.push_back(i);
  }
  return d;
}

}  // namespace veil::attestation::nsm
