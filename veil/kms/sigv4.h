// AWS Signature Version 4 (header signing): the signer the KMS client uses and
// the verifier the key service uses, built on one canonicalisation.
//
// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
// (canonical request, string to sign, signing key, Authorization header).
// Paths are canonicalised the non-S3 way: normalised (RFC 3986 dot segments,
// empty segments removed) and then percent-encoded again ("double encoding").
#ifndef VEIL_KMS_SIGV4_H_
#define VEIL_KMS_SIGV4_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "veil/common/secret_bytes.h"

namespace veil::kms {

// AwsCredentials is an access key pair and, for temporary credentials, a
// session token. The secret never leaves SecretBytes.
struct AwsCredentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;  // empty: long-term credentials

  AwsCredentials Clone() const {
    return {access_key_id, secret_access_key.Clone(), session_token};
  }
};

// HttpRequestParts is an HTTP request as it is (or was) sent on the wire.
struct HttpRequestParts {
  std::string method;  // "POST"
  // The path of the request target exactly as on the request line (before
  // any '?'), not percent-decoded.
  std::string path = "/";
  // The raw query string after '?', without the '?'; empty when none.
  std::string query;
  // Header fields in arrival order; names in any case, repeated names allowed.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

inline constexpr char kSigV4Algorithm[] = "AWS4-HMAC-SHA256";

// ---------------------------------------------------------------------------
// Canonicalisation (exposed for the official test suite and the verifier).

// UriEncode percent-encodes every byte of `in` except the unreserved set
// A-Z a-z 0-9 - _ . ~ (and '/' when `keep_slash`), with upper-case hex.
std::string UriEncode(std::string_view in, bool keep_slash);

// CanonicalUri returns the canonical URI of a request path: optionally
// normalised (dot segments resolved, empty segments dropped, a trailing '/'
// kept), then UriEncode(path, keep_slash=true). An empty path is "/".
std::string CanonicalUri(std::string_view path, bool normalize);

// CanonicalQueryString percent-decodes each name and value of a raw query,
// re-encodes them with UriEncode, sorts by name then value, and joins them
// as name=value with '&'. A parameter without '=' has an empty value.
std::string CanonicalQueryString(std::string_view raw_query);

// CanonicalHeaderValue trims leading and trailing whitespace and collapses
// each inner run of whitespace (space, tab, CR, LF) into one space.
std::string CanonicalHeaderValue(std::string_view value);

// CanonicalRequestParts is what a canonical request is computed from.
struct CanonicalRequestInput {
  const HttpRequestParts* request = nullptr;
  // Lower-case header names to sign, sorted, without duplicates.
  std::vector<std::string> signed_headers;
  std::string payload_hash;  // lower-case hex SHA-256 of the body
  bool normalize_path = true;
};

// CanonicalRequest returns the canonical request. Values of repeated headers
// are joined with ',' in arrival order. A signed header that the request
// lacks is InvalidArgument.
absl::StatusOr<std::string> CanonicalRequest(const CanonicalRequestInput& input);

// CredentialScope returns "<yyyymmdd>/<region>/<service>/aws4_request".
std::string CredentialScope(absl::Time time, std::string_view region, std::string_view service);

// AmzDate formats `time` as ISO 8601 basic, "20150830T123600Z".
std::string AmzDate(absl::Time time);

// StringToSign returns the string to sign for a canonical request.
std::string StringToSign(absl::Time time, std::string_view scope,
                         std::string_view canonical_request);

// DeriveSigningKey returns kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret,
// date), region), service), "aws4_request"); `date` is yyyymmdd.
absl::StatusOr<SecretBytes> DeriveSigningKey(const SecretBytes& secret_access_key,
                                             std::string_view date, std::string_view region,
                                             std::string_view service);

// ---------------------------------------------------------------------------
// Signing.

// SigningConfig says where and when a request is signed.
struct SigningConfig {
  std::string region;
  std::string service;
  absl::Time time;
  bool normalize_path = true;
  // Adds and signs x-amz-content-sha256 (the S3 convention; AWS KMS does not
  // need it).
  bool add_content_sha256_header = false;
};

// SigningResult is what a signature was computed from, for tests and debug.
struct SigningResult {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;  // lower-case hex
  std::string authorization;
};

// SigV4Signer signs requests in place. It caches the signing key for the
// most recent (access key, date, region, service), which changes once a day.
// Thread-safe.
class SigV4Signer {
 public:
  SigV4Signer() = default;

  // Sign removes any Authorization, X-Amz-Date and X-Amz-Security-Token
  // headers, then adds X-Amz-Date, X-Amz-Security-Token (when the
  // credentials carry a token) and Authorization. Every header present is
  // signed except hop-by-hop and tracing headers (user-agent, expect,
  // connection, transfer-encoding, x-amzn-trace-id); a missing Host header is
  // InvalidArgument.
  absl::StatusOr<SigningResult> Sign(const AwsCredentials& credentials,
                                     const SigningConfig& config,
                                     HttpRequestParts& request) const;

 private:
  absl::StatusOr<SecretBytes> SigningKey(const AwsCredentials& credentials, std::string_view date,
                                         std::string_view region,
                                         std::string_view service) const;

  mutable std::mutex mu_;
  mutable std::string cached_scope_;  // access key id + '/' + credential scope
  mutable SecretBytes cached_secret_;
  mutable SecretBytes cached_key_;
};

// ---------------------------------------------------------------------------
// Verification (the key service's side).

// SigV4Failure classifies a rejected request by the AWS error type a service
// answers with.
enum class SigV4Failure {
  kMissingAuthentication,  // no Authorization header
  kIncompleteSignature,    // malformed Authorization, missing date, host not signed
  kUnrecognizedClient,     // unknown access key id
  kSignatureMismatch,      // the signature does not match
  kSignatureExpired,       // outside the clock-skew window
  kInvalidScope,           // credential scope names another date, region or service
};

// SigV4FailureAwsType returns the AWS `__type` for `failure`
// ("InvalidSignatureException", "UnrecognizedClientException", ...).
const char* SigV4FailureAwsType(SigV4Failure failure);

// GetSigV4Failure returns the classification attached to a status returned
// by SigV4Verifier::Verify, or nullopt for any other status.
std::optional<SigV4Failure> GetSigV4Failure(const absl::Status& status);

// SecretLookup returns the secret access key for an access key id, NotFound
// for an unknown id, or another error (which Verify passes through).
using SecretLookup =
    std::function<absl::StatusOr<SecretBytes>(const std::string& access_key_id)>;

// VerifierOptions configures SigV4Verifier.
struct VerifierOptions {
  std::string service;  // required, e.g. "kms"
  std::string region;   // empty: any region in the credential scope is accepted
  absl::Duration max_skew = absl::Minutes(5);
  std::function<absl::Time()> now;  // default absl::Now
  bool normalize_path = true;
};

// VerifiedRequest describes an authenticated request.
struct VerifiedRequest {
  std::string access_key_id;
  std::string region;         // from the credential scope
  std::string session_token;  // X-Amz-Security-Token, empty when absent
  absl::Time request_time;
  std::vector<std::string> signed_headers;
};

// SigV4Verifier checks header-signed requests: it rebuilds the canonical
// request from what arrived, recomputes the signature and compares it in
// constant time, and checks the credential scope and the clock-skew window.
// Thread-safe.
class SigV4Verifier {
 public:
  // Create fails with InvalidArgument when the service is empty or the skew
  // is negative.
  static absl::StatusOr<std::unique_ptr<SigV4Verifier>> Create(VerifierOptions options,
                                                               SecretLookup lookup);

  // Verify returns the authenticated identity, or Unauthenticated with a
  // message fit for the caller (it never contains the expected signature)
  // and a SigV4Failure attached (GetSigV4Failure). Errors from the secret
  // lookup other than NotFound are returned unchanged.
  absl::StatusOr<VerifiedRequest> Verify(const HttpRequestParts& request) const;

 private:
  SigV4Verifier(VerifierOptions options, SecretLookup lookup)
      : options_(std::move(options)), lookup_(std::move(lookup)) {}

  absl::StatusOr<SecretBytes> SigningKey(const std::string& access_key_id,
                                         const SecretBytes& secret, std::string_view date,
                                         std::string_view region) const;

  VerifierOptions options_;
  SecretLookup lookup_;

  // Signing keys by (access key id, date, region); an entry is reused only
  // while the looked-up secret is unchanged. Bounded: cleared when full.
  struct CachedKey {
    SecretBytes secret;
    SecretBytes key;
  };
  mutable std::mutex mu_;
  mutable std::map<std::tuple<std::string, std::string, std::string>, CachedKey> cache_;
};

}  // namespace veil::kms

#endif  // VEIL_KMS_SIGV4_H_
