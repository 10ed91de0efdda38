#include "veil/wire/messages.h"

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"

namespace veil::wire {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Hex(std::string_view hex) { return HexDecode(hex).value(); }

// 2025-01-06T16:07:05Z.
const absl::Time kExpiration = absl::FromUnixSeconds(1736179625);
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

Request Req(uint64_t id, decltype(Request::message) m) {
  Request r;
  r.id = id;
  r.message = std::move(m);
  return r;
}
Response Resp(uint64_t id, decltype(Response::message) m) {
  Response r;
  r.id = id;
  r.message = std::move(m);
  return r;
}

InferRequest Infer() { return InferRequest{"acme", "r-1", {1, 2, 3}}; }
CredentialsRequest Credentials() {
  CredentialsRequest c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = SecretBytes::Copy(AsBytes(kSecret));
  c.session_token = "tok";
  c.expiration = kExpiration;
  return c;
}
HealthResponse Health() {
  return HealthResponse{"ok", "local", "yolov5s", std::string(64, 'a'), 3, 2};
}

// SameRequest compares requests field by field (CredentialsRequest has no
// operator==, for its secret).
void ExpectSameRequest(const Request& a, const Request& b) {
  EXPECT_EQ(a.id, b.id);
  ASSERT_EQ(a.message.index(), b.message.index());
  if (const auto* ca = std::get_if<CredentialsRequest>(&a.message)) {
    const auto& cb = std::get<CredentialsRequest>(b.message);
    EXPECT_EQ(ca->access_key_id, cb.access_key_id);
    EXPECT_EQ(AsStringView(ca->secret_access_key.Expose()),
              AsStringView(cb.secret_access_key.Expose()));
    EXPECT_EQ(ca->session_token, cb.session_token);
    EXPECT_EQ(ca->expiration, cb.expiration);
  } else if (const auto* ia = std::get_if<InferRequest>(&a.message)) {
    EXPECT_EQ(*ia, std::get<InferRequest>(b.message));
  } else if (const auto* aa = std::get_if<AttestRequest>(&a.message)) {
    EXPECT_EQ(*aa, std::get<AttestRequest>(b.message));
  }
}

// ---------------------------------------------------------------------------
// Golden encodings. The hex was produced independently of this code (a
// dozen-line CBOR writer: definite lengths, shortest heads, map keys sorted
// by their encoded bytes as RFC 8949 section 4.2.1 requires) and pins the
// wire format: a change here is a protocol change.

struct RequestGolden {
  const char* name;
  std::function<Request()> make;
  const char* hex;
};

std::vector<RequestGolden> RequestGoldens() {
  return {
      {"infer", [] { return Req(7, Infer()); },
       "a66176016269640764626f647943010203647479706565696e6665726674656e616e746461636d656a72657175"
       "6573745f696463722d31"},
      {"attest", [] { return Req(8, AttestRequest{Hex("00112233"), std::nullopt}); },
       "a461760162696408647479706566617474657374656e6f6e63654400112233"},
      {"attest_empty_nonce_and_user_data",
       [] { return Req(8, AttestRequest{std::vector<uint8_t>{}, std::vector<uint8_t>{0xff}}); },
       "a561760162696408647479706566617474657374656e6f6e63654069757365725f6461746141ff"},
      {"health", [] { return Req(9, HealthRequest{}); },
       "a3617601626964096474797065666865616c7468"},
      {"credentials", [] { return Req(10, Credentials()); },
       "a76176016269640a64747970656b63726564656e7469616c736a65787069726174696f6e7819323032352d30"
       "312d30365431363a30373a30352b30303a30306d6163636573735f6b65795f69646b414b49444558414d504c"
       "456d73657373696f6e5f746f6b656e63746f6b717365637265745f6163636573735f6b65797828774a616c72"
       "5855746e46454d492f4b374d44454e472b62507852666943594558414d504c454b4559"},
  };
}

TEST(MessagesTest, RequestGoldenEncodings) {
  for (const RequestGolden& g : RequestGoldens()) {
    SCOPED_TRACE(g.name);
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> encoded, EncodeRequest(g.make()));
    EXPECT_EQ(HexEncode(encoded), g.hex);
    VEIL_ASSERT_OK_AND_ASSIGN(Request decoded, DecodeRequest(Hex(g.hex)));
    ExpectSameRequest(decoded, g.make());
  }
}

TEST(MessagesTest, ResponseGoldenEncodings) {
  HealthResponse health = Health();
  health.model_sha256 = "";
  for (int i = 0; i < 32; ++i) health.model_sha256 += "ab";
  const std::vector<std::pair<Response, std::string>> goldens = {
      {Resp(7, InferResponse{Hex("aabb")}),
       "a46176016269640764626f647942aabb647479706565696e666572"},
      {Resp(8, AttestResponse{Hex("d284")}),
       "a46176016269640864747970656661747465737468646f63756d656e7442d284"},
      {Resp(9, health),
       "a9617601626964096474696572656c6f63616c6474797065666865616c7468656d6f64656c67796f6c6f7635"
       "7366737461747573626f6b67776f726b657273026b71756575655f6465707468036c6d6f64656c5f73686132"
       "3536784061626162616261626162616261626162616261626162616261626162616261626162616261626162"
       "616261626162616261626162616261626162616261626162"},
      {Resp(10, CredentialsResponse{}), "a36176016269640a64747970656b63726564656e7469616c73"},
      {Resp(300, ErrorResponse{ErrorCode::kBusy}),
       "a461760162696419012c64636f646564627573796474797065656572726f72"},
  };
  for (const auto& [response, hex] : goldens) {
    SCOPED_TRACE(hex);
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> encoded, EncodeResponse(response));
    EXPECT_EQ(HexEncode(encoded), hex);
    VEIL_ASSERT_OK_AND_ASSIGN(Response decoded, DecodeResponse(Hex(hex)));
    EXPECT_EQ(decoded, response);
  }
}

// ---------------------------------------------------------------------------
// Round trips.

TEST(MessagesTest, EveryRequestRoundTrips) {
  std::vector<Request> requests;
  requests.push_back(Req(0, Infer()));
  requests.push_back(Req(UINT64_MAX, InferRequest{std::string(64, 'T'), std::string(128, '~'),
                                                  std::vector<uint8_t>(100000, 0x5a)}));
  requests.push_back(Req(1, InferRequest{"a.b_c-D9", "x", {0}}));
  requests.push_back(Req(2, AttestRequest{}));
  requests.push_back(Req(3, AttestRequest{std::vector<uint8_t>(64, 1), std::vector<uint8_t>(512, 2)}));
  requests.push_back(Req(4, HealthRequest{}));
  requests.push_back(Req(5, Credentials()));
  CredentialsRequest c = Credentials();
  c.session_token = "";
  c.expiration = kExpiration + absl::Nanoseconds(123456789);
  requests.push_back(Req(6, std::move(c)));
  for (const Request& r : requests) {
    SCOPED_TRACE(r.id);
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> encoded, EncodeRequest(r));
    VEIL_ASSERT_OK_AND_ASSIGN(Request back, DecodeRequest(encoded));
    ExpectSameRequest(back, r);
    EXPECT_EQ(back.type(), r.type());
  }
}

TEST(MessagesTest, EveryResponseRoundTrips) {
  std::vector<Response> responses = {
      Resp(1, InferResponse{std::vector<uint8_t>(70000, 7)}),
      Resp(2, AttestResponse{std::vector<uint8_t>(32 * 1024, 9)}),
      Resp(3, Health()),
      Resp(4, HealthResponse{"starting", "integration", "", "", 0, UINT64_MAX}),
      Resp(5, CredentialsResponse{}),
  };
  for (ErrorCode code : {ErrorCode::kBadRequest, ErrorCode::kUnauthenticated,
                         ErrorCode::kPermissionDenied, ErrorCode::kExpired, ErrorCode::kReplayed,
                         ErrorCode::kBusy, ErrorCode::kUnavailable, ErrorCode::kInternal,
                         ErrorCode::kTooLarge}) {
    responses.push_back(Resp(6, ErrorResponse{code}));
  }
  for (const Response& r : responses) {
    SCOPED_TRACE(HexEncode(EncodeResponse(r).value_or(std::vector<uint8_t>{})).substr(0, 80));
    VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> encoded, EncodeResponse(r));
    VEIL_ASSERT_OK_AND_ASSIGN(Response back, DecodeResponse(encoded));
    EXPECT_EQ(back, r);
  }
}

TEST(MessagesTest, ExpirationAcceptsRfc3339ZuluAndOffsets) {
  for (const char* text : {"2025-01-06T16:07:05Z", "2025-01-06T17:07:05+01:00",
                           "2025-01-06T16:07:05.000Z"}) {
    SCOPED_TRACE(text);
    cbor::Writer w;
    w.MapHeader(7);
    w.Text("v"), w.Unsigned(1), w.Text("id"), w.Unsigned(1), w.Text("type"), w.Text("credentials");
    w.Text("access_key_id"), w.Text("AKID"), w.Text("secret_access_key"), w.Text("s");
    w.Text("session_token"), w.Text(""), w.Text("expiration"), w.Text(text);
    VEIL_ASSERT_OK_AND_ASSIGN(Request r, DecodeRequest(w.bytes()));
    EXPECT_EQ(std::get<CredentialsRequest>(r.message).expiration, kExpiration);
  }
}

// ---------------------------------------------------------------------------
// Rejections. Each malformed message is written by hand (keys in any order,
// duplicates allowed) and must fail with InvalidArgument naming the problem.

struct Item {
  std::string key;
  std::function<void(cbor::Writer&)> value;
};
Item U(std::string k, uint64_t v) { return {std::move(k), [v](cbor::Writer& w) { w.Unsigned(v); }}; }
Item T(std::string k, std::string v) {
  return {std::move(k), [v](cbor::Writer& w) { w.Text(v); }};
}
Item B(std::string k, std::vector<uint8_t> v) {
  return {std::move(k), [v](cbor::Writer& w) { w.Bytes(v); }};
}
Item N(std::string k, int64_t v) { return {std::move(k), [v](cbor::Writer& w) { w.Int(v); }}; }

std::vector<uint8_t> Map(const std::vector<Item>& items) {
  cbor::Writer w;
  w.MapHeader(items.size());
  for (const Item& i : items) {
    w.Text(i.key);
    i.value(w);
  }
  return w.Release();
}

std::vector<Item> InferItems() {
  return {U("v", 1), U("id", 1), T("type", "infer"), T("tenant", "acme"),
          T("request_id", "r-1"), B("body", {1})};
}

std::vector<Item> With(std::vector<Item> items, Item extra) {
  items.push_back(std::move(extra));
  return items;
}
std::vector<Item> Without(std::vector<Item> items, std::string_view key) {
  std::erase_if(items, [&](const Item& i) { return i.key == key; });
  return items;
}
std::vector<Item> Replace(std::vector<Item> items, Item item) {
  for (Item& i : items) {
    if (i.key == item.key) i = std::move(item);
  }
  return items;
}

void ExpectRequestRejected(const std::vector<uint8_t>& encoded, const std::string& what) {
  auto r = DecodeRequest(encoded);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(what));
}

TEST(MessagesTest, HandWrittenInferRequestDecodes) {
  VEIL_ASSERT_OK_AND_ASSIGN(Request r, DecodeRequest(Map(InferItems())));
  EXPECT_EQ(std::get<InferRequest>(r.message), (InferRequest{"acme", "r-1", {1}}));
}

TEST(MessagesTest, RejectsUnknownType) {
  ExpectRequestRejected(Map(Replace(InferItems(), T("type", "dance"))),
                        "request: field \"type\" is not a known request type");
}

TEST(MessagesTest, RejectsErrorTypeAsRequest) {
  ExpectRequestRejected(Map({U("v", 1), U("id", 1), T("type", "error"), T("code", "busy")}),
                        "field \"type\" is not a known request type");
}

TEST(MessagesTest, RejectsWrongVersion) {
  ExpectRequestRejected(Map(Replace(InferItems(), U("v", 2))), "field \"v\" is 2");
  ExpectRequestRejected(Map(Replace(InferItems(), N("v", -1))),
                        "field \"v\" is not an unsigned integer");
}

TEST(MessagesTest, RejectsMissingEnvelopeFields) {
  ExpectRequestRejected(Map(Without(InferItems(), "v")), "field \"v\" is missing");
  ExpectRequestRejected(Map(Without(InferItems(), "id")), "field \"id\" is missing");
  ExpectRequestRejected(Map(Without(InferItems(), "type")), "field \"type\" is missing");
}

TEST(MessagesTest, RejectsMissingRequiredFields) {
  for (const char* field : {"tenant", "request_id", "body"}) {
    SCOPED_TRACE(field);
    ExpectRequestRejected(Map(Without(InferItems(), field)),
                          absl::StrCat("infer request: field \"", field, "\" is missing"));
  }
}

TEST(MessagesTest, RejectsWrongFieldTypes) {
  ExpectRequestRejected(Map(Replace(InferItems(), B("tenant", {'a'}))),
                        "field \"tenant\" is not a text string");
  ExpectRequestRejected(Map(Replace(InferItems(), T("body", "abc"))),
                        "field \"body\" is not a byte string");
  ExpectRequestRejected(Map(Replace(InferItems(), T("id", "1"))),
                        "field \"id\" is not an unsigned integer");
  ExpectRequestRejected(Map(Replace(InferItems(), N("id", -5))),
                        "field \"id\" is not an unsigned integer");
  ExpectRequestRejected(Map(Replace(InferItems(), U("type", 1))),
                        "field \"type\" is not a text string");
  ExpectRequestRejected(
      Map({U("v", 1), U("id", 1), T("type", "attest"), T("nonce", "00")}),
      "field \"nonce\" is not a byte string");
  // A nested value reaches the field check rather than failing as CBOR.
  Item nested{"body", [](cbor::Writer& w) { w.ArrayHeader(1), w.Unsigned(1); }};
  ExpectRequestRejected(Map(Replace(InferItems(), nested)), "field \"body\" is not a byte string");
}

TEST(MessagesTest, RejectsDuplicateKeys) {
  ExpectRequestRejected(Map(With(InferItems(), T("tenant", "acme"))), "duplicate map key");
  ExpectRequestRejected(Map(With(InferItems(), T("tenant", "other"))), "duplicate map key");
}

TEST(MessagesTest, RejectsTrailingBytes) {
  std::vector<uint8_t> encoded = Map(InferItems());
  encoded.push_back(0x00);
  ExpectRequestRejected(encoded, "trailing byte");
}

TEST(MessagesTest, RejectsTruncation) {
  const std::vector<uint8_t> encoded = Map(InferItems());
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_THAT(DecodeRequest(absl::MakeSpan(encoded).first(n)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << n;
  }
}

TEST(MessagesTest, RejectsUnknownKeys) {
  ExpectRequestRejected(Map(With(InferItems(), U("priority", 1))),
                        "infer request: field \"priority\" is not part of the protocol");
  // A key that does not look like a field name is not echoed.
  auto r = DecodeRequest(Map(With(InferItems(), U("Secret Plaintext", 1))));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("a field that is not part of the protocol"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("Plaintext")));
  // Fields of another type are unknown keys here.
  ExpectRequestRejected(Map({U("v", 1), U("id", 1), T("type", "health"), B("nonce", {})}),
                        "health request: field \"nonce\" is not part of the protocol");
}

TEST(MessagesTest, RejectsNonMapsAndNonTextKeys) {
  ExpectRequestRejected(Hex("80"), "request is not a map");
  ExpectRequestRejected(Hex("a10101"), "request has a key that is not text");
  ExpectRequestRejected({}, "truncated");
}

TEST(MessagesTest, RejectsOutOfRangeTenantAndRequestId) {
  ExpectRequestRejected(Map(Replace(InferItems(), T("tenant", ""))),
                        "field \"tenant\" has 0 characters, allowed 1..64");
  ExpectRequestRejected(Map(Replace(InferItems(), T("tenant", std::string(65, 'a')))),
                        "field \"tenant\" has 65 characters, allowed 1..64");
  for (const char* bad : {"ac me", "acme/..", "acmé", "a:b"}) {
    SCOPED_TRACE(bad);
    ExpectRequestRejected(Map(Replace(InferItems(), T("tenant", bad))),
                          "field \"tenant\" has a character outside [A-Za-z0-9._-]");
  }
  ExpectRequestRejected(Map(Replace(InferItems(), T("request_id", std::string(129, 'r')))),
                        "field \"request_id\" has 129 characters, allowed 1..128");
  ExpectRequestRejected(Map(Replace(InferItems(), T("request_id", "a b"))),
                        "field \"request_id\" has a character outside visible ASCII");
  ExpectRequestRejected(Map(Replace(InferItems(), B("body", {}))),
                        "field \"body\" has 0 bytes, allowed 1..");
}

TEST(MessagesTest, RejectsOversizedAttestFields) {
  const std::vector<Item> base = {U("v", 1), U("id", 1), T("type", "attest")};
  ExpectRequestRejected(Map(With(base, B("nonce", std::vector<uint8_t>(65)))),
                        "field \"nonce\" has 65 bytes, allowed 0..64");
  ExpectRequestRejected(Map(With(base, B("user_data", std::vector<uint8_t>(513)))),
                        "field \"user_data\" has 513 bytes, allowed 0..512");
  Limits tight;
  tight.max_nonce_bytes = 8;
  EXPECT_THAT(DecodeRequest(Map(With(base, B("nonce", std::vector<uint8_t>(9)))), tight),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MessagesTest, RejectsMessagesOverTheFrameLimit) {
  Limits limits;
  limits.max_frame_bytes = 64;
  const std::vector<uint8_t> big = Map(Replace(InferItems(), B("body", std::vector<uint8_t>(60))));
  auto r = DecodeRequest(big, limits);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("exceeds the limit of 64"));
  // The encoder refuses it too, before writing (OutOfRange: too_large).
  EXPECT_THAT(EncodeRequest(Req(1, InferRequest{"acme", "r", std::vector<uint8_t>(60)}), limits),
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(MessagesTest, RejectsBadCredentials) {
  const std::vector<Item> base = {U("v", 1),
                                  U("id", 1),
                                  T("type", "credentials"),
                                  T("access_key_id", "AKID"),
                                  T("secret_access_key", std::string(kSecret)),
                                  T("session_token", "tok"),
                                  T("expiration", "2025-01-06T16:07:05Z")};
  VEIL_EXPECT_OK(DecodeRequest(Map(base)));
  for (const char* bad : {"tomorrow", "2025-01-06", "2025-01-06 16:07:05Z", "2025-13-06T16:07:05Z",
                          "infinite-future", ""}) {
    SCOPED_TRACE(bad);
    ExpectRequestRejected(Map(Replace(base, T("expiration", bad))),
                          "field \"expiration\" is not an RFC 3339 date-time");
  }
  ExpectRequestRejected(Map(Replace(base, T("access_key_id", "AKID/1"))),
                        "field \"access_key_id\" has a character outside [A-Za-z0-9]");
  ExpectRequestRejected(Map(Without(base, "session_token")),
                        "field \"session_token\" is missing");
  ExpectRequestRejected(Map(Replace(base, B("secret_access_key", {1, 2}))),
                        "field \"secret_access_key\" is not a text string");
  // A bad secret is refused without a byte of it in the message.
  auto r = DecodeRequest(Map(Replace(base, T("secret_access_key", "hunter2 with space"))));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("hunter2")));
}

TEST(MessagesTest, RejectsBadResponses) {
  auto rejected = [](const std::vector<Item>& items, const std::string& what) {
    auto r = DecodeResponse(Map(items));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(what));
  };
  const std::vector<Item> error = {U("v", 1), U("id", 1), T("type", "error"), T("code", "busy")};
  rejected(Replace(error, T("code", "oops")), "error response: field \"code\" is not a known error code");
  rejected(With(error, T("message", "details")), "field \"message\" is not part of the protocol");
  rejected(Without(error, "code"), "field \"code\" is missing");
  rejected({U("v", 1), U("id", 1), T("type", "fly")}, "field \"type\" is not a known response type");
  rejected({U("v", 1), U("id", 1), T("type", "attest"), B("document", {})},
           "field \"document\" has 0 bytes");
  rejected({U("v", 1), U("id", 1), T("type", "attest"), B("document", std::vector<uint8_t>(32769))},
           "field \"document\" has 32769 bytes");
  rejected({U("v", 1), U("id", 1), T("type", "infer"), B("body", {})}, "field \"body\" has 0 bytes");
  const std::vector<Item> health = {U("v", 1),          U("id", 1),           T("type", "health"),
                                    T("status", "ok"),  T("tier", "local"),   T("model", "m"),
                                    T("model_sha256", ""), U("queue_depth", 0), U("workers", 1)};
  VEIL_EXPECT_OK(DecodeResponse(Map(health)));
  rejected(Replace(health, T("model_sha256", std::string(64, 'A'))),
           "field \"model_sha256\" has a character outside lowercase hex");
  rejected(Replace(health, T("model_sha256", "abc")), "field \"model_sha256\" has 3 characters");
  rejected(Replace(health, N("queue_depth", -1)), "field \"queue_depth\" is not an unsigned integer");
  rejected(Replace(health, T("status", "")), "field \"status\" has 0 characters");
  rejected(Replace(health, T("tier", "a\nb")), "field \"tier\" has a character outside printable ASCII");
  rejected(Without(health, "workers"), "field \"workers\" is missing");
}

TEST(MessagesTest, EncodeRefusesWhatDecodeWouldRefuse) {
  EXPECT_THAT(EncodeRequest(Req(1, InferRequest{"ac me", "r", {1}})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EncodeRequest(Req(1, InferRequest{"acme", "r", {}})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EncodeRequest(Req(1, AttestRequest{std::vector<uint8_t>(65), std::nullopt})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  CredentialsRequest c = Credentials();
  c.expiration = absl::InfiniteFuture();
  auto r = EncodeRequest(Req(1, std::move(c)));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("expiration"));
  EXPECT_THAT(EncodeResponse(Resp(1, HealthResponse{"ok", "local", "m", "xyz", 0, 0})),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EncodeResponse(Resp(1, ErrorResponse{static_cast<ErrorCode>(99)})),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Error codes.

TEST(ErrorCodeTest, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kTooLarge); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    EXPECT_EQ(ParseErrorCode(ErrorCodeName(code)), code);
  }
  EXPECT_EQ(ParseErrorCode("Busy"), std::nullopt);
  EXPECT_EQ(ParseErrorCode(""), std::nullopt);
}

TEST(ErrorCodeTest, StatusMappingRoundTripsAndCarriesNoData) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::kTooLarge); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const absl::Status s = StatusFromErrorCode(code);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(ErrorCodeFromStatus(s), code);
    EXPECT_EQ(s.message(), absl::StrCat("enclave: ", std::string(ErrorCodeName(code))));
  }
  EXPECT_EQ(ErrorCodeFromStatus(absl::DeadlineExceededError("x")), ErrorCode::kUnavailable);
  EXPECT_EQ(ErrorCodeFromStatus(absl::DataLossError("x")), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeFromStatus(absl::UnknownError("x")), ErrorCode::kInternal);
  EXPECT_EQ(ErrorCodeFromStatus(absl::OkStatus()), ErrorCode::kInternal);
}

TEST(ErrorCodeTest, HttpMapping) {
  const std::vector<std::tuple<ErrorCode, int, bool>> table = {
      {ErrorCode::kBadRequest, 400, false},     {ErrorCode::kUnauthenticated, 401, false},
      {ErrorCode::kExpired, 401, false},        {ErrorCode::kPermissionDenied, 403, false},
      {ErrorCode::kReplayed, 409, false},       {ErrorCode::kTooLarge, 413, false},
      {ErrorCode::kInternal, 500, false},       {ErrorCode::kBusy, 503, true},
      {ErrorCode::kUnavailable, 503, true},
  };
  for (const auto& [code, http, retry] : table) {
    SCOPED_TRACE(std::string(ErrorCodeName(code)));
    EXPECT_EQ(HttpStatusForErrorCode(code), http);
    EXPECT_EQ(ShouldRetryAfter(code), retry);
  }
}

TEST(MessagesTest, TypeNames) {
  EXPECT_EQ(MessageTypeName(MessageType::kInfer), "infer");
  EXPECT_EQ(MessageTypeName(MessageType::kCredentials), "credentials");
  EXPECT_EQ(Req(1, HealthRequest{}).type(), MessageType::kHealth);
  EXPECT_EQ(Resp(1, ErrorResponse{}).type(), MessageType::kError);
}

}  // namespace
}  // namespace veil::wire
