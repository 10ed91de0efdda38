#include "veil/attestation/nsm/dev_nsm.h"

#include <fcntl.h>
#include <linux/ioctl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/unix_socket_transport.h"
#include "veil/common/status_macros.h"

namespace veil::attestation::nsm {
namespace {

// The uapi of the NSM driver (Linux include/uapi/linux/nsm.h, 6.8+; the
// out-of-tree driver has the same ABI). Debian 12's kernel headers predate
// it, so it is restated here and pinned with static_asserts.
constexpr unsigned kNsmMagic = 0x0A;
struct nsm_iovec {
  uint64_t addr;  // user-space pointer
  uint64_t len;   // buffer length; for the response, the driver writes the used length
};
struct nsm_raw {
  nsm_iovec request;
  nsm_iovec response;
};
static_assert(sizeof(nsm_iovec) == 16, "struct nsm_iovec is 16 bytes in the uapi");
static_assert(sizeof(nsm_raw) == 32, "struct nsm_raw is 32 bytes in the uapi");
constexpr unsigned long kNsmIoctlRaw = _IOWR(kNsmMagic, 0, struct nsm_raw);
static_assert(kNsmIoctlRaw == 0xC0200A00UL, "NSM_IOCTL_RAW = _IOWR(0x0A, 0, struct nsm_raw)");

// IoctlNsmTransport is the real thing: one NSM_IOCTL_RAW per call.
class IoctlNsmTransport : public NsmTransport {
 public:
  explicit IoctlNsmTransport(int fd) : fd_(fd) {}
  ~IoctlNsmTransport() override { ::close(fd_); }
  IoctlNsmTransport(const IoctlNsmTransport&) = delete;
  IoctlNsmTransport& operator=(const IoctlNsmTransport&) = delete;

  absl::StatusOr<std::vector<uint8_t>> Call(absl::Span<const uint8_t> request) override {
    // The Rust nsm-api refuses oversize requests before the ioctl; the driver
    // would answer EMSGSIZE.
    if (request.size() > kMaxRequestSize) {
      return NsmError(ErrorCode::kInputTooLarge,
                      absl::StrCat("request is ", request.size(), " bytes; at most ",
                                   kMaxRequestSize));
    }
    std::vector<uint8_t> response(kMaxResponseSize);
    nsm_raw raw{};
    raw.request.addr = reinterpret_cast<uintptr_t>(request.data());
    raw.request.len = request.size();
    raw.response.addr = reinterpret_cast<uintptr_t>(response.data());
    raw.response.len = response.size();
    int rc;
    do {
      rc = ::ioctl(fd_, kNsmIoctlRaw, &raw);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
      const int err = errno;
      if (err == EMSGSIZE) {
        return NsmError(ErrorCode::kInputTooLarge, "NSM ioctl: request too large (EMSGSIZE)");
      }
      return NsmError(ErrorCode::kInternalError,
                      absl::StrCat("NSM ioctl failed: ", std::strerror(err)));
    }
    if (raw.response.len > response.size()) {
      return NsmError(ErrorCode::kInvalidResponse, "NSM ioctl reported an oversize response");
    }
    response.resize(raw.response.len);
    return response;
  }

 private:
  const int fd_;
};

absl::Status UnexpectedResponse(const protocol::Request& request) {
  return NsmError(ErrorCode::kInvalidResponse,
                  absl::StrCat("the NSM answered ", std::string(protocol::RequestName(request)),
                               " with a different kind of response"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<NsmDevice>> DevNsm::Create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open the Nitro Secure Module at ", path, ": ", std::strerror(err),
        err == ENOENT ? " -- this is not a Nitro Enclave; in the integration tier connect to "
                        "veil-nsm-sim, in the local tier use the mock NSM"
                      : (err == EACCES || err == EPERM) ? " -- the NSM needs root (CAP_SYS_ADMIN)"
                                                         : ""));
  }
  return std::unique_ptr<NsmDevice>(
      new DevNsm(std::make_unique<IoctlNsmTransport>(fd), NsmKind::kNitro));
}

absl::StatusOr<std::unique_ptr<NsmDevice>> DevNsm::ConnectSimulator(
    const std::string& socket_path) {
  VEIL_ASSIGN_OR_RETURN(std::unique_ptr<NsmTransport> transport,
                        UnixSocketNsmTransport::Connect(socket_path));
  std::unique_ptr<NsmDevice> device =
      CreateWithTransport(std::move(transport), NsmKind::kSimulated);
  absl::StatusOr<NsmDescription> description = device->DescribeNsm();
  if (!description.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the NSM simulator at ", socket_path, " does not answer DescribeNSM: ",
                     std::string(description.status().message())));
  }
  return device;
}

std::unique_ptr<NsmDevice> DevNsm::CreateWithTransport(std::unique_ptr<NsmTransport> transport,
                                                       NsmKind kind) {
  return std::unique_ptr<NsmDevice>(new DevNsm(std::move(transport), kind));
}

absl::StatusOr<protocol::Response> DevNsm::Call(const protocol::Request& request) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> encoded, protocol::EncodeRequest(request));
  absl::StatusOr<std::vector<uint8_t>> answer;
  {
    absl::MutexLock lock(&mu_);
    answer = transport_->Call(encoded);
  }
  if (!answer.ok()) return answer.status();
  absl::StatusOr<protocol::Response> response = protocol::DecodeResponse(*answer);
  if (!response.ok()) {
    return NsmError(ErrorCode::kInvalidResponse,
                    absl::StrCat("undecodable NSM response to ",
                                 std::string(protocol::RequestName(request)), ": ",
                                 std::string(response.status().message())));
  }
  if (const auto* error = std::get_if<protocol::ErrorResponse>(&*response)) {
    return NsmError(error->code, absl::StrCat("the NSM refused ",
                                              std::string(protocol::RequestName(request))));
  }
  return response;
}

absl::StatusOr<std::vector<uint8_t>> DevNsm::GetAttestationDocument(
    std::optional<absl::Span<const uint8_t>> user_data,
    std::optional<absl::Span<const uint8_t>> nonce,
    std::optional<absl::Span<const uint8_t>> public_key) {
  protocol::AttestationRequest request;
  if (user_data) request.user_data.emplace(user_data->begin(), user_data->end());
  if (nonce) request.nonce.emplace(nonce->begin(), nonce->end());
  if (public_key) request.public_key.emplace(public_key->begin(), public_key->end());
  const protocol::Request r = std::move(request);
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  auto* attestation = std::get_if<protocol::AttestationResponse>(&response);
  if (attestation == nullptr) return UnexpectedResponse(r);
  return std::move(attestation->document);
}

absl::StatusOr<PcrDescription> DevNsm::DescribePcr(uint16_t index) {
  const protocol::Request r = protocol::DescribePcrRequest{index};
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  const auto* pcr = std::get_if<protocol::DescribePcrResponse>(&response);
  if (pcr == nullptr) return UnexpectedResponse(r);
  return PcrDescription{pcr->lock, pcr->data};
}

absl::StatusOr<PcrValue> DevNsm::ExtendPcr(uint16_t index, absl::Span<const uint8_t> data) {
  const protocol::Request r =
      protocol::ExtendPcrRequest{index, std::vector<uint8_t>(data.begin(), data.end())};
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  const auto* extended = std::get_if<protocol::ExtendPcrResponse>(&response);
  if (extended == nullptr) return UnexpectedResponse(r);
  return extended->data;
}

absl::Status DevNsm::LockPcr(uint16_t index) {
  const protocol::Request r = protocol::LockPcrRequest{index};
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  if (!std::holds_alternative<protocol::LockPcrResponse>(response)) return UnexpectedResponse(r);
  return absl::OkStatus();
}

absl::Status DevNsm::LockPcrs(uint16_t range) {
  const protocol::Request r = protocol::LockPcrsRequest{range};
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  if (!std::holds_alternative<protocol::LockPcrsResponse>(response)) return UnexpectedResponse(r);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> DevNsm::GetRandom() {
  const protocol::Request r = protocol::GetRandomRequest{};
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  auto* random = std::get_if<protocol::GetRandomResponse>(&response);
  if (random == nullptr) return UnexpectedResponse(r);
  if (random->random.empty()) {
    return NsmError(ErrorCode::kInvalidResponse, "the NSM returned no random bytes");
  }
  // nsm-lib hands out at most 256 bytes per call; so does this client.
  if (random->random.size() > kMaxRandomSize) random->random.resize(kMaxRandomSize);
  return std::move(random->random);
}

absl::StatusOr<NsmDescription> DevNsm::DescribeNsm() {
  const protocol::Request r = protocol::DescribeNsmRequest{};
  VEIL_ASSIGN_OR_RETURN(protocol::Response response, Call(r));
  auto* description = std::get_if<protocol::DescribeNsmResponse>(&response);
  if (description == nullptr) return UnexpectedResponse(r);
  return std::move(description->description);
}

}  // namespace veil::attestation::nsm
