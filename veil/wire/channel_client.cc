#include "veil/wire/channel_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/wire/frame.h"
#include "veil/wire/internal/poll.h"

namespace veil::wire {
namespace {

// RemainingUntil turns a deadline back into a timeout for frame.h.
absl::Duration RemainingUntil(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return absl::InfiniteDuration();
  return std::max(deadline - absl::Now(), absl::ZeroDuration());
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChannelClient>> ChannelClient::Create(
    std::string_view endpoint, ChannelClientOptions options) {
  VEIL_ASSIGN_OR_RETURN(Endpoint e, ParseEndpoint(endpoint));
  if (e.kind == Endpoint::Kind::kTcp && e.port == 0) {
    return absl::InvalidArgumentError("wire: cannot connect to port 0");
  }
  // A refused endpoint is a configuration error: report it now, not on the
  // first call.
  VEIL_RETURN_IF_ERROR(CheckEndpoint(e, options.transport));
  return std::unique_ptr<ChannelClient>(new ChannelClient(std::move(e), std::move(options)));
}

absl::StatusOr<ScopedFd> ChannelClient::TakeConnection(absl::Time deadline, bool fresh,
                                                        bool* reused) {
  if (!fresh) {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      ScopedFd fd = std::move(idle_.back());
      idle_.pop_back();
      *reused = true;
      return fd;
    }
  }
  *reused = false;
  const absl::Duration timeout = std::min(options_.connect_timeout, RemainingUntil(deadline));
  return Connect(endpoint_, timeout, options_.transport);
}

void ChannelClient::ReturnConnection(ScopedFd fd) {
  absl::MutexLock lock(&mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(fd));
}

absl::StatusOr<Response> ChannelClient::Exchange(int fd, absl::Span<const uint8_t> frame,
                                                 uint64_t id, MessageType type,
                                                 absl::Time deadline, bool* retryable) {
  *retryable = false;
  absl::Status s = WriteFrame(fd, frame, RemainingUntil(deadline));
  if (!s.ok()) {
    // The enclave cannot act on a frame it did not get whole.
    *retryable = absl::IsUnavailable(s);
    return s;
  }
  auto body = ReadFrame(fd, options_.limits.max_frame_bytes, RemainingUntil(deadline));
  if (!body.ok()) {
    // A clean close or a reset before any byte of the response: the
    // connection was dead when we wrote to it (an idle connection the
    // enclave closed). Anything later is not retried.
    *retryable = absl::IsOutOfRange(body.status()) || absl::IsUnavailable(body.status());
    return body.status();
  }
  VEIL_ASSIGN_OR_RETURN(Response response, DecodeResponse(*body, options_.limits));
  if (response.id != id) {
    return absl::DataLossError(
        absl::StrCat("wire: response id ", response.id, " does not match request id ", id));
  }
  if (response.type() != type && response.type() != MessageType::kError) {
    return absl::DataLossError(absl::StrCat("wire: ", std::string(MessageTypeName(response.type())),
                                            " response to a ", std::string(MessageTypeName(type)),
                                            " request"));
  }
  return response;
}

absl::StatusOr<Response> ChannelClient::Call(Request request) {
  const absl::Time deadline = internal::DeadlineAfter(options_.call_timeout);
  {
    absl::MutexLock lock(&mu_);
    request.id = next_id_++;
  }
  const MessageType type = request.type();
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> frame, EncodeRequest(request, options_.limits));
  // The frame of a credentials request holds the secret access key.
  struct Wipe {
    std::vector<uint8_t>* frame;
    bool secret;
    ~Wipe() {
      if (secret) SecureWipe(frame->data(), frame->size());
    }
  } wipe{&frame, type == MessageType::kCredentials};

  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    VEIL_ASSIGN_OR_RETURN(ScopedFd fd, TakeConnection(deadline, attempt > 0, &reused));
    bool retryable = false;
    auto response = Exchange(fd.get(), frame, request.id, type, deadline, &retryable);
    if (response.ok()) {
      ReturnConnection(std::move(fd));
      return response;
    }
    // Only a pooled connection gets a second chance, once, on a new
    // connection.
    if (!(retryable && reused && attempt == 0)) return response.status();
  }
}

}  // namespace veil::wire
