#include "veil/attestation/attestation_document.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/testing/nitro_fixtures.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::attestation {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Hex(std::string_view hex) { return HexDecode(hex).value(); }

TEST(AttestationDocumentTest, ParsesTheRealPayloads) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(auto fixtures, testing::LoadNitroFixtures(shared));
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.file);
    const auto& e = f.expected;
    VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 cose, ParseCoseSign1(f.document));
    VEIL_ASSERT_OK_AND_ASSIGN(AttestationDocument doc, ParseAttestationDocument(cose.payload));
    EXPECT_EQ(doc.module_id, e["module_id"].get<std::string>());
    EXPECT_EQ(doc.digest, "SHA384");
    EXPECT_EQ(doc.timestamp_ms, e["timestamp_ms"].get<uint64_t>());
    EXPECT_EQ(doc.pcrs.size(), e["pcr_count"].get<size_t>());
    EXPECT_EQ(HexEncode(doc.pcrs.at(0)), e["pcrs"]["0"].get<std::string>());
    EXPECT_EQ(doc.cabundle.size(), 4u);
    EXPECT_GT(doc.certificate.size(), 600u);
    EXPECT_EQ(doc.public_key.has_value(), !e["public_key_hex"].is_null());
    EXPECT_EQ(doc.user_data.has_value(), !e["user_data_hex"].is_null());
    EXPECT_EQ(doc.nonce.has_value(), !e["nonce_hex"].is_null());
  }
}

// Entries is a payload as a list of (key, encoded value), so tests can add,
// drop, repeat and retype keys.
using Entries = std::vector<std::pair<std::string, std::vector<uint8_t>>>;

std::vector<uint8_t> Encoded(void (*fn)(cbor::Writer&)) {
  cbor::Writer w;
  fn(w);
  return w.Release();
}

std::vector<uint8_t> BytesOf(size_t n) {
  cbor::Writer w;
  w.Bytes(std::vector<uint8_t>(n, 0x5a));
  return w.Release();
}

std::vector<uint8_t> PcrMap(size_t count, size_t size) {
  cbor::Writer w;
  w.MapHeader(count);
  for (size_t i = 0; i < count; ++i) {
    w.Unsigned(i);
    w.Bytes(std::vector<uint8_t>(size, static_cast<uint8_t>(i + 1)));
  }
  return w.Release();
}

std::vector<uint8_t> Cabundle(size_t count, size_t size) {
  cbor::Writer w;
  w.ArrayHeader(count);
  for (size_t i = 0; i < count; ++i) w.Bytes(std::vector<uint8_t>(size, 0x30));
  return w.Release();
}

Entries Valid() {
  return {
      {"module_id", Encoded([](cbor::Writer& w) { w.Text("i-0123456789abcdef0-enc01"); })},
      {"digest", Encoded([](cbor::Writer& w) { w.Text("SHA384"); })},
      {"timestamp", Hex("1b00000194e0bb4f00")},
      {"pcrs", PcrMap(16, 48)},
      {"certificate", BytesOf(640)},
      {"cabundle", Cabundle(4, 600)},
      {"public_key", Hex("f6")},
      {"user_data", Hex("f6")},
      {"nonce", Hex("f6")},
  };
}

std::vector<uint8_t> Encode(const Entries& entries, bool indefinite = false) {
  cbor::Writer w;
  if (indefinite) {
    w.Raw(Hex("bf"));
  } else {
    w.MapHeader(entries.size());
  }
  for (const auto& [k, v] : entries) {
    w.Text(k);
    w.Raw(v);
  }
  if (indefinite) w.Raw(Hex("ff"));
  return w.Release();
}

Entries With(std::string_view key, std::vector<uint8_t> value) {
  Entries e = Valid();
  for (auto& [k, v] : e) {
    if (k == key) v = std::move(value);
  }
  return e;
}

void ExpectRejected(const std::vector<uint8_t>& payload, std::string_view message_part) {
  auto doc = ParseAttestationDocument(payload);
  ASSERT_THAT(doc, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(doc.status().message()), HasSubstr(std::string(message_part)));
}

TEST(AttestationDocumentTest, AcceptsTheValidShapeInAnyOrderAndEitherLength) {
  const auto payload = Encode(Valid());
  VEIL_ASSERT_OK_AND_ASSIGN(AttestationDocument doc, ParseAttestationDocument(payload));
  EXPECT_EQ(doc.module_id, "i-0123456789abcdef0-enc01");
  EXPECT_EQ(doc.timestamp_ms, 0x194e0bb4f00u);
  EXPECT_EQ(doc.pcrs.size(), 16u);
  EXPECT_FALSE(doc.public_key.has_value());
  EXPECT_THAT(ParseAttestationDocument(Encode(Valid(), /*indefinite=*/true)), IsOk());
  Entries reversed = Valid();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_THAT(ParseAttestationDocument(Encode(reversed)), IsOk());
}

TEST(AttestationDocumentTest, NullIsAbsentAndEmptyIsPresent) {
  Entries e = Valid();
  e[7].second = Hex("40");  // user_data: empty, as in doc4
  e[8].second = BytesOf(512);
  e[6].second = BytesOf(1024);
  const auto payload = Encode(e);
  VEIL_ASSERT_OK_AND_ASSIGN(AttestationDocument doc, ParseAttestationDocument(payload));
  ASSERT_TRUE(doc.user_data.has_value());
  EXPECT_TRUE(doc.user_data->empty());
  EXPECT_EQ(doc.nonce->size(), 512u);
  EXPECT_EQ(doc.public_key->size(), 1024u);
}

TEST(AttestationDocumentTest, RejectsUnknownMissingAndDuplicateKeys) {
  Entries extra = Valid();
  extra.emplace_back("extra", Hex("f6"));
  ExpectRejected(Encode(extra), "unknown key \"extra\"");
  for (size_t i = 0; i < 9; ++i) {
    Entries missing = Valid();
    const std::string key = missing[i].first;
    missing.erase(missing.begin() + static_cast<long>(i));
    ExpectRejected(Encode(missing), key + " is missing");
  }
  // The same key twice, the second with a non-preferred length head so the
  // CBOR decoder's byte-wise check does not catch it.
  cbor::Writer w;
  w.MapHeader(10);
  for (const auto& [k, v] : Valid()) {
    w.Text(k);
    w.Raw(v);
  }
  w.Raw(Hex("7806" "646967657374"));  // "digest" with a 1-byte length
  w.Text("SHA384");
  ExpectRejected(w.Release(), "digest appears twice");
  // A key that is not text.
  cbor::Writer k;
  k.MapHeader(1);
  k.Unsigned(1);
  k.Unsigned(2);
  ExpectRejected(k.Release(), "a key is not a text string");
  // Untrusted key text is escaped and cut short in the message.
  Entries hostile = Valid();
  hostile.emplace_back(std::string(100, 'x') + "\n", Hex("f6"));
  auto r = ParseAttestationDocument(Encode(hostile));
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 150u);
  EXPECT_THAT(std::string(r.status().message()), ::testing::Not(HasSubstr("\n")));
}

TEST(AttestationDocumentTest, RejectsPayloadsThatAreNotMaps) {
  ExpectRejected(Hex("80"), "payload is not a map");
  ExpectRejected(Hex(""), "truncated");
  ExpectRejected(Hex("a0"), "module_id is missing");
  ExpectRejected(Hex("a000"), "trailing");
}

TEST(AttestationDocumentTest, FieldRules) {
  struct Case {
    const char* key;
    std::vector<uint8_t> value;
    const char* message;
  };
  const Case cases[] = {
      {"module_id", Hex("60"), "module_id is empty"},
      {"module_id", Hex("4161"), "module_id is not a text string"},
      {"digest", Encoded([](cbor::Writer& w) { w.Text("SHA256"); }),
       "digest is \"SHA256\", expected \"SHA384\""},
      {"digest", Hex("f6"), "digest is not a text string"},
      {"timestamp", Hex("00"), "timestamp 0 is out of range"},
      {"timestamp", Hex("20"), "timestamp is not an unsigned integer"},
      {"timestamp", Hex("1b8000000000000000"), "out of range"},
      {"timestamp", Hex("f6"), "timestamp is not an unsigned integer"},
      {"pcrs", Hex("a0"), "pcrs has 0 entries, allowed 1..32"},
      {"pcrs", PcrMap(33, 48), "pcrs has 33 entries, allowed 1..32"},
      {"pcrs", Hex("a1" "1820" "4100"), "pcrs index is not an integer in 0..31"},
      {"pcrs", Hex("a1" "20" "4100"), "pcrs index is not an integer in 0..31"},
      {"pcrs", PcrMap(1, 47), "value of PCR0 is 47 bytes, allowed 32, 48 or 64"},
      {"pcrs", PcrMap(1, 0), "value of PCR0 is 0 bytes"},
      {"pcrs", Hex("a1" "00" "f6"), "value of PCR0 is not a byte string"},
      {"pcrs", Hex("80"), "pcrs is not a map"},
      {"certificate", BytesOf(0), "certificate is 0 bytes, allowed 1..1024"},
      {"certificate", BytesOf(1025), "certificate is 1025 bytes"},
      {"certificate", Hex("f6"), "certificate is not a byte string"},
      {"cabundle", Hex("80"), "cabundle has 0 entries, allowed 1..16"},
      {"cabundle", Cabundle(17, 10), "cabundle has 17 entries"},
      {"cabundle", Cabundle(2, 0), "cabundle[0] is 0 bytes"},
      {"cabundle", Cabundle(2, 1025), "cabundle[0] is 1025 bytes"},
      {"cabundle", Hex("40"), "cabundle is not an array"},
      {"public_key", BytesOf(0), "public_key is 0 bytes, allowed 1..1024"},
      {"public_key", BytesOf(1025), "public_key is 1025 bytes"},
      {"public_key", Hex("6161"), "public_key is not a byte string"},
      {"user_data", BytesOf(513), "user_data is 513 bytes, allowed 0..512"},
      {"user_data", Hex("f7"), "user_data is not a byte string"},
      {"nonce", BytesOf(513), "nonce is 513 bytes, allowed 0..512"},
      {"nonce", Hex("80"), "nonce is not a byte string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.key) + ": " + c.message);
    ExpectRejected(Encode(With(c.key, c.value)), c.message);
  }
  // 32, 48 and 64-byte PCR values are all allowed, and 32 PCRs.
  for (size_t size : {32u, 48u, 64u}) {
    EXPECT_THAT(ParseAttestationDocument(Encode(With("pcrs", PcrMap(32, size)))), IsOk());
  }
  // A PCR index twice, once with a non-preferred head.
  const std::string zeros(64, '0');
  ExpectRejected(Encode(With("pcrs", Hex("a2" "01" "5820" + zeros + "1801" "5820" + zeros))),
                 "has PCR1 twice");
}

}  // namespace
}  // namespace veil::attestation
