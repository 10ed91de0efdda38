// Known-answer tests for the NSM protocol encoding. Every hex string below is
// a row of ../shared/specs/nitro-attestation-nsm-kms.md sections 3.3
// (requests) and 3.4 (responses); the brief produced them with serde_cbor
// 0.11.2 on mirror types of aws-nitro-enclaves-nsm-api's Request/Response
// (and the Linux driver hard-codes the same GetRandom request bytes).
#include "veil/attestation/nsm/protocol.h"

#include <string>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"
#include "veil/testing/testdata.h"

namespace veil::attestation::nsm::protocol {
namespace {

using ::testing::ElementsAre;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Hex(const std::string& hex) {
  absl::StatusOr<std::vector<uint8_t>> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::vector<uint8_t>();
}

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

std::string EncodeHex(const Request& r) {
  absl::StatusOr<std::vector<uint8_t>> b = EncodeRequest(r);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? HexEncode(*b) : "";
}

std::string EncodeHex(const Response& r) {
  absl::StatusOr<std::vector<uint8_t>> b = EncodeResponse(r);
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? HexEncode(*b) : "";
}

PcrValue Pcr(uint8_t fill) {
  PcrValue v;
  v.fill(fill);
  return v;
}

// ---- brief 3.3: requests, exact bytes (every row) -------------------------

struct RequestVector {
  const char* name;
  Request request;
  const char* hex;
};

std::vector<RequestVector> RequestVectors() {
  AttestationRequest hi;
  hi.user_data = Bytes("hi");
  hi.nonce = std::vector<uint8_t>{1, 2, 3, 4};
  return {
      {"DescribeNSM", DescribeNsmRequest{}, "6b44657363726962654e534d"},
      {"GetRandom", GetRandomRequest{}, "6947657452616e646f6d"},
      {"DescribePCR0", DescribePcrRequest{0}, "a16b4465736372696265504352a165696e64657800"},
      {"DescribePCR16", DescribePcrRequest{16}, "a16b4465736372696265504352a165696e64657810"},
      {"ExtendPCR16abc", ExtendPcrRequest{16, Bytes("abc")},
       "a169457874656e64504352a265696e64657810646461746143616263"},
      {"LockPCR16", LockPcrRequest{16}, "a1674c6f636b504352a165696e64657810"},
      {"LockPCRs32", LockPcrsRequest{32}, "a1684c6f636b50435273a16572616e67651820"},
      {"AttestationNone", AttestationRequest{},
       "a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a7075626c69635f6b6579f6"},
      {"AttestationHiNonce", hi,
       "a16b4174746573746174696f6ea369757365725f64617461426869656e6f6e636544010203046a7075626c69"
       "635f6b6579f6"},
  };
}

TEST(ProtocolTest, RequestsEncodeToTheBriefsExactBytes) {
  for (const RequestVector& v : RequestVectors()) {
    EXPECT_EQ(EncodeHex(v.request), v.hex) << v.name;
  }
}

TEST(ProtocolTest, RequestsDecodeFromTheBriefsExactBytes) {
  for (const RequestVector& v : RequestVectors()) {
    absl::StatusOr<Request> decoded = DecodeRequest(Hex(v.hex));
    ASSERT_TRUE(decoded.ok()) << v.name << ": " << decoded.status();
    EXPECT_EQ(decoded->index(), v.request.index()) << v.name;
    EXPECT_EQ(EncodeHex(*decoded), v.hex) << v.name;
  }
}

// Brief 3.3: a 32-byte nonce and an RSA-2048 SPKI (294 bytes) make a
// 373-byte request: a1 6b "Attestation" a3 69 "user_data" f6 65 "nonce" 58 20
// <32> 6a "public_key" 59 01 26 <294>.
TEST(ProtocolTest, AttestationWithNonceAndRsaKeyIs373Bytes) {
  AttestationRequest r;
  r.nonce = std::vector<uint8_t>(32, 0xAB);
  r.public_key = std::vector<uint8_t>(294, 0xCD);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> b, EncodeRequest(r));
  EXPECT_EQ(b.size(), 373u);
  const std::string hex = HexEncode(b);
  EXPECT_EQ(hex.substr(0, 2 * 33),
            "a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e63655820");
  EXPECT_EQ(hex.substr(2 * 33, 2 * 32), HexEncode(*r.nonce));
  EXPECT_NE(hex.find("6a7075626c69635f6b6579590126cdcd"), std::string::npos);
}

// ---- brief 3.4: responses, exact bytes (every row) ------------------------

TEST(ProtocolTest, GetRandomResponseBytes) {
  const std::string hex = "a16947657452616e646f6da16672616e646f6d4400112233";
  EXPECT_EQ(EncodeHex(GetRandomResponse{{0x00, 0x11, 0x22, 0x33}}), hex);
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  ASSERT_TRUE(std::holds_alternative<GetRandomResponse>(r));
  EXPECT_THAT(std::get<GetRandomResponse>(r).random, ElementsAre(0x00, 0x11, 0x22, 0x33));
  // The 256-byte form uses a one-byte length: 58 ...
  const std::string prefix256 = "a16947657452616e646f6da16672616e646f6d5901";
  EXPECT_EQ(EncodeHex(GetRandomResponse{std::vector<uint8_t>(256, 7)}).substr(0, prefix256.size()),
            prefix256);
  EXPECT_EQ(EncodeHex(GetRandomResponse{std::vector<uint8_t>(32, 7)}).substr(0, 40),
            "a16947657452616e646f6da16672616e646f6d58");
}

TEST(ProtocolTest, DescribePcrResponseBytesLockBeforeData) {
  const std::string hex =
      "a16b4465736372696265504352a2646c6f636bf564646174615830" + std::string(96, '0');
  EXPECT_EQ(EncodeHex(DescribePcrResponse{true, Pcr(0)}), hex);
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  ASSERT_TRUE(std::holds_alternative<DescribePcrResponse>(r));
  EXPECT_TRUE(std::get<DescribePcrResponse>(r).lock);
  EXPECT_EQ(std::get<DescribePcrResponse>(r).data, Pcr(0));
  // Unlocked is f4.
  EXPECT_EQ(EncodeHex(DescribePcrResponse{false, Pcr(0)}).substr(0, 50),
            "a16b4465736372696265504352a2646c6f636bf46464617461");
}

TEST(ProtocolTest, ExtendPcrResponseBytes) {
  const std::string hex = "a169457874656e64504352a164646174615830" + std::string(96, 'e');
  EXPECT_EQ(EncodeHex(ExtendPcrResponse{Pcr(0xEE)}), hex);
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  ASSERT_TRUE(std::holds_alternative<ExtendPcrResponse>(r));
  EXPECT_EQ(std::get<ExtendPcrResponse>(r).data, Pcr(0xEE));
}

TEST(ProtocolTest, LockResponsesAreText) {
  EXPECT_EQ(EncodeHex(LockPcrResponse{}), "674c6f636b504352");
  EXPECT_EQ(EncodeHex(LockPcrsResponse{}), "684c6f636b50435273");
  VEIL_ASSERT_OK_AND_ASSIGN(Response a, DecodeResponse(Hex("674c6f636b504352")));
  EXPECT_TRUE(std::holds_alternative<LockPcrResponse>(a));
  VEIL_ASSERT_OK_AND_ASSIGN(Response b, DecodeResponse(Hex("684c6f636b50435273")));
  EXPECT_TRUE(std::holds_alternative<LockPcrsResponse>(b));
}

TEST(ProtocolTest, DescribeNsmResponseBytes) {
  DescribeNsmResponse d;
  d.description.version_major = 1;
  d.description.version_minor = 0;
  d.description.version_patch = 0;
  d.description.module_id = "i-0bee92034f3d60691-enc01943c5eaab3ad6a";
  d.description.max_pcrs = 32;
  d.description.locked_pcrs = {0, 1, 2, 3, 4};
  d.description.digest = "SHA384";
  const std::string hex = EncodeHex(d);
  // The brief's example, with its elided middle filled in from the fields.
  const std::string start = "a16b44657363726962654e534da76d76657273696f6e5f6d616a6f7201";
  const std::string end =
      "686d61785f7063727318206b6c6f636b65645f706372738500010203046664696765737466534841333834";
  EXPECT_EQ(hex.substr(0, start.size()), start);
  EXPECT_EQ(hex.substr(hex.size() - end.size()), end);
  EXPECT_EQ(hex,
            start + "6d76657273696f6e5f6d696e6f72006d76657273696f6e5f70617463680069"
                    "6d6f64756c655f6964" +
                "7827" + HexEncode(Bytes(d.description.module_id)) + end);
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  ASSERT_TRUE(std::holds_alternative<DescribeNsmResponse>(r));
  const NsmDescription& got = std::get<DescribeNsmResponse>(r).description;
  EXPECT_EQ(got.version_major, 1);
  EXPECT_EQ(got.module_id, d.description.module_id);
  EXPECT_EQ(got.max_pcrs, 32);
  EXPECT_THAT(got.locked_pcrs, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(got.digest, "SHA384");
}

TEST(ProtocolTest, ErrorResponseBytes) {
  EXPECT_EQ(EncodeHex(ErrorResponse{ErrorCode::kInvalidIndex}),
            "a1654572726f726c496e76616c6964496e646578");
  const struct {
    ErrorCode code;
    const char* name;
  } codes[] = {{ErrorCode::kInvalidArgument, "InvalidArgument"},
               {ErrorCode::kInvalidIndex, "InvalidIndex"},
               {ErrorCode::kInvalidResponse, "InvalidResponse"},
               {ErrorCode::kReadOnlyIndex, "ReadOnlyIndex"},
               {ErrorCode::kInvalidOperation, "InvalidOperation"},
               {ErrorCode::kBufferTooSmall, "BufferTooSmall"},
               {ErrorCode::kInputTooLarge, "InputTooLarge"},
               {ErrorCode::kInternalError, "InternalError"}};
  for (const auto& c : codes) {
    const std::string name = c.name;
    const std::string hex = "a1654572726f72" + HexEncode({static_cast<uint8_t>(0x60 + name.size())}) +
                            HexEncode(Bytes(name));
    EXPECT_EQ(EncodeHex(ErrorResponse{c.code}), hex) << name;
    VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
    ASSERT_TRUE(std::holds_alternative<ErrorResponse>(r)) << name;
    EXPECT_EQ(std::get<ErrorResponse>(r).code, c.code) << name;
  }
  EXPECT_THAT(EncodeResponse(ErrorResponse{ErrorCode::kSuccess}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProtocolTest, AttestationResponseBytes) {
  const std::vector<uint8_t> doc(300, 0x84);
  const std::string hex = EncodeHex(AttestationResponse{doc});
  EXPECT_EQ(hex.substr(0, 2 * 26), "a16b4174746573746174696f6ea168646f63756d656e7459012c");
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  ASSERT_TRUE(std::holds_alternative<AttestationResponse>(r));
  EXPECT_EQ(std::get<AttestationResponse>(r).document, doc);
}

// Brief 3.4: for doc1 the response starts a16b...a168646f63756d656e745912ad
// and is 4807 bytes in all.
TEST(ProtocolTest, AttestationResponseAroundRealDocument) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> doc,
      veil::testing::ReadFile(shared + "/testdata/nitro/doc1-eu-central-1-2025-01-06.cbor"));
  const std::string hex = EncodeHex(AttestationResponse{doc});
  EXPECT_EQ(hex.size() / 2, 4807u);
  EXPECT_EQ(hex.substr(0, 52), "a16b4174746573746174696f6ea168646f63756d656e745912ad");
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  EXPECT_EQ(std::get<AttestationResponse>(r).document, doc);
}

// ---- limits ---------------------------------------------------------------

TEST(ProtocolTest, EncodeRequestEnforcesFieldAndSizeLimits) {
  AttestationRequest r;
  r.user_data = std::vector<uint8_t>(512);
  r.nonce = std::vector<uint8_t>(512);
  r.public_key = std::vector<uint8_t>(1024);
  VEIL_EXPECT_OK(EncodeRequest(r));
  r.user_data->push_back(0);
  EXPECT_THAT(EncodeRequest(r), StatusIs(absl::StatusCode::kInvalidArgument));
  r.user_data->pop_back();
  r.nonce->push_back(0);
  EXPECT_THAT(EncodeRequest(r), StatusIs(absl::StatusCode::kInvalidArgument));
  r.nonce->pop_back();
  r.public_key->push_back(0);
  EXPECT_THAT(EncodeRequest(r), StatusIs(absl::StatusCode::kInvalidArgument));
  r.public_key = std::vector<uint8_t>();
  EXPECT_THAT(EncodeRequest(r), StatusIs(absl::StatusCode::kInvalidArgument));

  // ExtendPCR data is bounded only by the 4096-byte request.
  EXPECT_THAT(EncodeRequest(ExtendPcrRequest{16, std::vector<uint8_t>(4000)}), veil::testing::IsOk());
  EXPECT_THAT(EncodeRequest(ExtendPcrRequest{16, std::vector<uint8_t>(4096)}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ProtocolTest, DecodeRequestReportsInputTooLarge) {
  EXPECT_EQ(NsmErrorCodeOf(DecodeRequest(std::vector<uint8_t>(4097, 0x60)).status()),
            ErrorCode::kInputTooLarge);
  // A hand-made Attestation with a 513-byte user_data (the encoder refuses
  // to make one).
  std::vector<uint8_t> b = Hex("a16b4174746573746174696f6ea369757365725f646174615902" "01");
  b.insert(b.end(), 513, 0);
  const std::vector<uint8_t> tail = Hex("656e6f6e6365f66a7075626c69635f6b6579f6");
  b.insert(b.end(), tail.begin(), tail.end());
  EXPECT_EQ(NsmErrorCodeOf(DecodeRequest(b).status()), ErrorCode::kInputTooLarge);
}

TEST(ProtocolTest, ResponsesOverTheLimitAreRefused) {
  EXPECT_THAT(EncodeResponse(AttestationResponse{std::vector<uint8_t>(12288)}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  VEIL_EXPECT_OK(EncodeResponse(AttestationResponse{std::vector<uint8_t>(12288 - 32)}));
  EXPECT_THAT(DecodeResponse(std::vector<uint8_t>(12289, 0x60)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- malformed input --------------------------------------------------------

TEST(ProtocolTest, MalformedResponsesAreRefused) {
  const char* bad[] = {
      "",                                            // nothing
      "f6",                                          // null
      "6a4c6f636b50435273",                          // text with wrong length
      "674c6f636b504353",                            // unknown unit variant "LockPCS"
      "6b4465736372696265504352",                    // DescribePCR as a unit variant
      "a1674c6f636b504352a0",                        // LockPCR as a map
      "a2674c6f636b504352f6684c6f636b50435273f6",     // two variants
      "a1654572726f726c496e76616c6964496e64657800",  // trailing byte
      "a1654572726f72675375636365737300",           // truncated
      "a1654572726f726753756363657373",             // Error(Success)
      "a1654572726f72664e6f53756368",               // unknown error name
      "a1654572726f7202",                            // error code as int
      // DescribePCR with a 47-byte value.
      "a16b4465736372696265504352a2646c6f636bf56464617461582f",
      // DescribePCR with lock as int.
      "a16b4465736372696265504352a2646c6f636b0164646174615830",
      // DescribePCR missing data.
      "a16b4465736372696265504352a1646c6f636bf5",
      // GetRandom with text instead of bytes.
      "a16947657452616e646f6da16672616e646f6d6400112233",
      // Attestation with an empty document.
      "a16b4174746573746174696f6ea168646f63756d656e7440",
      // DescribeNSM with max_pcrs over u16.
      "a16b44657363726962654e534da1686d61785f706372731a00010000",
      // Indefinite-length text.
      "7f674c6f636b504352ff",
  };
  for (const char* hex : bad) {
    EXPECT_FALSE(DecodeResponse(Hex(hex)).ok()) << hex;
  }
}

TEST(ProtocolTest, UnknownResponseFieldsAreIgnoredLikeSerde) {
  // {"ExtendPCR": {"extra": 1, "data": h'00'*48}}
  const std::string hex = "a169457874656e64504352a2656578747261016464617461583" "0" +
                          std::string(96, '0');
  VEIL_ASSERT_OK_AND_ASSIGN(Response r, DecodeResponse(Hex(hex)));
  EXPECT_TRUE(std::holds_alternative<ExtendPcrResponse>(r));
  // But a duplicate field is refused.
  // ... the second "data" key with a non-minimal length head (78 04).
  const std::string dup = "a169457874656e64504352a264646174615830" + std::string(96, '0') +
                          "7804646174615830" + std::string(96, '0');
  EXPECT_FALSE(DecodeResponse(Hex(dup)).ok());
}

TEST(ProtocolTest, MalformedRequestsAreInvalidArgument) {
  const char* bad[] = {
      "",
      "6b44657363726962654e534e",                          // "DescribeNSN"
      "a16b4465736372696265504352a0",                      // DescribePCR without index
      "a16b4465736372696265504352a165696e64657820",        // index -1
      "a16b4465736372696265504352a165696e6465781a00010000",  // index over u16
      "a16b4465736372696265504352a265696e6465781065657874726101",  // unknown field
      "a1674c6f636b504352a165696e64657810ff",              // trailing byte
      "a169457874656e64504352a265696e64657810646461746163616263",  // data as text
  };
  for (const char* hex : bad) {
    absl::StatusOr<Request> r = DecodeRequest(Hex(hex));
    ASSERT_FALSE(r.ok()) << hex;
    EXPECT_EQ(NsmErrorCodeOf(r.status()), ErrorCode::kInvalidArgument) << hex;
  }
}

// C10: every truncation and bit flip of a valid response either decodes to
// something or is refused -- never a crash (run under ASan/UBSan in CI).
TEST(ProtocolTest, MutatedResponsesNeverCrash) {
  const std::vector<uint8_t> valid = Hex(
      "a16b44657363726962654e534da76d76657273696f6e5f6d616a6f72016d76657273696f6e5f6d696e6f7200"
      "6d76657273696f6e5f70617463680069" "6d6f64756c655f6964" "6161" "686d61785f706372731820"
      "6b6c6f636b65645f706372738500010203046664696765737466534841333834");
  VEIL_ASSERT_OK(DecodeResponse(valid));
  size_t refused = 0;
  veil::testing::ForEachTruncation(valid, [&](const veil::testing::Mutation& m) {
    if (!DecodeResponse(m.bytes).ok()) ++refused;
  });
  EXPECT_EQ(refused, valid.size());
  veil::testing::ForEachBitFlip(valid, [&](const veil::testing::Mutation& m) {
    (void)DecodeResponse(m.bytes);
    (void)DecodeRequest(m.bytes);
  });
  veil::testing::ForEachAppend(valid, [&](const veil::testing::Mutation& m) {
    EXPECT_FALSE(DecodeResponse(m.bytes).ok()) << m.what;
  });
}

TEST(ProtocolTest, ErrorStatusesCarryTheNsmCode) {
  const absl::Status s = NsmError(ErrorCode::kReadOnlyIndex, "PCR0 is locked");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(NsmErrorCodeOf(s), ErrorCode::kReadOnlyIndex);
  EXPECT_EQ(NsmErrorCodeOf(NsmError(ErrorCode::kInvalidOperation, "x")), ErrorCode::kInvalidOperation);
  EXPECT_EQ(NsmErrorCodeOf(absl::OutOfRangeError("x")), ErrorCode::kInvalidIndex);
  EXPECT_EQ(NsmErrorCodeOf(absl::OkStatus()), ErrorCode::kSuccess);
  EXPECT_EQ(NsmErrorCodeOf(absl::UnknownError("x")), ErrorCode::kInternalError);
}

}  // namespace
}  // namespace veil::attestation::nsm::protocol
