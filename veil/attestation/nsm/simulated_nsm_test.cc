// SimulatedNsm: PCR rules of the real NSM (brief 3.5) and documents with the
// structure and encoding of real ones (brief 1.6). Verification through
// AttestationVerifier is in attestation_verify_test.cc.
#include "veil/attestation/nsm/simulated_nsm.h"

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"

namespace veil::attestation::nsm {
namespace {

using internal::SslPtr;
using ::veil::testing::StatusIs;
using Type = cbor::Value::Type;

absl::Span<const uint8_t> View(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

ImageMeasurement Measure(const std::string& binary, const std::string& model,
                         const std::string& config) {
  const absl::Span<const uint8_t> parts[] = {View(binary), View(model), View(config)};
  absl::StatusOr<ImageMeasurement> m = MeasureImageParts(parts);
  EXPECT_TRUE(m.ok());
  return m.ok() ? *m : ImageMeasurement{};
}

std::shared_ptr<const SimulatorCa> SharedCa() {
  static const std::shared_ptr<const SimulatorCa> ca = [] {
    absl::StatusOr<std::unique_ptr<SimulatorCa>> c = SimulatorCa::Generate();
    VEIL_CHECK(c.ok());
    return std::shared_ptr<const SimulatorCa>(std::move(*c));
  }();
  return ca;
}

std::unique_ptr<NsmDevice> Boot(SimulatedNsmOptions options) {
  absl::StatusOr<std::unique_ptr<NsmDevice>> nsm = SimulatedNsm::Create(SharedCa(), std::move(options));
  EXPECT_TRUE(nsm.ok()) << nsm.status();
  return nsm.ok() ? std::move(*nsm) : nullptr;
}

SimulatedNsmOptions DefaultOptions() {
  SimulatedNsmOptions o;
  o.image = Measure("enclave", "model", "config");
  return o;
}

// ParsedDocument keeps the document bytes alive with the decoded payload.
struct ParsedDocument {
  std::vector<uint8_t> bytes;
  CoseSign1 cose;
  cbor::Value payload;
};

std::unique_ptr<ParsedDocument> Parse(std::vector<uint8_t> bytes) {
  auto doc = std::make_unique<ParsedDocument>();
  doc->bytes = std::move(bytes);
  absl::StatusOr<CoseSign1> cose = ParseCoseSign1(doc->bytes);
  EXPECT_TRUE(cose.ok()) << cose.status();
  if (!cose.ok()) return nullptr;
  doc->cose = *cose;
  absl::StatusOr<cbor::Value> payload = cbor::Decode(doc->cose.payload);
  EXPECT_TRUE(payload.ok()) << payload.status();
  if (!payload.ok()) return nullptr;
  doc->payload = std::move(*payload);
  return doc;
}

std::vector<uint8_t> Pcr(const cbor::Value& payload, uint64_t index) {
  for (const auto& [k, v] : payload.Find("pcrs")->map) {
    if (k.uint == index) return std::vector<uint8_t>(v.bytes.begin(), v.bytes.end());
  }
  return {};
}

TEST(SimulatedNsmTest, DocumentHasTheRealEnvelopeAndPayloadEncoding) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  ASSERT_NE(nsm, nullptr);
  EXPECT_EQ(nsm->Kind(), NsmKind::kSimulated);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes,
                            nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  // Brief 1.1 / 1.6: untagged array(4), protected 44 a1 01 38 22, empty
  // unprotected a0; payload map a9 whose first key is "module_id".
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(bytes).subspan(0, 7)), "8444a1013822a0");
  std::unique_ptr<ParsedDocument> doc = Parse(bytes);
  ASSERT_NE(doc, nullptr);
  EXPECT_FALSE(doc->cose.tagged);
  EXPECT_EQ(HexEncode(doc->cose.payload.subspan(0, 11)), "a9696d6f64756c655f6964");
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(bytes).subspan(bytes.size() - 98, 2)), "5860");

  const cbor::Value& p = doc->payload;
  ASSERT_EQ(p.type, Type::kMap);
  const char* keys[] = {"module_id", "digest",   "timestamp",  "pcrs", "certificate",
                        "cabundle",  "public_key", "user_data", "nonce"};
  ASSERT_EQ(p.map.size(), 9u);
  for (size_t i = 0; i < 9; ++i) EXPECT_EQ(p.map[i].first.text(), keys[i]);
  EXPECT_EQ(p.Find("digest")->text(), "SHA384");
  // timestamp: uint64 milliseconds, encoded with 1b like the real ones.
  EXPECT_EQ(p.Find("timestamp")->type, Type::kUnsigned);
  EXPECT_EQ(p.Find("timestamp")->encoded[0], 0x1b);
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  EXPECT_LE(static_cast<int64_t>(p.Find("timestamp")->uint), now_ms);
  EXPECT_GT(static_cast<int64_t>(p.Find("timestamp")->uint), now_ms - 60000);
  // pcrs: 0..15 ascending, 48-byte values (58 30).
  const cbor::Value* pcrs = p.Find("pcrs");
  ASSERT_EQ(pcrs->map.size(), 16u);
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(pcrs->map[i].first.type, Type::kUnsigned);
    EXPECT_EQ(pcrs->map[i].first.uint, i);
    EXPECT_EQ(pcrs->map[i].second.bytes.size(), 48u);
    EXPECT_EQ(pcrs->map[i].second.encoded[0], 0x58);
    EXPECT_EQ(pcrs->map[i].second.encoded[1], 0x30);
  }
  // certificate and a four-entry cabundle, each at most 1024 bytes.
  EXPECT_LE(p.Find("certificate")->bytes.size(), 1024u);
  const cbor::Value* bundle = p.Find("cabundle");
  ASSERT_EQ(bundle->items.size(), 4u);
  for (const cbor::Value& c : bundle->items) EXPECT_LE(c.bytes.size(), 1024u);
  EXPECT_EQ(std::vector<uint8_t>(bundle->items[0].bytes.begin(), bundle->items[0].bytes.end()),
            SharedCa()->RootDer());
  // Absent optionals are null (f6).
  for (const char* k : {"public_key", "user_data", "nonce"}) {
    EXPECT_TRUE(p.Find(k)->is_null()) << k;
  }
}

TEST(SimulatedNsmTest, SignatureVerifiesWithTheLeafAndBreaksOnAnyPayloadChange) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes,
                            nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  std::unique_ptr<ParsedDocument> doc = Parse(bytes);
  ASSERT_NE(doc, nullptr);
  const cbor::Value* cert = doc->payload.Find("certificate");
  const unsigned char* q = cert->bytes.data();
  SslPtr<X509> leaf(d2i_X509(nullptr, &q, static_cast<long>(cert->bytes.size())));
  ASSERT_NE(leaf, nullptr);
  VEIL_EXPECT_OK(VerifyCoseSign1(doc->cose, X509_get0_pubkey(leaf.get())));

  // Flip one byte of module_id inside the payload.
  std::vector<uint8_t> tampered = bytes;
  const size_t offset = static_cast<size_t>(doc->cose.payload.data() - doc->bytes.data()) + 12;
  tampered[offset] ^= 0x01;
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 t, ParseCoseSign1(tampered));
  EXPECT_THAT(VerifyCoseSign1(t, X509_get0_pubkey(leaf.get())),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(SimulatedNsmTest, NonceUserDataAndPublicKeyComeBackExactly) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  const std::vector<uint8_t> user_data = {'h', 'e', 'l', 'l', 'o', 0, 0xff};
  const std::vector<uint8_t> nonce(512, 0x5a);
  const std::vector<uint8_t> public_key(1024, 0x30);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes,
                            nsm->GetAttestationDocument(absl::MakeConstSpan(user_data),
                                                        absl::MakeConstSpan(nonce),
                                                        absl::MakeConstSpan(public_key)));
  std::unique_ptr<ParsedDocument> doc = Parse(bytes);
  ASSERT_NE(doc, nullptr);
  auto get = [&](const char* k) {
    const cbor::Value* v = doc->payload.Find(k);
    EXPECT_EQ(v->type, Type::kBytes) << k;
    return std::vector<uint8_t>(v->bytes.begin(), v->bytes.end());
  };
  EXPECT_EQ(get("user_data"), user_data);
  EXPECT_EQ(get("nonce"), nonce);
  EXPECT_EQ(get("public_key"), public_key);

  // Empty user_data is present and empty (40), as in doc4.
  const std::vector<uint8_t> empty;
  VEIL_ASSERT_OK_AND_ASSIGN(bytes, nsm->GetAttestationDocument(absl::MakeConstSpan(empty),
                                                               std::nullopt, std::nullopt));
  doc = Parse(bytes);
  EXPECT_EQ(doc->payload.Find("user_data")->type, Type::kBytes);
  EXPECT_TRUE(doc->payload.Find("user_data")->bytes.empty());
}

TEST(SimulatedNsmTest, OversizeFieldsAreRefused) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  const std::vector<uint8_t> big(513), huge(1025), empty;
  EXPECT_EQ(NsmErrorCodeOf(nsm->GetAttestationDocument(absl::MakeConstSpan(big), std::nullopt,
                                                       std::nullopt)
                               .status()),
            ErrorCode::kInputTooLarge);
  EXPECT_EQ(NsmErrorCodeOf(nsm->GetAttestationDocument(std::nullopt, absl::MakeConstSpan(big),
                                                       std::nullopt)
                               .status()),
            ErrorCode::kInputTooLarge);
  EXPECT_EQ(NsmErrorCodeOf(nsm->GetAttestationDocument(std::nullopt, std::nullopt,
                                                       absl::MakeConstSpan(huge))
                               .status()),
            ErrorCode::kInputTooLarge);
  EXPECT_EQ(NsmErrorCodeOf(nsm->GetAttestationDocument(std::nullopt, std::nullopt,
                                                       absl::MakeConstSpan(empty))
                               .status()),
            ErrorCode::kInvalidArgument);
}

TEST(SimulatedNsmTest, PcrsAreTheMeasurementAndPcr4MatchesTheModuleId) {
  SimulatedNsmOptions o = DefaultOptions();
  o.instance_id = "i-0bee92034f3d60691";
  o.role_arn = "arn:aws:iam::123456789012:role/veil-enclave";
  const ImageMeasurement image = o.image;
  std::unique_ptr<NsmDevice> nsm = Boot(std::move(o));
  VEIL_ASSERT_OK_AND_ASSIGN(NsmDescription d, nsm->DescribeNsm());
  // i-<17 hex>-enc<16 hex>
  ASSERT_EQ(d.module_id.size(), 39u);
  EXPECT_EQ(d.module_id.substr(0, 23), "i-0bee92034f3d60691-enc");
  EXPECT_EQ(d.max_pcrs, 32);
  EXPECT_EQ(d.digest, "SHA384");
  EXPECT_EQ(d.locked_pcrs.size(), 16u);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes,
                            nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  std::unique_ptr<ParsedDocument> doc = Parse(bytes);
  EXPECT_EQ(doc->payload.Find("module_id")->text(), d.module_id);
  EXPECT_EQ(Pcr(doc->payload, 0), std::vector<uint8_t>(image.pcr0.begin(), image.pcr0.end()));
  EXPECT_EQ(Pcr(doc->payload, 1), std::vector<uint8_t>(image.pcr1.begin(), image.pcr1.end()));
  EXPECT_EQ(Pcr(doc->payload, 2), std::vector<uint8_t>(image.pcr2.begin(), image.pcr2.end()));
  // Same PCR4 as the real doc1, whose parent instance this is.
  EXPECT_EQ(HexEncode(Pcr(doc->payload, 4)),
            "5ecf4fb14c100ccc62999e094c99819ce9e51dd7c9497602d1cdf68b98cba25c153406046d9f9096f9d05921"
            "1c7cbca3");
  const PcrValue pcr3 = MeasureRoleArn("arn:aws:iam::123456789012:role/veil-enclave");
  EXPECT_EQ(Pcr(doc->payload, 3), std::vector<uint8_t>(pcr3.begin(), pcr3.end()));
  EXPECT_EQ(Pcr(doc->payload, 8), std::vector<uint8_t>(48, 0));
}

TEST(SimulatedNsmTest, OneChangedModelByteChangesPcr0) {
  SimulatedNsmOptions a = DefaultOptions();
  SimulatedNsmOptions b = DefaultOptions();
  b.image = Measure("enclave", "modal", "config");
  std::unique_ptr<NsmDevice> nsm_a = Boot(std::move(a));
  std::unique_ptr<NsmDevice> nsm_b = Boot(std::move(b));
  VEIL_ASSERT_OK_AND_ASSIGN(auto doc_a, nsm_a->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  VEIL_ASSERT_OK_AND_ASSIGN(auto doc_b, nsm_b->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  std::unique_ptr<ParsedDocument> pa = Parse(doc_a), pb = Parse(doc_b);
  EXPECT_NE(Pcr(pa->payload, 0), Pcr(pb->payload, 0));
  EXPECT_NE(Pcr(pa->payload, 2), Pcr(pb->payload, 2));
  EXPECT_EQ(Pcr(pa->payload, 1), Pcr(pb->payload, 1));
}

TEST(SimulatedNsmTest, DebugModeZeroesImagePcrsOnly) {
  SimulatedNsmOptions o = DefaultOptions();
  o.debug = true;
  std::unique_ptr<NsmDevice> nsm = Boot(std::move(o));
  for (uint16_t i : {0, 1, 2, 8}) {
    VEIL_ASSERT_OK_AND_ASSIGN(PcrDescription d, nsm->DescribePcr(i));
    EXPECT_EQ(d.value, ZeroPcr()) << i;
    EXPECT_TRUE(d.locked);
  }
  VEIL_ASSERT_OK_AND_ASSIGN(PcrDescription pcr4, nsm->DescribePcr(4));
  EXPECT_NE(pcr4.value, ZeroPcr());
}

// Brief 3.5: PCR0..15 locked at boot; 16..31 extend until locked.
TEST(SimulatedNsmTest, PcrRulesMirrorTheNsm) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  EXPECT_EQ(NsmErrorCodeOf(nsm->ExtendPcr(0, abc).status()), ErrorCode::kReadOnlyIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->ExtendPcr(15, abc).status()), ErrorCode::kReadOnlyIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->LockPcr(3)), ErrorCode::kReadOnlyIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->ExtendPcr(32, abc).status()), ErrorCode::kInvalidIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->DescribePcr(32).status()), ErrorCode::kInvalidIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->LockPcr(32)), ErrorCode::kInvalidIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->LockPcrs(33)), ErrorCode::kInvalidIndex);

  VEIL_ASSERT_OK_AND_ASSIGN(PcrDescription before, nsm->DescribePcr(16));
  EXPECT_FALSE(before.locked);
  EXPECT_EQ(before.value, ZeroPcr());
  VEIL_ASSERT_OK_AND_ASSIGN(PcrValue extended, nsm->ExtendPcr(16, abc));
  EXPECT_EQ(HexEncode(extended),
            "b1c16eb7634112b7c9d5ebd27e62a2d4528bbfcfd68b62d3afd9ecf98e0f413a84314acce78317fb69fd895155"
            "343e09");
  VEIL_ASSERT_OK(nsm->LockPcr(16));
  EXPECT_EQ(NsmErrorCodeOf(nsm->ExtendPcr(16, abc).status()), ErrorCode::kReadOnlyIndex);
  EXPECT_EQ(NsmErrorCodeOf(nsm->LockPcr(16)), ErrorCode::kReadOnlyIndex);

  // Locked user PCRs appear in documents (17 entries, as doc4).
  VEIL_ASSERT_OK_AND_ASSIGN(auto bytes, nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  std::unique_ptr<ParsedDocument> doc = Parse(bytes);
  ASSERT_EQ(doc->payload.Find("pcrs")->map.size(), 17u);
  EXPECT_EQ(Pcr(doc->payload, 16), std::vector<uint8_t>(extended.begin(), extended.end()));

  VEIL_ASSERT_OK(nsm->LockPcrs(32));
  VEIL_ASSERT_OK_AND_ASSIGN(NsmDescription d, nsm->DescribeNsm());
  EXPECT_EQ(d.locked_pcrs.size(), 32u);
}

TEST(SimulatedNsmTest, GetRandomGives256FreshBytes) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> a, nsm->GetRandom());
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> b, nsm->GetRandom());
  EXPECT_EQ(a.size(), 256u);
  EXPECT_NE(a, b);
}

TEST(SimulatedNsmTest, ClockIsInjectable) {
  SimulatedNsmOptions o = DefaultOptions();
  const absl::Time fixed = absl::FromUnixMillis(1736179625472);
  o.clock = [fixed] { return fixed; };
  std::unique_ptr<NsmDevice> nsm = Boot(std::move(o));
  VEIL_ASSERT_OK_AND_ASSIGN(auto bytes, nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  std::unique_ptr<ParsedDocument> doc = Parse(bytes);
  EXPECT_EQ(doc->payload.Find("timestamp")->uint, 1736179625472u);
  // The enclave id carries the boot time in ms, like the real ones.
  EXPECT_EQ(std::string(doc->payload.Find("module_id")->text()).substr(23, 12), "01943c5eae00");
}

TEST(SimulatedNsmTest, ConcurrentUseIsSafe) {
  std::unique_ptr<NsmDevice> nsm = Boot(DefaultOptions());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&nsm, t] {
      const std::vector<uint8_t> data = {static_cast<uint8_t>(t)};
      for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(nsm->ExtendPcr(static_cast<uint16_t>(20 + t), data).ok());
        EXPECT_TRUE(nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt).ok());
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

TEST(SimulatedNsmTest, BadInstanceIdIsRefused) {
  SimulatedNsmOptions o = DefaultOptions();
  o.instance_id = "i-123";
  EXPECT_THAT(SimulatedNsm::Create(SharedCa(), std::move(o)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(SimulatedNsm::Create(nullptr, DefaultOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace veil::attestation::nsm
