#include "veil/attestation/cose_sign1.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/attestation/testing/nitro_fixtures.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::attestation {
namespace {

using internal::SslPtr;
using ::testing::HasSubstr;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Hex(std::string_view hex) { return HexDecode(hex).value(); }

SslPtr<EVP_PKEY> NewKey(const char* curve) { return SslPtr<EVP_PKEY>(EVP_EC_gen(curve)); }

SslPtr<EVP_PKEY> PublicKeyFromSpki(const std::vector<uint8_t>& spki) {
  const uint8_t* p = spki.data();
  return SslPtr<EVP_PKEY>(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
}

// RawSignature signs the Sig_structure over arbitrary protected bytes, for
// messages SignCoseSign1 would not produce.
std::vector<uint8_t> RawSignature(const std::vector<uint8_t>& protected_header,
                                  const std::vector<uint8_t>& payload, EVP_PKEY* key) {
  const std::vector<uint8_t> tbs = CoseSign1SigStructure(protected_header, payload);
  SslPtr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  size_t len = 0;
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &len, tbs.data(), tbs.size()), 1);
  std::vector<uint8_t> der(len);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), der.data(), &len, tbs.data(), tbs.size()), 1);
  const uint8_t* p = der.data();
  SslPtr<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  std::vector<uint8_t> raw(96);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 48, 48);
  return raw;
}

// Envelope assembles [protected, unprotected (raw CBOR), payload, signature].
std::vector<uint8_t> Envelope(const std::vector<uint8_t>& protected_header,
                              const std::vector<uint8_t>& unprotected_cbor,
                              const std::vector<uint8_t>& payload,
                              const std::vector<uint8_t>& signature) {
  cbor::Writer w;
  w.ArrayHeader(4);
  w.Bytes(protected_header);
  w.Raw(unprotected_cbor);
  w.Bytes(payload);
  w.Bytes(signature);
  return w.Release();
}

// ---------------------------------------------------------------------------
// Real documents (../shared/testdata/nitro).

TEST(CoseSign1Test, ParsesAndVerifiesRealDocuments) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(auto fixtures, testing::LoadNitroFixtures(shared));
  ASSERT_EQ(fixtures.size(), 4u);
  for (const auto& f : fixtures) {
    SCOPED_TRACE(f.file);
    const auto& e = f.expected;
    VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 msg, ParseCoseSign1(f.document));
    EXPECT_EQ(msg.tagged, e["cose_tagged"].get<bool>());
    EXPECT_EQ(HexEncode(msg.protected_header), e["protected_hex"].get<std::string>());
    EXPECT_EQ(msg.payload.size(), e["payload_len"].get<size_t>());
    EXPECT_EQ(HexEncode(msg.signature), e["signature_raw_rs_hex"].get<std::string>());

    const std::vector<uint8_t> tbs = CoseSign1SigStructure(msg.protected_header, msg.payload);
    EXPECT_EQ(tbs.size(), e["sig_structure_len"].get<size_t>());
    const std::string prefix = e["sig_structure_prefix_hex"].get<std::string>();
    EXPECT_EQ(HexEncode(absl::MakeConstSpan(tbs).first(prefix.size() / 2)), prefix);
    EXPECT_EQ(HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha384, tbs)),
              e["sig_structure_sha384"].get<std::string>());

    auto leaf_key = PublicKeyFromSpki(Hex(e["leaf_spki_der_hex"].get<std::string>()));
    ASSERT_NE(leaf_key, nullptr);
    EXPECT_THAT(VerifyCoseSign1(msg, leaf_key.get()), IsOk());

    // The same document with tag 18 in front is the same message.
    std::vector<uint8_t> tagged = {0xd2};
    tagged.insert(tagged.end(), f.document.begin(), f.document.end());
    VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 tmsg, ParseCoseSign1(tagged));
    EXPECT_TRUE(tmsg.tagged);
    EXPECT_THAT(VerifyCoseSign1(tmsg, leaf_key.get()), IsOk());

    // Another P-384 key does not verify it.
    auto other = NewKey("P-384");
    EXPECT_THAT(VerifyCoseSign1(msg, other.get()),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
}

TEST(CoseSign1Test, RealDocumentWithFlippedPayloadByteFails) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(auto fixtures, testing::LoadNitroFixtures(shared));
  auto doc = fixtures[0].document;
  // Byte 30 is inside module_id (the brief's negative check).
  doc[30] ^= 0x01;
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 msg, ParseCoseSign1(doc));
  auto leaf_key =
      PublicKeyFromSpki(Hex(fixtures[0].expected["leaf_spki_der_hex"].get<std::string>()));
  auto status = VerifyCoseSign1(msg, leaf_key.get());
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(status.message(), "cose_sign1: signature does not verify");
}

// ---------------------------------------------------------------------------
// SignCoseSign1.

TEST(CoseSign1Test, SignProducesTheRealDocumentForm) {
  auto key = NewKey("P-384");
  const std::vector<uint8_t> payload = Hex("a1616101");  // {"a": 1}
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> msg, SignCoseSign1(payload, key.get()));
  // 84 44 a1 01 38 22 a0 44 <payload> 58 60 <96 bytes>
  ASSERT_EQ(msg.size(), 7u + 1 + payload.size() + 2 + 96);
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(msg).first(12)), "8444a1013822a044a1616101");
  EXPECT_EQ(msg[12], 0x58);
  EXPECT_EQ(msg[13], 0x60);

  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed, ParseCoseSign1(msg));
  EXPECT_FALSE(parsed.tagged);
  EXPECT_EQ(HexEncode(parsed.payload), "a1616101");
  EXPECT_THAT(VerifyCoseSign1(parsed, key.get()), IsOk());
  auto other = NewKey("P-384");
  EXPECT_THAT(VerifyCoseSign1(parsed, other.get()), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(CoseSign1Test, SignKeepsLargePayloadsByteExact) {
  auto key = NewKey("P-384");
  std::vector<uint8_t> payload(4673, 0x40);  // a doc-sized payload
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> msg, SignCoseSign1(payload, key.get()));
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(msg).first(10)), "8444a1013822a0591241");
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed, ParseCoseSign1(msg));
  EXPECT_THAT(VerifyCoseSign1(parsed, key.get()), IsOk());
}

TEST(CoseSign1Test, SignRefusesKeysOtherThanP384) {
  auto p256 = NewKey("P-256");
  EXPECT_THAT(SignCoseSign1(Hex("a0"), p256.get()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  SslPtr<EVP_PKEY> ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_THAT(SignCoseSign1(Hex("a0"), ed.get()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SignCoseSign1(Hex("a0"), nullptr), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CoseSign1Test, VerifyRefusesKeysOtherThanP384) {
  auto key = NewKey("P-384");
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> msg, SignCoseSign1(Hex("a0"), key.get()));
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed, ParseCoseSign1(msg));
  auto p256 = NewKey("P-256");
  EXPECT_THAT(VerifyCoseSign1(parsed, p256.get()), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CoseSign1Test, EverySignatureBitFlipFails) {
  auto key = NewKey("P-384");
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> msg, SignCoseSign1(Hex("a0"), key.get()));
  const size_t sig_at = msg.size() - 96;
  for (size_t i = sig_at; i < msg.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> m = msg;
      m[i] ^= static_cast<uint8_t>(1 << bit);
      VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed, ParseCoseSign1(m));
      EXPECT_THAT(VerifyCoseSign1(parsed, key.get()),
                  StatusIs(absl::StatusCode::kUnauthenticated))
          << i << ":" << bit;
    }
  }
}

TEST(CoseSign1Test, ZeroAndOversizedScalarsFail) {
  auto key = NewKey("P-384");
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> msg, SignCoseSign1(Hex("a0"), key.get()));
  for (uint8_t fill : {0x00, 0xff}) {
    std::vector<uint8_t> m = msg;
    std::fill(m.end() - 96, m.end(), fill);
    VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed, ParseCoseSign1(m));
    EXPECT_THAT(VerifyCoseSign1(parsed, key.get()), StatusIs(absl::StatusCode::kUnauthenticated));
  }
}

TEST(CoseSign1Test, VerifiesOverProtectedBytesAsReceived) {
  // {1: -35} with -35 in a non-preferred two-byte head: valid, and the
  // signature covers these exact bytes, not a re-encoding.
  auto key = NewKey("P-384");
  const auto protected_header = Hex("a10139" "0022");
  const auto payload = Hex("bf6161f5ff");  // an indefinite map, kept as is
  const auto sig = RawSignature(protected_header, payload, key.get());
  const auto msg = Envelope(protected_header, Hex("a0"), payload, sig);
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed, ParseCoseSign1(msg));
  EXPECT_EQ(HexEncode(parsed.protected_header), "a101390022");
  EXPECT_THAT(VerifyCoseSign1(parsed, key.get()), IsOk());
  // Signed over the preferred encoding instead: does not verify.
  const auto sig2 = RawSignature(Hex("a1013822"), payload, key.get());
  const auto msg2 = Envelope(protected_header, Hex("a0"), payload, sig2);
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 parsed2, ParseCoseSign1(msg2));
  EXPECT_THAT(VerifyCoseSign1(parsed2, key.get()), StatusIs(absl::StatusCode::kUnauthenticated));
}

// ---------------------------------------------------------------------------
// Shape rejections.

void ExpectMalformed(const std::vector<uint8_t>& msg, std::string_view message_part) {
  auto parsed = ParseCoseSign1(msg);
  ASSERT_THAT(parsed, StatusIs(absl::StatusCode::kInvalidArgument)) << HexEncode(msg);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(std::string(message_part)));
}

TEST(CoseSign1Test, RejectsMalformedEnvelopes) {
  const std::vector<uint8_t> sig(96, 0x01);
  const auto es384 = Hex("a1013822");
  const auto payload = Hex("a0");
  // Sanity: the base shape parses.
  ASSERT_THAT(ParseCoseSign1(Envelope(es384, Hex("a0"), payload, sig)), IsOk());

  ExpectMalformed(Hex(""), "truncated");
  ExpectMalformed(Hex("a0"), "not an array of 4");
  ExpectMalformed(Hex("83404040"), "not an array of 4");
  ExpectMalformed(Hex("d1" "8444a1013822a040" "40"), "tag 17 is not COSE_Sign1");
  // Tag 18 around something that is not an array.
  ExpectMalformed(Hex("d240"), "not an array of 4");
  // Trailing byte after the message.
  auto trailing = Envelope(es384, Hex("a0"), payload, sig);
  trailing.push_back(0x00);
  ExpectMalformed(trailing, "trailing");

  // Protected header.
  cbor::Writer not_bstr;
  not_bstr.ArrayHeader(4);
  not_bstr.MapHeader(0);
  not_bstr.MapHeader(0);
  not_bstr.Bytes(payload);
  not_bstr.Bytes(sig);
  ExpectMalformed(not_bstr.Release(), "protected header is not a byte string");
  ExpectMalformed(Envelope(Hex(""), Hex("a0"), payload, sig), "protected header: cbor");
  ExpectMalformed(Envelope(Hex("80"), Hex("a0"), payload, sig), "protected header is not a map");
  ExpectMalformed(Envelope(Hex("a0"), Hex("a0"), payload, sig), "no alg");
  ExpectMalformed(Envelope(Hex("a10126"), Hex("a0"), payload, sig), "alg -7 is not ES384");
  ExpectMalformed(Envelope(Hex("a101654553333834"), Hex("a0"), payload, sig),
                  "alg is not an integer");
  ExpectMalformed(Envelope(Hex("a20138220281182a"), Hex("a0"), payload, sig), "crit");
  ExpectMalformed(Envelope(Hex("a2013822180126"), Hex("a0"), payload, sig), "alg twice");
  ExpectMalformed(Envelope(Hex("a1013822ff"), Hex("a0"), payload, sig), "trailing");

  // Unprotected header.
  ExpectMalformed(Envelope(es384, Hex("40"), payload, sig), "unprotected header is not a map");
  ExpectMalformed(Envelope(es384, Hex("a10442aabb"), payload, sig),
                  "unprotected header is not empty");

  // Payload: detached (nil) or not a byte string.
  cbor::Writer detached;
  detached.ArrayHeader(4);
  detached.Bytes(es384);
  detached.MapHeader(0);
  detached.Null();
  detached.Bytes(sig);
  ExpectMalformed(detached.Release(), "payload is not a byte string");

  // Signature.
  ExpectMalformed(Envelope(es384, Hex("a0"), payload, std::vector<uint8_t>(95, 1)),
                  "signature is 95 bytes, expected 96");
  ExpectMalformed(Envelope(es384, Hex("a0"), payload, std::vector<uint8_t>(97, 1)),
                  "signature is 97 bytes");
  cbor::Writer text_sig;
  text_sig.ArrayHeader(4);
  text_sig.Bytes(es384);
  text_sig.MapHeader(0);
  text_sig.Bytes(payload);
  text_sig.Text(std::string(96, 'a'));
  ExpectMalformed(text_sig.Release(), "signature is not a byte string");
}

}  // namespace
}  // namespace veil::attestation
