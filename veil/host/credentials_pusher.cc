#include "veil/host/credentials_pusher.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "veil/common/byte_reader.h"
#include "veil/common/secret_bytes.h"

namespace veil::host {

absl::StatusOr<wire::CredentialsRequest> EnvironmentCredentials() {
  const char* key_id = std::getenv("AWS_ACCESS_KEY_ID");
  const char* secret = std::getenv("AWS_SECRET_ACCESS_KEY");
  if (key_id == nullptr || *key_id == '\0' || secret == nullptr || *secret == '\0') {
    return absl::FailedPreconditionError(
        "credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set");
  }
  wire::CredentialsRequest out;
  out.access_key_id = key_id;
  out.secret_access_key = SecretBytes::Copy(AsBytes(std::string_view(secret, std::strlen(secret))));
  if (const char* token = std::getenv("AWS_SESSION_TOKEN"); token != nullptr) {
    out.session_token = token;
  }
  out.expiration = absl::Now() + absl::Hours(1);
  if (const char* expiration = std::getenv("AWS_CREDENTIAL_EXPIRATION");
      expiration != nullptr && *expiration != '\0') {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, expiration, &out.expiration, &error)) {
      return absl::InvalidArgumentError(
          "credentials: AWS_CREDENTIAL_EXPIRATION is not an RFC 3339 time");
    }
  }
  return out;
}

CredentialsPusher::CredentialsPusher(wire::ChannelClient* channel, CredentialsSource source,
                                     HostLog* log, HostMetrics* metrics,
                                     CredentialsPusherOptions options)
    : channel_(channel),
      source_(std::move(source)),
      log_(log),
      metrics_(metrics),
      options_(options) {}

std::unique_ptr<CredentialsPusher> CredentialsPusher::Start(wire::ChannelClient* channel,
                                                            CredentialsSource source,
                                                            HostLog* log, HostMetrics* metrics,
                                                            CredentialsPusherOptions options) {
  std::unique_ptr<CredentialsPusher> p(
      new CredentialsPusher(channel, std::move(source), log, metrics, options));
  CredentialsPusher* raw = p.get();
  p->thread_ = std::thread([raw] { raw->Run(); });
  return p;
}

CredentialsPusher::~CredentialsPusher() { Stop(); }

void CredentialsPusher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CredentialsPusher::Nudge() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    nudged_ = true;
  }
  cv_.notify_all();
}

bool CredentialsPusher::PushOnce() {
  absl::StatusOr<wire::CredentialsRequest> credentials = source_();
  if (!credentials.ok()) {
    // The message names variables, never their values.
    log_->Event("credentials_unavailable",
                {{"reason", std::string(credentials.status().message())}});
    metrics_->RecordCredentialsPush(false);
    return false;
  }
  const absl::Time expiration = credentials->expiration;
  wire::Request request;
  request.message = std::move(*credentials);
  absl::StatusOr<wire::Response> answer = channel_->Call(std::move(request));
  if (!answer.ok()) {
    log_->Event("credentials_push_failed",
                {{"code", std::string(absl::StatusCodeToString(answer.status().code()))}});
    metrics_->RecordCredentialsPush(false);
    return false;
  }
  if (const auto* error = std::get_if<wire::ErrorResponse>(&answer->message)) {
    log_->Event("credentials_refused",
                {{"code", std::string(wire::ErrorCodeName(error->code))}});
    metrics_->RecordCredentialsPush(false);
    // A transient refusal is retried soon; any other (e.g. a key tier that
    // uses no AWS credentials) waits for the next refresh instead of
    // repeating every few seconds.
    return error->code != wire::ErrorCode::kBusy && error->code != wire::ErrorCode::kUnavailable;
  }
  log_->Event("credentials_pushed",
              {{"expiration", absl::FormatTime(absl::RFC3339_sec, expiration,
                                               absl::UTCTimeZone())}});
  metrics_->RecordCredentialsPush(true);
  return true;
}

void CredentialsPusher::Run() {
  absl::Time last_attempt = absl::InfinitePast();
  while (true) {
    last_attempt = absl::Now();
    const bool ok = PushOnce();
    const absl::Time next = last_attempt + (ok ? options_.refresh : options_.retry);
    std::unique_lock<std::mutex> lock(mu_);
    nudged_ = false;
    while (!stop_) {
      // A nudge waits out the retry interval, so a flood of `unavailable`
      // answers causes at most one push per interval.
      const absl::Time wake =
          nudged_ ? std::min(next, last_attempt + options_.retry) : next;
      if (absl::Now() >= wake) break;
      cv_.wait_for(lock, absl::ToChronoNanoseconds(wake - absl::Now()));
    }
    if (stop_) return;
  }
}

}  // namespace veil::host
