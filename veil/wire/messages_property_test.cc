// RapidCheck properties of the channel messages (STYLE.md C10):
//   Decode(Encode(m)) == m for random valid requests and responses, and the
//   encoding is deterministic (re-encoding the decoded message gives the
//   same bytes);
//   random bytes, and random edits of valid encodings, never crash and come
//   back as a Status (InvalidArgument when refused).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/wire/messages.h"

namespace veil::wire {
namespace {

rc::Gen<std::string> TextOf(std::string_view charset, size_t min, size_t max) {
  const std::string chars(charset);
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [chars](size_t n) {
    return rc::gen::container<std::string>(
        n, rc::gen::map(rc::gen::inRange<size_t>(0, chars.size()),
                        [chars](size_t i) { return chars[i]; }));
  });
}
rc::Gen<std::vector<uint8_t>> BytesOf(size_t min, size_t max) {
  return rc::gen::mapcat(rc::gen::inRange(min, max + 1), [](size_t n) {
    return rc::gen::container<std::vector<uint8_t>>(n, rc::gen::arbitrary<uint8_t>());
  });
}

constexpr std::string_view kTenantChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
constexpr std::string_view kAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
constexpr std::string_view kVisible =
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";
constexpr std::string_view kPrintable =
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

rc::Gen<std::optional<std::vector<uint8_t>>> MaybeBytes(size_t max) {
  using Opt = std::optional<std::vector<uint8_t>>;
  return rc::gen::oneOf(rc::gen::just(Opt()),
                        rc::gen::map(BytesOf(0, max), [](std::vector<uint8_t> v) { return Opt(std::move(v)); }));
}

// GenRequest returns a random valid request (secrets as bytes alongside, for
// comparison).
Request GenRequest() {
  Request r;
  r.id = *rc::gen::arbitrary<uint64_t>();
  switch (*rc::gen::inRange(0, 4)) {
    case 0:
      r.message = InferRequest{*TextOf(kTenantChars, 1, 64), *TextOf(kVisible, 1, 128),
                               *BytesOf(1, 300)};
      break;
    case 1:
      r.message = AttestRequest{*MaybeBytes(64), *MaybeBytes(512)};
      break;
    case 2:
      r.message = HealthRequest{};
      break;
    default: {
      CredentialsRequest c;
      c.access_key_id = *TextOf(kAlnum, 1, 128);
      c.secret_access_key = SecretBytes::Copy(AsBytes(*TextOf(kVisible, 1, 128)));
      c.session_token = *TextOf(kVisible, 0, 300);
      // Any instant from 1970 to 2200, to the nanosecond.
      c.expiration = absl::FromUnixNanos(*rc::gen::inRange<int64_t>(0, int64_t{7258118400} * 1000000000));
      r.message = std::move(c);
    }
  }
  return r;
}

Response GenResponse() {
  Response r;
  r.id = *rc::gen::arbitrary<uint64_t>();
  switch (*rc::gen::inRange(0, 5)) {
    case 0:
      r.message = InferResponse{*BytesOf(1, 300)};
      break;
    case 1:
      r.message = AttestResponse{*BytesOf(1, 600)};
      break;
    case 2:
      r.message = HealthResponse{*TextOf(kPrintable, 1, 128), *TextOf(kPrintable, 1, 128),
                                 *TextOf(kPrintable, 0, 128),
                                 *rc::gen::oneOf(rc::gen::just(std::string()),
                                                 TextOf("0123456789abcdef", 64, 64)),
                                 *rc::gen::arbitrary<uint64_t>(), *rc::gen::arbitrary<uint64_t>()};
      break;
    case 3:
      r.message = CredentialsResponse{};
      break;
    default:
      r.message = ErrorResponse{static_cast<ErrorCode>(
          *rc::gen::inRange(0, static_cast<int>(ErrorCode::kTooLarge) + 1))};
  }
  return r;
}

bool SameRequest(const Request& a, const Request& b) {
  if (a.id != b.id || a.message.index() != b.message.index()) return false;
  if (const auto* ca = std::get_if<CredentialsRequest>(&a.message)) {
    const auto& cb = std::get<CredentialsRequest>(b.message);
    return ca->access_key_id == cb.access_key_id && ca->session_token == cb.session_token &&
           ca->expiration == cb.expiration &&
           AsStringView(ca->secret_access_key.Expose()) ==
               AsStringView(cb.secret_access_key.Expose());
  }
  if (const auto* ia = std::get_if<InferRequest>(&a.message)) {
    return *ia == std::get<InferRequest>(b.message);
  }
  if (const auto* aa = std::get_if<AttestRequest>(&a.message)) {
    return *aa == std::get<AttestRequest>(b.message);
  }
  return true;
}

RC_GTEST_PROP(WireMessagesProperty, DecodeInvertsEncodeForRequests, ()) {
  const Request r = GenRequest();
  const auto encoded = EncodeRequest(r);
  RC_ASSERT(encoded.ok());
  const auto back = DecodeRequest(*encoded);
  RC_ASSERT(back.ok());
  RC_ASSERT(SameRequest(*back, r));
  RC_ASSERT(EncodeRequest(*back).value() == *encoded);
}

RC_GTEST_PROP(WireMessagesProperty, DecodeInvertsEncodeForResponses, ()) {
  const Response r = GenResponse();
  const auto encoded = EncodeResponse(r);
  RC_ASSERT(encoded.ok());
  const auto back = DecodeResponse(*encoded);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == r);
  RC_ASSERT(EncodeResponse(*back).value() == *encoded);
}

void CheckRefusedOrConsistent(const std::vector<uint8_t>& bytes) {
  const auto req = DecodeRequest(bytes);
  if (req.ok()) {
    RC_ASSERT(DecodeRequest(EncodeRequest(*req).value()).ok());
  } else {
    RC_ASSERT(req.status().code() == absl::StatusCode::kInvalidArgument);
  }
  const auto resp = DecodeResponse(bytes);
  if (resp.ok()) {
    RC_ASSERT(DecodeResponse(EncodeResponse(*resp).value()).value() == *resp);
  } else {
    RC_ASSERT(resp.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

RC_GTEST_PROP(WireMessagesProperty, RandomBytesAreRefusedWithoutCrashing,
              (const std::vector<uint8_t>& bytes)) {
  CheckRefusedOrConsistent(bytes);
  // Random bytes essentially never form a valid message.
  RC_ASSERT(!DecodeRequest(bytes).ok() || bytes.size() >= 20);
}

RC_GTEST_PROP(WireMessagesProperty, EditedEncodingsNeverCrash, ()) {
  const bool request = *rc::gen::arbitrary<bool>();
  std::vector<uint8_t> bytes =
      request ? EncodeRequest(GenRequest()).value() : EncodeResponse(GenResponse()).value();
  const int edits = *rc::gen::inRange(1, 4);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    switch (*rc::gen::inRange(0, 3)) {
      case 0:
        bytes[at] ^= static_cast<uint8_t>(1u << *rc::gen::inRange(0, 8));
        break;
      case 1:
        bytes.resize(at);
        break;
      default:
        bytes.insert(bytes.begin() + static_cast<long>(at), *rc::gen::arbitrary<uint8_t>());
    }
  }
  CheckRefusedOrConsistent(bytes);
}

}  // namespace
}  // namespace veil::wire
