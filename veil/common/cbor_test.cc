#include "veil/common/cbor.h"

#include <cstdint>
#include <list>
#include <string>
#include <variant>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"

namespace veil::cbor {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::StatusIs;
using Type = Value::Type;

std::vector<uint8_t> Hex(std::string_view hex) { return HexDecode(hex).value(); }

// H returns the bytes of `hex` in storage that lives until the test binary
// exits: decoded Values are views into their input.
absl::Span<const uint8_t> H(std::string_view hex) {
  static auto* kept = new std::list<std::vector<uint8_t>>();
  kept->push_back(Hex(hex));
  return kept->back();
}

std::string HexOf(absl::Span<const uint8_t> b) { return HexEncode(b); }

// ---------------------------------------------------------------------------
// RFC 8949 Appendix A ("Examples of Encoded CBOR Data Items"), in the order of
// Table 6. Every example is decoded, its type and value checked, and its
// `encoded` span must cover the whole input.

struct IntCase {
  const char* hex;
  Type type;
  uint64_t uint;
};

class Rfc8949IntegerTest : public ::testing::TestWithParam<IntCase> {};

TEST_P(Rfc8949IntegerTest, Decodes) {
  const auto bytes = Hex(GetParam().hex);
  VEIL_ASSERT_OK_AND_ASSIGN(Value v, Decode(bytes));
  EXPECT_EQ(v.type, GetParam().type);
  EXPECT_EQ(v.uint, GetParam().uint);
  EXPECT_EQ(v.encoded.size(), bytes.size());
}

INSTANTIATE_TEST_SUITE_P(
    AppendixA, Rfc8949IntegerTest,
    ::testing::Values(IntCase{"00", Type::kUnsigned, 0}, IntCase{"01", Type::kUnsigned, 1},
                      IntCase{"0a", Type::kUnsigned, 10}, IntCase{"17", Type::kUnsigned, 23},
                      IntCase{"1818", Type::kUnsigned, 24}, IntCase{"1819", Type::kUnsigned, 25},
                      IntCase{"1864", Type::kUnsigned, 100},
                      IntCase{"1903e8", Type::kUnsigned, 1000},
                      IntCase{"1a000f4240", Type::kUnsigned, 1000000},
                      IntCase{"1b000000e8d4a51000", Type::kUnsigned, 1000000000000},
                      IntCase{"1bffffffffffffffff", Type::kUnsigned, 18446744073709551615u},
                      // -18446744073709551616: argument 2^64-1.
                      IntCase{"3bffffffffffffffff", Type::kNegative, 18446744073709551615u},
                      IntCase{"20", Type::kNegative, 0},     // -1
                      IntCase{"29", Type::kNegative, 9},     // -10
                      IntCase{"3863", Type::kNegative, 99},  // -100
                      IntCase{"3903e7", Type::kNegative, 999},  // -1000
                      // Floats: the raw IEEE bits are kept.
                      IntCase{"f90000", Type::kFloat, 0x0000},      // 0.0
                      IntCase{"f98000", Type::kFloat, 0x8000},      // -0.0
                      IntCase{"f93c00", Type::kFloat, 0x3c00},      // 1.0
                      IntCase{"fb3ff199999999999a", Type::kFloat, 0x3ff199999999999a},  // 1.1
                      IntCase{"f93e00", Type::kFloat, 0x3e00},      // 1.5
                      IntCase{"f97bff", Type::kFloat, 0x7bff},      // 65504.0
                      IntCase{"fa47c35000", Type::kFloat, 0x47c35000},  // 100000.0
                      IntCase{"fa7f7fffff", Type::kFloat, 0x7f7fffff},  // 3.4028234663852886e+38
                      IntCase{"fb7e37e43c8800759c", Type::kFloat, 0x7e37e43c8800759c},  // 1.0e+300
                      IntCase{"f90001", Type::kFloat, 0x0001},      // 5.960464477539063e-8
                      IntCase{"f90400", Type::kFloat, 0x0400},      // 0.00006103515625
                      IntCase{"f9c400", Type::kFloat, 0xc400},      // -4.0
                      IntCase{"fbc010666666666666", Type::kFloat, 0xc010666666666666},  // -4.1
                      IntCase{"f97c00", Type::kFloat, 0x7c00},      // Infinity
                      IntCase{"f97e00", Type::kFloat, 0x7e00},      // NaN
                      IntCase{"f9fc00", Type::kFloat, 0xfc00},      // -Infinity
                      IntCase{"fa7f800000", Type::kFloat, 0x7f800000},
                      IntCase{"fa7fc00000", Type::kFloat, 0x7fc00000},
                      IntCase{"faff800000", Type::kFloat, 0xff800000},
                      IntCase{"fb7ff0000000000000", Type::kFloat, 0x7ff0000000000000},
                      IntCase{"fb7ff8000000000000", Type::kFloat, 0x7ff8000000000000},
                      IntCase{"fbfff0000000000000", Type::kFloat, 0xfff0000000000000}));

TEST(CborTest, Rfc8949SimpleValues) {
  VEIL_ASSERT_OK_AND_ASSIGN(Value f, Decode(H("f4")));
  EXPECT_EQ(f.type, Type::kBool);
  EXPECT_FALSE(f.boolean);
  VEIL_ASSERT_OK_AND_ASSIGN(Value t, Decode(H("f5")));
  EXPECT_EQ(t.type, Type::kBool);
  EXPECT_TRUE(t.boolean);
  VEIL_ASSERT_OK_AND_ASSIGN(Value n, Decode(H("f6")));
  EXPECT_TRUE(n.is_null());
  VEIL_ASSERT_OK_AND_ASSIGN(Value u, Decode(H("f7")));
  EXPECT_EQ(u.type, Type::kUndefined);
  // simple(16), simple(255): well-formed but unassigned. Value has no type for
  // them and no format Veil reads uses them, so the strict decoder refuses.
  EXPECT_THAT(Decode(H("f0")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Decode(H("f8ff")), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CborTest, Rfc8949Tags) {
  // 2(h'010000000000000000') = 18446744073709551616 (bignum)
  VEIL_ASSERT_OK_AND_ASSIGN(Value big, Decode(H("c249010000000000000000")));
  ASSERT_EQ(big.type, Type::kTag);
  EXPECT_EQ(big.uint, 2u);
  ASSERT_EQ(big.items.size(), 1u);
  EXPECT_EQ(HexOf(big.items[0].bytes), "010000000000000000");
  // 3(h'010000000000000000') = -18446744073709551617
  VEIL_ASSERT_OK_AND_ASSIGN(Value nbig, Decode(H("c349010000000000000000")));
  EXPECT_EQ(nbig.uint, 3u);
  // 0("2013-03-21T20:04:00Z")
  VEIL_ASSERT_OK_AND_ASSIGN(Value t0, Decode(H("c074323031332d30332d32315432303a30343a30305a")));
  EXPECT_EQ(t0.uint, 0u);
  EXPECT_EQ(t0.items[0].text(), "2013-03-21T20:04:00Z");
  // 1(1363896240)
  VEIL_ASSERT_OK_AND_ASSIGN(Value t1, Decode(H("c11a514b67b0")));
  EXPECT_EQ(t1.uint, 1u);
  EXPECT_EQ(t1.items[0].uint, 1363896240u);
  // 1(1363896240.5)
  VEIL_ASSERT_OK_AND_ASSIGN(Value t1f, Decode(H("c1fb41d452d9ec200000")));
  EXPECT_EQ(t1f.items[0].type, Type::kFloat);
  // 23(h'01020304')
  VEIL_ASSERT_OK_AND_ASSIGN(Value t23, Decode(H("d74401020304")));
  EXPECT_EQ(t23.uint, 23u);
  EXPECT_EQ(HexOf(t23.items[0].bytes), "01020304");
  // 24(h'6449455446')
  VEIL_ASSERT_OK_AND_ASSIGN(Value t24, Decode(H("d818456449455446")));
  EXPECT_EQ(t24.uint, 24u);
  EXPECT_EQ(HexOf(t24.items[0].bytes), "6449455446");
  // 32("http://www.example.com")
  VEIL_ASSERT_OK_AND_ASSIGN(
      Value t32, Decode(H("d82076687474703a2f2f7777772e6578616d706c652e636f6d")));
  EXPECT_EQ(t32.uint, 32u);
  EXPECT_EQ(t32.items[0].text(), "http://www.example.com");
}

TEST(CborTest, Rfc8949Strings) {
  VEIL_ASSERT_OK_AND_ASSIGN(Value e, Decode(H("40")));
  EXPECT_EQ(e.type, Type::kBytes);
  EXPECT_TRUE(e.bytes.empty());
  VEIL_ASSERT_OK_AND_ASSIGN(Value b, Decode(H("4401020304")));
  EXPECT_EQ(HexOf(b.bytes), "01020304");
  struct {
    const char* hex;
    std::string text;
  } const texts[] = {{"60", ""},
                     {"6161", "a"},
                     {"6449455446", "IETF"},
                     {"62225c", "\"\\"},
                     {"62c3bc", "\xc3\xbc"},              // U+00FC
                     {"63e6b0b4", "\xe6\xb0\xb4"},        // U+6C34
                     {"64f0908591", "\xf0\x90\x85\x91"}};  // U+10151
  for (const auto& t : texts) {
    VEIL_ASSERT_OK_AND_ASSIGN(Value v, Decode(H(t.hex)));
    EXPECT_EQ(v.type, Type::kText) << t.hex;
    EXPECT_EQ(v.text(), t.text) << t.hex;
  }
  // (_ h'0102', h'030405') and (_ "strea", "ming"): indefinite-length
  // strings are well-formed but refused by design (cbor.h).
  EXPECT_THAT(Decode(H("5f42010243030405ff")), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Decode(H("7f657374726561646d696e67ff")),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ExpectNested checks the shape [1, [2, 3], [4, 5]] whatever the encoding.
void ExpectNested(const Value& v) {
  ASSERT_EQ(v.type, Type::kArray);
  ASSERT_EQ(v.items.size(), 3u);
  EXPECT_EQ(v.items[0].uint, 1u);
  ASSERT_EQ(v.items[1].items.size(), 2u);
  EXPECT_EQ(v.items[1].items[0].uint, 2u);
  EXPECT_EQ(v.items[1].items[1].uint, 3u);
  ASSERT_EQ(v.items[2].items.size(), 2u);
  EXPECT_EQ(v.items[2].items[0].uint, 4u);
  EXPECT_EQ(v.items[2].items[1].uint, 5u);
}

TEST(CborTest, Rfc8949ArraysAndMaps) {
  VEIL_ASSERT_OK_AND_ASSIGN(Value empty, Decode(H("80")));
  EXPECT_EQ(empty.type, Type::kArray);
  EXPECT_TRUE(empty.items.empty());
  VEIL_ASSERT_OK_AND_ASSIGN(Value a3, Decode(H("83010203")));
  ASSERT_EQ(a3.items.size(), 3u);
  EXPECT_EQ(a3.items[2].uint, 3u);
  VEIL_ASSERT_OK_AND_ASSIGN(Value nested, Decode(H("8301820203820405")));
  ExpectNested(nested);
  VEIL_ASSERT_OK_AND_ASSIGN(
      Value a25, Decode(H("98190102030405060708090a0b0c0d0e0f101112131415161718181819")));
  ASSERT_EQ(a25.items.size(), 25u);
  for (uint64_t i = 0; i < 25; ++i) EXPECT_EQ(a25.items[i].uint, i + 1);

  VEIL_ASSERT_OK_AND_ASSIGN(Value m0, Decode(H("a0")));
  EXPECT_EQ(m0.type, Type::kMap);
  EXPECT_TRUE(m0.map.empty());
  VEIL_ASSERT_OK_AND_ASSIGN(Value m2, Decode(H("a201020304")));
  ASSERT_EQ(m2.map.size(), 2u);
  EXPECT_EQ(m2.map[0].first.uint, 1u);
  EXPECT_EQ(m2.map[0].second.uint, 2u);
  EXPECT_EQ(m2.map[1].first.uint, 3u);
  EXPECT_EQ(m2.map[1].second.uint, 4u);
  // {"a": 1, "b": [2, 3]}
  VEIL_ASSERT_OK_AND_ASSIGN(Value mab, Decode(H("a26161016162820203")));
  ASSERT_NE(mab.Find("a"), nullptr);
  EXPECT_EQ(mab.Find("a")->uint, 1u);
  ASSERT_NE(mab.Find("b"), nullptr);
  EXPECT_EQ(mab.Find("b")->items.size(), 2u);
  EXPECT_EQ(mab.Find("c"), nullptr);
  // ["a", {"b": "c"}]
  VEIL_ASSERT_OK_AND_ASSIGN(Value amix, Decode(H("826161a161626163")));
  EXPECT_EQ(amix.items[1].Find("b")->text(), "c");
  // {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}
  VEIL_ASSERT_OK_AND_ASSIGN(Value m5, Decode(H("a56161614161626142616361436164614461656145")));
  ASSERT_EQ(m5.map.size(), 5u);
  EXPECT_EQ(m5.Find("e")->text(), "E");
}

TEST(CborTest, Rfc8949IndefiniteContainers) {
  VEIL_ASSERT_OK_AND_ASSIGN(Value e, Decode(H("9fff")));
  EXPECT_EQ(e.type, Type::kArray);
  EXPECT_TRUE(e.items.empty());
  for (const char* hex : {"9f018202039f0405ffff", "9f01820203820405ff", "83018202039f0405ff",
                          "83019f0203ff820405"}) {
    VEIL_ASSERT_OK_AND_ASSIGN(Value v, Decode(H(hex)));
    ExpectNested(v);
    EXPECT_EQ(v.encoded.size(), Hex(hex).size()) << hex;
  }
  VEIL_ASSERT_OK_AND_ASSIGN(
      Value a25, Decode(H("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff")));
  EXPECT_EQ(a25.items.size(), 25u);
  // {_ "a": 1, "b": [_ 2, 3]}
  VEIL_ASSERT_OK_AND_ASSIGN(Value m, Decode(H("bf61610161629f0203ffff")));
  EXPECT_EQ(m.Find("a")->uint, 1u);
  EXPECT_EQ(HexOf(m.Find("b")->encoded), "9f0203ff");
  // ["a", {_ "b": "c"}]
  VEIL_ASSERT_OK_AND_ASSIGN(Value am, Decode(H("826161bf61626163ff")));
  EXPECT_EQ(am.items[1].Find("b")->text(), "c");
  EXPECT_EQ(HexOf(am.items[1].encoded), "bf61626163ff");
  // {_ "Fun": true, "Amt": -2}
  VEIL_ASSERT_OK_AND_ASSIGN(Value fun, Decode(H("bf6346756ef563416d7421ff")));
  EXPECT_TRUE(fun.Find("Fun")->boolean);
  EXPECT_EQ(fun.Find("Amt")->AsInt(), -2);
}

// ---------------------------------------------------------------------------
// Exact spans, Find and AsInt.

TEST(CborTest, EncodedSpansAreExactInputBytes) {
  // A COSE_Sign1-shaped array: [h'a1013822', {}, h'a0', h'0102'].
  const auto bytes = Hex("8444a1013822a041a0420102");
  VEIL_ASSERT_OK_AND_ASSIGN(Value v, Decode(bytes));
  ASSERT_EQ(v.items.size(), 4u);
  EXPECT_EQ(v.encoded.data(), bytes.data());
  EXPECT_EQ(v.encoded.size(), bytes.size());
  EXPECT_EQ(HexOf(v.items[0].encoded), "44a1013822");
  EXPECT_EQ(HexOf(v.items[0].bytes), "a1013822");
  EXPECT_EQ(v.items[0].bytes.data(), bytes.data() + 2);  // a view, not a copy
  EXPECT_EQ(HexOf(v.items[1].encoded), "a0");
  EXPECT_EQ(HexOf(v.items[2].encoded), "41a0");
  EXPECT_EQ(HexOf(v.items[3].encoded), "420102");
}

TEST(CborTest, NonPreferredEncodingIsAcceptedAndKeptAsReceived) {
  // 1 encoded in 8 bytes, as the NSM encodes timestamps.
  VEIL_ASSERT_OK_AND_ASSIGN(Value v, Decode(H("1b0000000000000001")));
  EXPECT_EQ(v.uint, 1u);
  EXPECT_EQ(v.encoded.size(), 9u);
}

TEST(CborTest, AsInt) {
  EXPECT_EQ(Decode(H("00"))->AsInt(), 0);
  EXPECT_EQ(Decode(H("3822"))->AsInt(), -35);
  EXPECT_EQ(Decode(H("1b7fffffffffffffff"))->AsInt(), INT64_MAX);
  EXPECT_EQ(Decode(H("3b7fffffffffffffff"))->AsInt(), INT64_MIN);
  EXPECT_EQ(Decode(H("1b8000000000000000"))->AsInt(), std::nullopt);
  EXPECT_EQ(Decode(H("3b8000000000000000"))->AsInt(), std::nullopt);
  EXPECT_EQ(Decode(H("40"))->AsInt(), std::nullopt);
}

TEST(CborTest, FindIgnoresNonTextKeysAndNonMaps) {
  // {1: 2, "1": 3}
  VEIL_ASSERT_OK_AND_ASSIGN(Value m, Decode(H("a20102613103")));
  ASSERT_NE(m.Find("1"), nullptr);
  EXPECT_EQ(m.Find("1")->uint, 3u);
  VEIL_ASSERT_OK_AND_ASSIGN(Value a, Decode(H("80")));
  EXPECT_EQ(a.Find("x"), nullptr);
}

// ---------------------------------------------------------------------------
// Rejections.

void ExpectRejected(std::string_view hex, std::string_view message_part,
                    const Limits& limits = Limits()) {
  const auto bytes = Hex(hex);
  auto v = Decode(bytes, limits);
  ASSERT_THAT(v, StatusIs(absl::StatusCode::kInvalidArgument)) << hex;
  EXPECT_THAT(std::string(v.status().message()), HasSubstr(std::string(message_part))) << hex;
}

TEST(CborTest, RejectsEmptyInput) { ExpectRejected("", "truncated"); }

TEST(CborTest, RejectsTrailingBytes) {
  ExpectRejected("0000", "trailing");
  ExpectRejected("8301020300", "trailing");
  ExpectRejected("a0ff", "trailing");
}

TEST(CborTest, RejectsEveryTruncation) {
  const auto bytes = Hex("a26161bf61629f0203ffff627878c11a514b67b0");
  ASSERT_TRUE(Decode(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_THAT(Decode(absl::MakeConstSpan(bytes).first(n)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << n;
  }
}

TEST(CborTest, RejectsReservedAdditionalInformation) {
  for (int major = 0; major < 8; ++major) {
    for (int ai = 28; ai <= 30; ++ai) {
      const uint8_t b = static_cast<uint8_t>(major << 5 | ai);
      EXPECT_THAT(Decode(absl::MakeConstSpan(&b, 1)),
                  StatusIs(absl::StatusCode::kInvalidArgument));
    }
  }
  ExpectRejected("1c", "reserved additional information 28");
}

TEST(CborTest, RejectsIndefiniteLengthWhereNotAllowed) {
  ExpectRejected("1f", "indefinite length on an integer");
  ExpectRejected("3f", "indefinite length on an integer");
  ExpectRejected("df00", "indefinite length on a tag");
  ExpectRejected("5fff", "indefinite-length string");
  ExpectRejected("7fff", "indefinite-length string");
}

TEST(CborTest, RejectsMisplacedBreak) {
  ExpectRejected("ff", "unexpected break");
  ExpectRejected("81ff", "unexpected break");
  ExpectRejected("a1ff00", "unexpected break");
  // A break between a key and its value in an indefinite map.
  ExpectRejected("bf6161ff", "unexpected break");
  // An unterminated indefinite array.
  ExpectRejected("9f01", "truncated");
}

TEST(CborTest, RejectsInvalidUtf8) {
  for (const char* hex : {"61ff", "61c0", "62c080",  // 0xff; lone lead; overlong NUL
                          "62c1bf",                  // overlong
                          "63e08080",                // overlong 3-byte
                          "63eda080",                // UTF-16 surrogate D800
                          "64f4908080",              // above U+10FFFF
                          "64f8888080",              // 5-byte form
                          "6180",                    // lone continuation
                          "62e282"}) {               // truncated sequence
    ExpectRejected(hex, "invalid UTF-8");
  }
}

TEST(CborTest, RejectsDuplicateMapKeys) {
  ExpectRejected("a201020103", "duplicate map key");
  ExpectRejected("a2616101616102", "duplicate map key");
  ExpectRejected("bf616101616102ff", "duplicate map key");
  // Same key value, different encodings: distinct by the documented rule.
  EXPECT_TRUE(Decode(H("a20102180103")).ok());
}

TEST(CborTest, RejectsTwoByteSimpleBelow32) { ExpectRejected("f810", "simple value 16"); }

TEST(CborTest, RejectsLengthsBeyondTheInput) {
  ExpectRejected("5bffffffffffffffff", "truncated");
  ExpectRejected("7a00010000", "truncated");
  ExpectRejected("9bffffffffffffffff", "truncated");
  ExpectRejected("bbffffffffffffffff", "truncated");
  ExpectRejected("a2010203", "truncated");
}

TEST(CborTest, EnforcesDepthLimit) {
  // 16 nested arrays decode; 17 do not.
  std::string ok_hex(32, '8');
  for (size_t i = 1; i < ok_hex.size(); i += 2) ok_hex[i] = '1';
  ok_hex.back() = '0';  // innermost is []
  ASSERT_TRUE(Decode(H(ok_hex)).ok());
  ExpectRejected("81" + ok_hex, "nesting deeper than 16");
  // Tags count as nesting too.
  std::string tags;
  for (int i = 0; i < 17; ++i) tags += "c1";
  ExpectRejected(tags + "00", "nesting deeper than 16");
  // A deep input far past the limit fails cleanly (no stack exhaustion).
  std::vector<uint8_t> deep(100000, 0x81);
  deep.push_back(0x00);
  EXPECT_THAT(Decode(deep), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CborTest, EnforcesItemLimit) {
  Limits limits;
  limits.max_items = 4;
  EXPECT_TRUE(Decode(H("83010203"), limits).ok());
  ExpectRejected("8401020304", "more than 4 data items", limits);
  ExpectRejected("9f01020304ff", "more than 4 data items", limits);
}

TEST(CborTest, EnforcesInputLimit) {
  Limits limits;
  limits.max_input = 3;
  EXPECT_TRUE(Decode(H("420102"), limits).ok());
  ExpectRejected("43010203", "exceeds the limit of 3", limits);
}

TEST(CborTest, ErrorsNameTheOffset) {
  ExpectRejected("83010261ff", "at offset 3");
}

// ---------------------------------------------------------------------------
// Writer.

TEST(CborWriterTest, WritesMinimalHeads) {
  struct {
    uint64_t v;
    const char* hex;
  } const cases[] = {{0, "00"},
                     {23, "17"},
                     {24, "1818"},
                     {255, "18ff"},
                     {256, "190100"},
                     {65535, "19ffff"},
                     {65536, "1a00010000"},
                     {0xffffffff, "1affffffff"},
                     {0x100000000, "1b0000000100000000"},
                     {UINT64_MAX, "1bffffffffffffffff"}};
  for (const auto& c : cases) {
    Writer w;
    w.Unsigned(c.v);
    EXPECT_EQ(HexOf(w.bytes()), c.hex) << c.v;
  }
}

TEST(CborWriterTest, WritesRfc8949Examples) {
  auto hex = [](auto fn) {
    Writer w;
    fn(w);
    return HexOf(w.bytes());
  };
  EXPECT_EQ(hex([](Writer& w) { w.Int(-1); }), "20");
  EXPECT_EQ(hex([](Writer& w) { w.Int(-1000); }), "3903e7");
  EXPECT_EQ(hex([](Writer& w) { w.Int(1000000); }), "1a000f4240");
  EXPECT_EQ(hex([](Writer& w) { w.Int(INT64_MIN); }), "3b7fffffffffffffff");
  EXPECT_EQ(hex([](Writer& w) { w.Int(-35); }), "3822");
  EXPECT_EQ(hex([](Writer& w) { w.Bytes({}); }), "40");
  EXPECT_EQ(hex([](Writer& w) { w.Text("IETF"); }), "6449455446");
  EXPECT_EQ(hex([](Writer& w) { w.Text("\xe6\xb0\xb4"); }), "63e6b0b4");
  EXPECT_EQ(hex([](Writer& w) { w.Bool(false); }), "f4");
  EXPECT_EQ(hex([](Writer& w) { w.Bool(true); }), "f5");
  EXPECT_EQ(hex([](Writer& w) { w.Null(); }), "f6");
  EXPECT_EQ(hex([](Writer& w) {
              w.ArrayHeader(3);
              w.Unsigned(1);
              w.ArrayHeader(2);
              w.Unsigned(2);
              w.Unsigned(3);
              w.ArrayHeader(2);
              w.Unsigned(4);
              w.Unsigned(5);
            }),
            "8301820203820405");
  EXPECT_EQ(hex([](Writer& w) {
              w.MapHeader(2);
              w.Text("a");
              w.Unsigned(1);
              w.Text("b");
              w.ArrayHeader(2);
              w.Unsigned(2);
              w.Unsigned(3);
            }),
            "a26161016162820203");
  EXPECT_EQ(hex([](Writer& w) {
              w.Tag(1);
              w.Unsigned(1363896240);
            }),
            "c11a514b67b0");
  EXPECT_EQ(hex([](Writer& w) {
              w.Tag(32);
              w.Text("http://www.example.com");
            }),
            "d82076687474703a2f2f7777772e6578616d706c652e636f6d");
  EXPECT_EQ(hex([](Writer& w) {
              w.ArrayHeader(25);
              for (int i = 1; i <= 25; ++i) w.Unsigned(i);
            }),
            "98190102030405060708090a0b0c0d0e0f101112131415161718181819");
}

TEST(CborWriterTest, RawKeepsBytesAndReleaseMoves) {
  Writer w;
  w.ArrayHeader(1);
  w.Raw(Hex("bf6161f5ff"));
  EXPECT_EQ(HexOf(w.bytes()), "81bf6161f5ff");
  std::vector<uint8_t> out = w.Release();
  EXPECT_EQ(out.size(), 6u);
}

TEST(CborWriterTest, ReserveAvoidsReallocationAndChangesNoBytes) {
  Writer w;
  w.MapHeader(1);
  w.Reserve(2 + 40);
  const uint8_t* before = w.bytes().data();
  w.Text("k");
  w.Bytes(std::vector<uint8_t>(37, 0xaa));
  EXPECT_EQ(w.bytes().data(), before);
  EXPECT_EQ(HexOf(w.bytes()), "a1616b5825" + std::string(74, 'a'));
}

// ---------------------------------------------------------------------------
// RapidCheck properties (STYLE.md C10).

// Model is a generated CBOR value: what the Writer is asked to write and what
// Decode must give back.
struct Model {
  enum Kind { kUint, kInt, kBytes, kText, kArray, kMap, kTag, kBool, kNull };
  Kind kind = kNull;
  uint64_t u = 0;
  int64_t i = 0;
  std::vector<uint8_t> bytes;
  std::string text;
  std::vector<Model> items;                    // array elements, tag content
  std::vector<std::pair<Model, Model>> map;

  // Out of line: a vector of pairs of an incomplete type cannot be destroyed
  // inside the class (clang refuses).
  Model();
  Model(const Model&);
  Model(Model&&) noexcept;
  Model& operator=(const Model&);
  Model& operator=(Model&&) noexcept;
  ~Model();
};
Model::Model() = default;
Model::Model(const Model&) = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(const Model&) = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

void WriteModel(const Model& m, Writer& w) {
  switch (m.kind) {
    case Model::kUint:
      w.Unsigned(m.u);
      break;
    case Model::kInt:
      w.Int(m.i);
      break;
    case Model::kBytes:
      w.Bytes(m.bytes);
      break;
    case Model::kText:
      w.Text(m.text);
      break;
    case Model::kArray:
      w.ArrayHeader(m.items.size());
      for (const Model& x : m.items) WriteModel(x, w);
      break;
    case Model::kMap:
      w.MapHeader(m.map.size());
      for (const auto& [k, v] : m.map) {
        WriteModel(k, w);
        WriteModel(v, w);
      }
      break;
    case Model::kTag:
      w.Tag(m.u);
      WriteModel(m.items[0], w);
      break;
    case Model::kBool:
      w.Bool(m.i != 0);
      break;
    case Model::kNull:
      w.Null();
      break;
  }
}

std::vector<uint8_t> Encode(const Model& m) {
  Writer w;
  WriteModel(m, w);
  return w.Release();
}

// Matches reports whether decoded `v` is the value `m` describes.
bool Matches(const Model& m, const Value& v) {
  switch (m.kind) {
    case Model::kUint:
      return v.type == Type::kUnsigned && v.uint == m.u;
    case Model::kInt:
      return v.AsInt() == m.i;
    case Model::kBytes:
      return v.type == Type::kBytes &&
             std::vector<uint8_t>(v.bytes.begin(), v.bytes.end()) == m.bytes;
    case Model::kText:
      return v.type == Type::kText && v.text() == m.text;
    case Model::kArray:
      if (v.type != Type::kArray || v.items.size() != m.items.size()) return false;
      for (size_t k = 0; k < m.items.size(); ++k) {
        if (!Matches(m.items[k], v.items[k])) return false;
      }
      return true;
    case Model::kMap:
      if (v.type != Type::kMap || v.map.size() != m.map.size()) return false;
      for (size_t k = 0; k < m.map.size(); ++k) {
        if (!Matches(m.map[k].first, v.map[k].first) ||
            !Matches(m.map[k].second, v.map[k].second)) {
          return false;
        }
      }
      return true;
    case Model::kTag:
      return v.type == Type::kTag && v.uint == m.u && v.items.size() == 1 &&
             Matches(m.items[0], v.items[0]);
    case Model::kBool:
      return v.type == Type::kBool && v.boolean == (m.i != 0);
    case Model::kNull:
      return v.is_null();
  }
  return false;
}

// Utf8Text generates valid UTF-8 from arbitrary code points (surrogates
// skipped), so text covers 1- to 4-byte sequences.
rc::Gen<std::string> Utf8Text() {
  return rc::gen::map(
      rc::gen::container<std::vector<uint32_t>>(rc::gen::oneOf(
          rc::gen::inRange<uint32_t>(0, 0x80), rc::gen::inRange<uint32_t>(0x80, 0xd800),
          rc::gen::inRange<uint32_t>(0xe000, 0x110000))),
      [](const std::vector<uint32_t>& cps) {
        std::string s;
        for (uint32_t c : cps) {
          if (c < 0x80) {
            s += static_cast<char>(c);
          } else if (c < 0x800) {
            s += static_cast<char>(0xc0 | (c >> 6));
            s += static_cast<char>(0x80 | (c & 0x3f));
          } else if (c < 0x10000) {
            s += static_cast<char>(0xe0 | (c >> 12));
            s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (c & 0x3f));
          } else {
            s += static_cast<char>(0xf0 | (c >> 18));
            s += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
            s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
            s += static_cast<char>(0x80 | (c & 0x3f));
          }
        }
        return s;
      });
}

rc::Gen<uint64_t> InterestingU64() {
  return rc::gen::oneOf(rc::gen::arbitrary<uint64_t>(), rc::gen::inRange<uint64_t>(0, 300),
                        rc::gen::element<uint64_t>(23, 24, 255, 256, 65535, 65536, 0xffffffff,
                                                   0x100000000, UINT64_MAX));
}

rc::Gen<Model> GenModel(int depth) {
  std::vector<rc::Gen<Model>> leaves = {
      rc::gen::map(InterestingU64(),
                   [](uint64_t u) {
                     Model m;
                     m.kind = Model::kUint;
                     m.u = u;
                     return m;
                   }),
      rc::gen::map(rc::gen::arbitrary<int64_t>(),
                   [](int64_t i) {
                     Model m;
                     m.kind = Model::kInt;
                     m.i = i;
                     return m;
                   }),
      rc::gen::map(rc::gen::arbitrary<std::vector<uint8_t>>(),
                   [](std::vector<uint8_t> b) {
                     Model m;
                     m.kind = Model::kBytes;
                     m.bytes = std::move(b);
                     return m;
                   }),
      rc::gen::map(Utf8Text(),
                   [](std::string t) {
                     Model m;
                     m.kind = Model::kText;
                     m.text = std::move(t);
                     return m;
                   }),
      rc::gen::map(rc::gen::arbitrary<bool>(),
                   [](bool b) {
                     Model m;
                     m.kind = Model::kBool;
                     m.i = b;
                     return m;
                   }),
      rc::gen::just(Model{}),
  };
  if (depth >= 4) return rc::gen::oneOf(leaves[0], leaves[1], leaves[2], leaves[3], leaves[4],
                                        leaves[5]);
  auto array = rc::gen::map(rc::gen::resize(6, rc::gen::container<std::vector<Model>>(
                                                   rc::gen::lazy([depth] {
                                                     return GenModel(depth + 1);
                                                   }))),
                            [](std::vector<Model> items) {
                              Model m;
                              m.kind = Model::kArray;
                              m.items = std::move(items);
                              return m;
                            });
  auto map = rc::gen::map(
      rc::gen::resize(6, rc::gen::container<std::vector<std::pair<Model, Model>>>(
                             rc::gen::pair(rc::gen::lazy([depth] { return GenModel(depth + 1); }),
                                           rc::gen::lazy([depth] {
                                             return GenModel(depth + 1);
                                           })))),
      [](std::vector<std::pair<Model, Model>> entries) {
        // Drop entries whose key encodes like an earlier one: the decoder
        // rightly refuses duplicate keys.
        Model m;
        m.kind = Model::kMap;
        std::vector<std::vector<uint8_t>> seen;
        for (auto& e : entries) {
          auto enc = Encode(e.first);
          if (std::find(seen.begin(), seen.end(), enc) != seen.end()) continue;
          seen.push_back(std::move(enc));
          m.map.push_back(std::move(e));
        }
        return m;
      });
  auto tag = rc::gen::map(rc::gen::pair(InterestingU64(), rc::gen::lazy([depth] {
                                          return GenModel(depth + 1);
                                        })),
                          [](std::pair<uint64_t, Model> p) {
                            Model m;
                            m.kind = Model::kTag;
                            m.u = p.first;
                            m.items.push_back(std::move(p.second));
                            return m;
                          });
  // Containers are weighted up so that most cases nest a few levels deep.
  return rc::gen::weightedOneOf<Model>({{1, leaves[0]}, {1, leaves[1]}, {1, leaves[2]},
                                        {1, leaves[3]}, {1, leaves[4]}, {1, leaves[5]},
                                        {5, array}, {5, map}, {2, tag}});
}

RC_GTEST_PROP(CborProperty, DecodeInvertsWrite, ()) {
  const Model m = *GenModel(0);
  const std::vector<uint8_t> bytes = Encode(m);
  RC_CLASSIFY(m.kind == Model::kArray || m.kind == Model::kMap || m.kind == Model::kTag,
              "container");
  RC_CLASSIFY(bytes.size() > 64, "over 64 bytes");
  auto v = Decode(bytes);
  RC_ASSERT(v.ok());
  RC_ASSERT(Matches(m, *v));
  RC_ASSERT(v->encoded.size() == bytes.size());
  RC_ASSERT(v->encoded.data() == bytes.data());
}

RC_GTEST_PROP(CborProperty, WriterOutputIsMinimalAndReencodesIdentically, ()) {
  // Re-writing the decoded value through Raw of each child gives the same
  // bytes: `encoded` spans tile their parent exactly.
  const Model m = *GenModel(0);
  const std::vector<uint8_t> bytes = Encode(m);
  auto v = Decode(bytes);
  RC_ASSERT(v.ok());
  if (v->type == Type::kArray) {
    Writer w;
    w.ArrayHeader(v->items.size());
    for (const Value& item : v->items) w.Raw(item.encoded);
    RC_ASSERT(w.bytes() == bytes);
  }
}

RC_GTEST_PROP(CborProperty, RandomBytesNeverCrash, (const std::vector<uint8_t>& bytes)) {
  auto v = Decode(bytes);
  if (v.ok()) {
    RC_ASSERT(v->encoded.size() == bytes.size());
  } else {
    RC_ASSERT(v.status().code() == absl::StatusCode::kInvalidArgument);
  }
}

RC_GTEST_PROP(CborProperty, MutatedValidEncodingsNeverCrash, ()) {
  // Random bytes rarely get past the first head; mutate valid encodings so
  // the decoder's deeper paths see hostile input too.
  const Model m = *GenModel(0);
  std::vector<uint8_t> bytes = Encode(m);
  RC_PRE(!bytes.empty());
  const size_t n = *rc::gen::inRange<size_t>(1, 4);
  for (size_t k = 0; k < n; ++k) {
    const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    bytes[at] = *rc::gen::arbitrary<uint8_t>();
  }
  auto v = Decode(bytes);
  if (!v.ok()) RC_ASSERT(v.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace veil::cbor
