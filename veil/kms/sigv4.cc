#include "veil/kms/sigv4.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_join.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/constant_time.h"
#include "veil/crypto/hash.h"
#include "veil/crypto/hmac.h"

namespace veil::kms {
namespace {

constexpr char kTerminator[] = "aws4_request";
constexpr char kFailurePayloadUrl[] = "type.veil.dev/veil.kms.SigV4Failure";
constexpr size_t kMaxCachedKeys = 1024;

// Headers that proxies and HTTP stacks add, drop or rewrite; signing them
// would break signatures in transit (the same set the AWS SDKs skip).
constexpr std::string_view kUnsignedHeaders[] = {
    "authorization", "user-agent", "expect", "connection", "transfer-encoding",
    "x-amzn-trace-id"};

absl::Span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Split splits on every `sep` (empty pieces kept). Debian 12's abseil has its
// own string_view, so absl::StrSplit is not used on std::string_view input.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// PercentDecode decodes %XX escapes; a '%' not followed by two hex digits is
// kept literally (and so re-encoded as %25).
std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

std::string HexSha256(std::string_view data) {
  return HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, AsBytes(data)));
}

std::string DateOf(absl::Time time) {
  return absl::FormatTime("%Y%m%d", time, absl::UTCTimeZone());
}

absl::Status Failure(SigV4Failure kind, std::string message) {
  absl::Status status = absl::UnauthenticatedError(message);
  status.SetPayload(kFailurePayloadUrl, absl::Cord(std::to_string(static_cast<int>(kind))));
  return status;
}

// HeaderValues returns the values of every header named `lower_name`
// (case-insensitively), in arrival order.
std::vector<std::string_view> HeaderValues(const HttpRequestParts& request,
                                           std::string_view lower_name) {
  std::vector<std::string_view> out;
  for (const auto& [name, value] : request.headers) {
    if (name.size() == lower_name.size() && Lower(name) == lower_name) out.push_back(value);
  }
  return out;
}

void RemoveHeader(HttpRequestParts& request, std::string_view lower_name) {
  std::erase_if(request.headers, [&](const auto& h) { return Lower(h.first) == lower_name; });
}

std::string BuildAuthorization(std::string_view access_key_id, std::string_view scope,
                               const std::vector<std::string>& signed_headers,
                               std::string_view signature) {
  std::string out = kSigV4Algorithm;
  out += " Credential=";
  out += access_key_id;
  out += '/';
  out += scope;
  out += ", SignedHeaders=";
  out += absl::StrJoin(signed_headers, ";");
  out += ", Signature=";
  out += signature;
  return out;
}

absl::StatusOr<std::string> Signature(const SecretBytes& signing_key,
                                      std::string_view string_to_sign) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> mac,
                        crypto::HmacSha256(signing_key.Expose(), AsBytes(string_to_sign)));
  return HexEncode(mac);
}

// ParsedAuthorization holds the three parts of an Authorization header.
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;
  std::string region;
  std::string service;
  std::string terminator;
  std::vector<std::string> signed_headers;
  std::string signature;
};

absl::StatusOr<ParsedAuthorization> ParseAuthorization(std::string_view header) {
  const std::string_view prefix = kSigV4Algorithm;
  if (header.substr(0, prefix.size()) != prefix || header.size() == prefix.size() ||
      header[prefix.size()] != ' ') {
    return Failure(SigV4Failure::kIncompleteSignature,
                   "Authorization header must use the AWS4-HMAC-SHA256 algorithm");
  }
  std::optional<std::string> credential, signed_headers, signature;
  for (std::string_view part : Split(header.substr(prefix.size() + 1), ',')) {
    std::string item(part);
    // Trim the spaces around each "Name=value" component.
    while (!item.empty() && IsSpace(item.front())) item.erase(item.begin());
    while (!item.empty() && IsSpace(item.back())) item.pop_back();
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return Failure(SigV4Failure::kIncompleteSignature,
                     "Authorization header component is not of the form Name=value");
    }
    const std::string key = item.substr(0, eq);
    std::optional<std::string>* slot = key == "Credential"      ? &credential
                                       : key == "SignedHeaders" ? &signed_headers
                                       : key == "Signature"     ? &signature
                                                                : nullptr;
    if (slot == nullptr) {
      return Failure(SigV4Failure::kIncompleteSignature,
                     "Authorization header has an unknown component '" + key + "'");
    }
    if (slot->has_value()) {
      return Failure(SigV4Failure::kIncompleteSignature,
                     "Authorization header repeats the component '" + key + "'");
    }
    *slot = item.substr(eq + 1);
  }
  for (const auto& [value, name] : {std::pair{&credential, "Credential"},
                                    std::pair{&signed_headers, "SignedHeaders"},
                                    std::pair{&signature, "Signature"}}) {
    if (!value->has_value()) {
      return Failure(SigV4Failure::kIncompleteSignature,
                     std::string("Authorization header requires '") + name + "' parameter");
    }
  }
  ParsedAuthorization out;
  const std::vector<std::string_view> scope = Split(*credential, '/');
  if (scope.size() != 5 || scope[0].empty()) {
    return Failure(SigV4Failure::kIncompleteSignature,
                   "Credential must have the form <access key>/<date>/<region>/<service>/"
                   "aws4_request");
  }
  out.access_key_id = std::string(scope[0]);
  out.date = std::string(scope[1]);
  out.region = std::string(scope[2]);
  out.service = std::string(scope[3]);
  out.terminator = std::string(scope[4]);
  for (std::string_view h : Split(*signed_headers, ';')) out.signed_headers.emplace_back(h);
  for (size_t i = 0; i < out.signed_headers.size(); ++i) {
    const std::string& h = out.signed_headers[i];
    if (h.empty() || h != Lower(h) || (i > 0 && out.signed_headers[i - 1] >= h)) {
      return Failure(SigV4Failure::kIncompleteSignature,
                     "SignedHeaders must be lower-case names, sorted, without repeats");
    }
  }
  out.signature = *signature;
  if (out.signature.size() != 64 || !HexDecode(out.signature).ok()) {
    return Failure(SigV4Failure::kIncompleteSignature,
                   "Signature must be 64 hexadecimal characters");
  }
  return out;
}

// ParseAmzDate reads the strict ISO 8601 basic form "yyyymmddThhmmssZ".
std::optional<absl::Time> ParseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) { return std::stoi(std::string(text.substr(at, len))); };
  // %Y in absl::ParseTime is greedy, so the fields are read by position.
  const absl::Time t = absl::FromCivil(
      absl::CivilSecond(num(0, 4), num(4, 2), num(6, 2), num(9, 2), num(11, 2), num(13, 2)),
      absl::UTCTimeZone());
  if (AmzDate(t) != text) return std::nullopt;  // rejects normalised overflow (month 13, ...)
  return t;
}

}  // namespace

std::string UriEncode(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  if (!normalize) return UriEncode(path, /*keep_slash=*/true);
  // RFC 3986 section 5.2.4, plus dropping empty segments as the AWS SDKs do
  // for every service but S3.
  std::vector<std::string_view> segments;
  for (std::string_view seg : Split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(seg);
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  const bool trailing_slash = path.back() == '/';
  if (trailing_slash && !segments.empty()) out += '/';
  return UriEncode(out, /*keep_slash=*/true);
}

std::string CanonicalQueryString(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (std::string_view item : Split(raw_query, '&')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    params.emplace_back(UriEncode(PercentDecode(name), false),
                        UriEncode(PercentDecode(value), false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) out += '&';
    out += params[i].first;
    out += '=';
    out += params[i].second;
  }
  return out;
}

std::string CanonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

absl::StatusOr<std::string> CanonicalRequest(const CanonicalRequestInput& input) {
  const HttpRequestParts& request = *input.request;
  std::string out = request.method;
  out += '\n';
  out += CanonicalUri(request.path, input.normalize_path);
  out += '\n';
  out += CanonicalQueryString(request.query);
  out += '\n';
  for (const std::string& name : input.signed_headers) {
    const std::vector<std::string_view> values = HeaderValues(request, name);
    if (values.empty()) {
      return absl::InvalidArgumentError("signed header '" + name + "' is not in the request");
    }
    out += name;
    out += ':';
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      out += CanonicalHeaderValue(values[i]);
    }
    out += '\n';
  }
  out += '\n';
  out += absl::StrJoin(input.signed_headers, ";");
  out += '\n';
  out += input.payload_hash;
  return out;
}

std::string AmzDate(absl::Time time) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", time, absl::UTCTimeZone());
}

std::string CredentialScope(absl::Time time, std::string_view region, std::string_view service) {
  std::string out = DateOf(time);
  out += '/';
  out += region;
  out += '/';
  out += service;
  out += '/';
  out += kTerminator;
  return out;
}

std::string StringToSign(absl::Time time, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out = kSigV4Algorithm;
  out += '\n';
  out += AmzDate(time);
  out += '\n';
  out += scope;
  out += '\n';
  out += HexSha256(canonical_request);
  return out;
}

absl::StatusOr<SecretBytes> DeriveSigningKey(const SecretBytes& secret_access_key,
                                             std::string_view date, std::string_view region,
                                             std::string_view service) {
  static constexpr std::string_view kPrefix = "AWS4";
  SecretBytes k_secret;
  k_secret.Reserve(kPrefix.size() + secret_access_key.size());
  k_secret.Append(AsBytes(kPrefix));
  k_secret.Append(secret_access_key.Expose());
  using crypto::HashAlgorithm;
  VEIL_ASSIGN_OR_RETURN(SecretBytes k_date,
                        crypto::HmacSecret(HashAlgorithm::kSha256, k_secret.Expose(), AsBytes(date)));
  VEIL_ASSIGN_OR_RETURN(SecretBytes k_region, crypto::HmacSecret(HashAlgorithm::kSha256,
                                                                 k_date.Expose(), AsBytes(region)));
  VEIL_ASSIGN_OR_RETURN(SecretBytes k_service, crypto::HmacSecret(HashAlgorithm::kSha256,
                                                                  k_region.Expose(), AsBytes(service)));
  return crypto::HmacSecret(HashAlgorithm::kSha256, k_service.Expose(), AsBytes(kTerminator));
}

// ---------------------------------------------------------------------------

absl::StatusOr<SecretBytes> SigV4Signer::SigningKey(const AwsCredentials& credentials,
                                                    std::string_view date,
                                                    std::string_view region,
                                                    std::string_view service) const {
  std::string scope = credentials.access_key_id;
  scope += '/';
  scope += date;
  scope += '/';
  scope += region;
  scope += '/';
  scope += service;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (scope == cached_scope_ &&
        crypto::ConstantTimeEquals(cached_secret_.Expose(), credentials.secret_access_key.Expose())) {
      return cached_key_.Clone();
    }
  }
  VEIL_ASSIGN_OR_RETURN(SecretBytes key,
                        DeriveSigningKey(credentials.secret_access_key, date, region, service));
  std::lock_guard<std::mutex> lock(mu_);
  cached_scope_ = std::move(scope);
  cached_secret_ = credentials.secret_access_key.Clone();
  cached_key_ = key.Clone();
  return key;
}

absl::StatusOr<SigningResult> SigV4Signer::Sign(const AwsCredentials& credentials,
                                                const SigningConfig& config,
                                                HttpRequestParts& request) const {
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return absl::InvalidArgumentError("SigV4 signing needs an access key id and a secret key");
  }
  if (config.region.empty() || config.service.empty()) {
    return absl::InvalidArgumentError("SigV4 signing needs a region and a service");
  }
  RemoveHeader(request, "authorization");
  RemoveHeader(request, "x-amz-date");
  RemoveHeader(request, "x-amz-security-token");
  if (HeaderValues(request, "host").empty()) {
    return absl::InvalidArgumentError("SigV4 signing needs a Host header");
  }
  request.headers.emplace_back("X-Amz-Date", AmzDate(config.time));
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  const std::string payload_hash = HexSha256(request.body);
  if (config.add_content_sha256_header) {
    RemoveHeader(request, "x-amz-content-sha256");
    request.headers.emplace_back("x-amz-content-sha256", payload_hash);
  }

  CanonicalRequestInput input;
  input.request = &request;
  input.payload_hash = payload_hash;
  input.normalize_path = config.normalize_path;
  for (const auto& header : request.headers) {
    std::string name = Lower(header.first);
    if (std::find(std::begin(kUnsignedHeaders), std::end(kUnsignedHeaders), name) !=
        std::end(kUnsignedHeaders)) {
      continue;
    }
    input.signed_headers.push_back(std::move(name));
  }
  std::sort(input.signed_headers.begin(), input.signed_headers.end());
  input.signed_headers.erase(std::unique(input.signed_headers.begin(), input.signed_headers.end()),
                             input.signed_headers.end());

  SigningResult result;
  VEIL_ASSIGN_OR_RETURN(result.canonical_request, CanonicalRequest(input));
  const std::string scope = CredentialScope(config.time, config.region, config.service);
  result.string_to_sign = StringToSign(config.time, scope, result.canonical_request);
  VEIL_ASSIGN_OR_RETURN(SecretBytes key, SigningKey(credentials, DateOf(config.time),
                                                    config.region, config.service));
  VEIL_ASSIGN_OR_RETURN(result.signature, Signature(key, result.string_to_sign));
  result.authorization =
      BuildAuthorization(credentials.access_key_id, scope, input.signed_headers, result.signature);
  request.headers.emplace_back("Authorization", result.authorization);
  return result;
}

// ---------------------------------------------------------------------------

const char* SigV4FailureAwsType(SigV4Failure failure) {
  switch (failure) {
    case SigV4Failure::kMissingAuthentication:
      return "MissingAuthenticationTokenException";
    case SigV4Failure::kIncompleteSignature:
      return "IncompleteSignatureException";
    case SigV4Failure::kUnrecognizedClient:
      return "UnrecognizedClientException";
    case SigV4Failure::kSignatureMismatch:
    case SigV4Failure::kSignatureExpired:
    case SigV4Failure::kInvalidScope:
      return "InvalidSignatureException";
  }
  return "InvalidSignatureException";
}

std::optional<SigV4Failure> GetSigV4Failure(const absl::Status& status) {
  auto payload = status.GetPayload(kFailurePayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::string kind(*payload);
  for (SigV4Failure f : {SigV4Failure::kMissingAuthentication, SigV4Failure::kIncompleteSignature,
                         SigV4Failure::kUnrecognizedClient, SigV4Failure::kSignatureMismatch,
                         SigV4Failure::kSignatureExpired, SigV4Failure::kInvalidScope}) {
    if (kind == std::to_string(static_cast<int>(f))) return f;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<SigV4Verifier>> SigV4Verifier::Create(VerifierOptions options,
                                                                     SecretLookup lookup) {
  if (options.service.empty()) {
    return absl::InvalidArgumentError("SigV4Verifier needs a service name");
  }
  if (options.max_skew < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("SigV4Verifier clock skew must not be negative");
  }
  if (!lookup) return absl::InvalidArgumentError("SigV4Verifier needs a secret lookup");
  if (!options.now) options.now = [] { return absl::Now(); };
  return std::unique_ptr<SigV4Verifier>(new SigV4Verifier(std::move(options), std::move(lookup)));
}

absl::StatusOr<SecretBytes> SigV4Verifier::SigningKey(const std::string& access_key_id,
                                                      const SecretBytes& secret,
                                                      std::string_view date,
                                                      std::string_view region) const {
  auto cache_key = std::make_tuple(access_key_id, std::string(date), std::string(region));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end() &&
        crypto::ConstantTimeEquals(it->second.secret.Expose(), secret.Expose())) {
      return it->second.key.Clone();
    }
  }
  VEIL_ASSIGN_OR_RETURN(SecretBytes key, DeriveSigningKey(secret, date, region, options_.service));
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= kMaxCachedKeys) cache_.clear();
  cache_.insert_or_assign(std::move(cache_key), CachedKey{secret.Clone(), key.Clone()});
  return key;
}

absl::StatusOr<VerifiedRequest> SigV4Verifier::Verify(const HttpRequestParts& request) const {
  const std::vector<std::string_view> auth = HeaderValues(request, "authorization");
  if (auth.empty()) {
    return Failure(SigV4Failure::kMissingAuthentication, "Missing Authentication Token");
  }
  if (auth.size() > 1) {
    return Failure(SigV4Failure::kIncompleteSignature, "more than one Authorization header");
  }
  VEIL_ASSIGN_OR_RETURN(ParsedAuthorization parsed,
                        ParseAuthorization(CanonicalHeaderValue(auth[0])));

  const std::vector<std::string_view> dates = HeaderValues(request, "x-amz-date");
  if (dates.size() != 1) {
    return Failure(SigV4Failure::kIncompleteSignature,
                   "Authorization header requires exactly one 'X-Amz-Date' header");
  }
  const std::optional<absl::Time> request_time = ParseAmzDate(CanonicalHeaderValue(dates[0]));
  if (!request_time.has_value()) {
    return Failure(SigV4Failure::kIncompleteSignature,
                   "X-Amz-Date must have the form yyyymmddThhmmssZ");
  }
  for (std::string_view required : {"host", "x-amz-date"}) {
    if (std::find(parsed.signed_headers.begin(), parsed.signed_headers.end(), required) ==
        parsed.signed_headers.end()) {
      return Failure(SigV4Failure::kIncompleteSignature,
                     std::string("SignedHeaders must include '") + std::string(required) + "'");
    }
  }

  // Credential scope.
  const std::string amz_date = AmzDate(*request_time);
  if (parsed.date != amz_date.substr(0, 8)) {
    return Failure(SigV4Failure::kInvalidScope,
                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                   "date from HTTP: '" + parsed.date + "' != '" + amz_date.substr(0, 8) +
                       "', from 'X-Amz-Date'.");
  }
  if (parsed.region.empty() || (!options_.region.empty() && parsed.region != options_.region)) {
    return Failure(SigV4Failure::kInvalidScope, "Credential should be scoped to a valid region.");
  }
  if (parsed.service != options_.service) {
    return Failure(SigV4Failure::kInvalidScope,
                   "Credential should be scoped to correct service: '" + options_.service + "'.");
  }
  if (parsed.terminator != kTerminator) {
    return Failure(SigV4Failure::kInvalidScope,
                   "Credential should be scoped with a valid terminator: 'aws4_request'.");
  }

  // Clock skew.
  const absl::Time now = options_.now();
  if (*request_time < now - options_.max_skew) {
    return Failure(SigV4Failure::kSignatureExpired,
                   "Signature expired: " + amz_date + " is now earlier than " +
                       AmzDate(now - options_.max_skew) + " (" + AmzDate(now) + " - " +
                       absl::FormatDuration(options_.max_skew) + ").");
  }
  if (*request_time > now + options_.max_skew) {
    return Failure(SigV4Failure::kSignatureExpired,
                   "Signature not yet current: " + amz_date + " is still later than " +
                       AmzDate(now + options_.max_skew) + " (" + AmzDate(now) + " + " +
                       absl::FormatDuration(options_.max_skew) + ").");
  }

  // The payload hash is always recomputed from the body that arrived; a
  // signed x-amz-content-sha256 must agree with it.
  const std::string payload_hash = HexSha256(request.body);
  for (std::string_view claimed : HeaderValues(request, "x-amz-content-sha256")) {
    if (CanonicalHeaderValue(claimed) != payload_hash) {
      return Failure(SigV4Failure::kSignatureMismatch,
                     "x-amz-content-sha256 does not match the request body");
    }
  }

  absl::StatusOr<SecretBytes> secret = lookup_(parsed.access_key_id);
  if (absl::IsNotFound(secret.status())) {
    return Failure(SigV4Failure::kUnrecognizedClient,
                   "The security token included in the request is invalid.");
  }
  if (!secret.ok()) return secret.status();

  CanonicalRequestInput input;
  input.request = &request;
  input.signed_headers = parsed.signed_headers;
  input.payload_hash = payload_hash;
  input.normalize_path = options_.normalize_path;
  absl::StatusOr<std::string> canonical = CanonicalRequest(input);
  if (!canonical.ok()) {
    return Failure(SigV4Failure::kSignatureMismatch,
                   "The request signature we calculated does not match the signature you "
                   "provided: a signed header is missing from the request.");
  }
  const std::string scope = CredentialScope(*request_time, parsed.region, parsed.service);
  VEIL_ASSIGN_OR_RETURN(SecretBytes key,
                        SigningKey(parsed.access_key_id, *secret, parsed.date, parsed.region));
  VEIL_ASSIGN_OR_RETURN(
      std::vector<uint8_t> expected,
      crypto::HmacSha256(key.Expose(), AsBytes(StringToSign(*request_time, scope, *canonical))));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> provided, HexDecode(parsed.signature));
  if (!crypto::ConstantTimeEquals(expected, provided)) {
    return Failure(SigV4Failure::kSignatureMismatch,
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your AWS Secret Access Key and signing method.");
  }

  VerifiedRequest out;
  out.access_key_id = std::move(parsed.access_key_id);
  out.region = std::move(parsed.region);
  const std::vector<std::string_view> tokens = HeaderValues(request, "x-amz-security-token");
  if (!tokens.empty()) out.session_token = std::string(CanonicalHeaderValue(tokens.back()));
  out.request_time = *request_time;
  out.signed_headers = std::move(parsed.signed_headers);
  return out;
}

}  // namespace veil::kms
