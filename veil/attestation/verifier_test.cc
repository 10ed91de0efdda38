#include "veil/attestation/verifier.h"

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/attestation/mock_root.h"
#include "veil/attestation/testing/nitro_fixtures.h"
#include "veil/attestation/testing/test_pki.h"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"
#include "veil/testing/testdata.h"

namespace veil::attestation {
namespace {

using ::testing::HasSubstr;
using ::veil::attestation::testing::LoadAwsNitroRootDer;
using ::veil::attestation::testing::LoadNitroFixtures;
using ::veil::attestation::testing::NitroFixture;
using ::veil::attestation::testing::PayloadFields;
using ::veil::attestation::testing::TestPki;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

std::vector<uint8_t> Hex(std::string_view hex) { return HexDecode(hex).value(); }

absl::Time ParseRfc3339(const std::string& s) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, s, &t, &err)) << s << ": " << err;
  return t;
}

std::unique_ptr<AttestationVerifier> Verifier(Tier tier, std::vector<std::vector<uint8_t>> roots,
                                              size_t cache = 256) {
  VerifierConfig config;
  config.tier = tier;
  config.roots = std::move(roots);
  config.chain_cache_capacity = cache;
  auto v = AttestationVerifier::Create(std::move(config));
  EXPECT_THAT(v, IsOk());
  return v.ok() ? *std::move(v) : nullptr;
}

VerifyPolicy AtMillis(int64_t ms) {
  VerifyPolicy p;
  p.at = absl::FromUnixMillis(ms);
  return p;
}

void ExpectFailure(const absl::StatusOr<VerifiedDocument>& result, absl::StatusCode code,
                   std::string_view message_part) {
  ASSERT_THAT(result, StatusIs(code));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(std::string(message_part)));
}

// The real documents and a production verifier over the AWS root, loaded
// once per test.
class RealDocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VEIL_REQUIRE_SHARED(shared);
    VEIL_ASSERT_OK_AND_ASSIGN(fixtures_, LoadNitroFixtures(shared));
    ASSERT_EQ(fixtures_.size(), 4u);
    VEIL_ASSERT_OK_AND_ASSIGN(aws_root_, LoadAwsNitroRootDer(shared));
    verifier_ = Verifier(Tier::kProduction, {aws_root_});
    ASSERT_NE(verifier_, nullptr);
  }

  const NitroFixture& Doc(int i) const { return fixtures_[static_cast<size_t>(i)]; }
  VerifyPolicy AtOwnTime(int i) const {
    VerifyPolicy p = AtMillis(Doc(i).timestamp_ms);
    p.allow_debug = Doc(i).expected["debug_mode_pcr012_zero"].get<bool>();
    return p;
  }

  std::vector<NitroFixture> fixtures_;
  std::vector<uint8_t> aws_root_;
  std::unique_ptr<AttestationVerifier> verifier_;
};

void ExpectOptionalHex(const std::optional<std::vector<uint8_t>>& got, const nlohmann::json& want,
                       const char* what) {
  if (want.is_null()) {
    EXPECT_FALSE(got.has_value()) << what;
  } else {
    ASSERT_TRUE(got.has_value()) << what;
    EXPECT_EQ(HexEncode(*got), want.get<std::string>()) << what;
  }
}

TEST_F(RealDocumentsTest, VerifyAtTheirOwnTimestamps) {
  for (int i = 0; i < 4; ++i) {
    const auto& e = Doc(i).expected;
    SCOPED_TRACE(Doc(i).file);
    VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, verifier_->Verify(Doc(i).document, AtOwnTime(i)));
    EXPECT_EQ(v.module_id, e["module_id"].get<std::string>());
    EXPECT_EQ(v.timestamp_ms, e["timestamp_ms"].get<int64_t>());
    EXPECT_EQ(v.timestamp, ParseRfc3339(e["timestamp_utc"].get<std::string>()));
    EXPECT_EQ(v.digest, e["digest"].get<std::string>());
    ASSERT_EQ(v.pcrs.size(), e["pcr_count"].get<size_t>());
    ASSERT_EQ(e["pcrs"].size(), v.pcrs.size());
    for (const auto& [index, hex] : e["pcrs"].items()) {
      const int idx = std::stoi(index);
      ASSERT_EQ(v.pcrs.count(idx), 1u) << "PCR" << idx;
      EXPECT_EQ(HexEncode(v.pcrs.at(idx)), hex.get<std::string>()) << "PCR" << idx;
    }
    ExpectOptionalHex(v.public_key, e["public_key_hex"], "public_key");
    ExpectOptionalHex(v.user_data, e["user_data_hex"], "user_data");
    ExpectOptionalHex(v.nonce, e["nonce_hex"], "nonce");
    EXPECT_EQ(v.debug, e["debug_mode_pcr012_zero"].get<bool>());
    EXPECT_FALSE(v.mock);
    EXPECT_EQ(v.root_sha256_hex, kAwsNitroRootG1Sha256Hex);
    EXPECT_EQ(v.leaf_validity.not_before, ParseRfc3339(e["leaf_not_before"].get<std::string>()));
    EXPECT_EQ(v.leaf_validity.not_after, ParseRfc3339(e["leaf_not_after"].get<std::string>()));
  }
}

TEST_F(RealDocumentsTest, VerifyWithAnInjectedClock) {
  VerifierConfig config;
  config.roots = {aws_root_};
  config.clock = std::make_shared<FixedClock>(absl::FromUnixMillis(Doc(0).timestamp_ms));
  VEIL_ASSERT_OK_AND_ASSIGN(auto verifier, AttestationVerifier::Create(std::move(config)));
  EXPECT_THAT(verifier->Verify(Doc(0).document, VerifyPolicy()), IsOk());
}

TEST_F(RealDocumentsTest, FailAtTodaysDate) {
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(Doc(i).file);
    VerifyPolicy p = AtOwnTime(i);
    p.at = absl::Now();
    ExpectFailure(verifier_->Verify(Doc(i).document, p), absl::StatusCode::kUnauthenticated,
                  "certificate chain: certificate has expired");
    // And with the default (system) clock.
    p.at.reset();
    ExpectFailure(verifier_->Verify(Doc(i).document, p), absl::StatusCode::kUnauthenticated,
                  "certificate has expired");
  }
}

TEST_F(RealDocumentsTest, FailFourHoursLaterAndBeforeTheLeaf) {
  VerifyPolicy later = AtMillis(Doc(0).timestamp_ms + 4 * 3600 * 1000);
  ExpectFailure(verifier_->Verify(Doc(0).document, later), absl::StatusCode::kUnauthenticated,
                "certificate has expired (leaf) at 2025-01-06T20:07:05Z");
  VerifyPolicy earlier = AtMillis(Doc(0).timestamp_ms - 60 * 1000);
  ExpectFailure(verifier_->Verify(Doc(0).document, earlier), absl::StatusCode::kUnauthenticated,
                "certificate is not yet valid (leaf)");
}

TEST_F(RealDocumentsTest, FailWithADifferentRoot) {
  // A throwaway P-384 self-signed root, pinned in the simulated tier.
  VEIL_ASSERT_OK_AND_ASSIGN(auto pki, TestPki::Create({}));
  auto other = Verifier(Tier::kSimulated, {pki->root_der()});
  for (int i = 0; i < 4; ++i) {
    ExpectFailure(other->Verify(Doc(i).document, AtOwnTime(i)),
                  absl::StatusCode::kUnauthenticated,
                  absl::StrCat("root: cabundle[0] (sha256 ", kAwsNitroRootG1Sha256Hex,
                               ") is not a pinned root"));
  }
}

TEST_F(RealDocumentsTest, TaggedFormVerifies) {
  std::vector<uint8_t> tagged = {0xd2};
  tagged.insert(tagged.end(), Doc(0).document.begin(), Doc(0).document.end());
  EXPECT_THAT(verifier_->Verify(tagged, AtOwnTime(0)), IsOk());
}

TEST_F(RealDocumentsTest, EveryByteOfDoc1XoredIsRejected) {
  const std::vector<uint8_t>& doc = Doc(0).document;
  const VerifyPolicy p = AtOwnTime(0);
  ASSERT_THAT(verifier_->Verify(doc, p), IsOk());
  int invalid = 0, unauthenticated = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    std::vector<uint8_t> m = doc;
    m[i] ^= 0x01;
    auto r = verifier_->Verify(m, p);
    ASSERT_FALSE(r.ok()) << "offset " << i << " accepted";
    EXPECT_NE(r.status().code(), absl::StatusCode::kPermissionDenied) << "offset " << i;
    invalid += r.status().code() == absl::StatusCode::kInvalidArgument;
    unauthenticated += r.status().code() == absl::StatusCode::kUnauthenticated;
  }
  // Most flips land in signed bytes and break the signature or the chain;
  // the rest break the encoding.
  EXPECT_GT(unauthenticated, static_cast<int>(doc.size()) * 3 / 4);
  EXPECT_GT(invalid, 0);
  EXPECT_EQ(invalid + unauthenticated, static_cast<int>(doc.size()));
}

TEST_F(RealDocumentsTest, SampledBitFlipsInTheOtherDocumentsAreRejected) {
  std::mt19937 rng(20250106);
  for (int d = 1; d < 4; ++d) {
    SCOPED_TRACE(Doc(d).file);
    const std::vector<uint8_t>& doc = Doc(d).document;
    const VerifyPolicy p = AtOwnTime(d);
    ASSERT_THAT(verifier_->Verify(doc, p), IsOk());
    std::uniform_int_distribution<size_t> offset(0, doc.size() - 1);
    std::uniform_int_distribution<int> bit(0, 7);
    for (int k = 0; k < 400; ++k) {
      std::vector<uint8_t> m = doc;
      const size_t at = offset(rng);
      const int b = bit(rng);
      m[at] ^= static_cast<uint8_t>(1 << b);
      EXPECT_FALSE(verifier_->Verify(m, p).ok()) << "offset " << at << " bit " << b;
    }
  }
}

TEST_F(RealDocumentsTest, EveryTruncationAndAppendIsRejected) {
  const VerifyPolicy p = AtOwnTime(0);
  ::veil::testing::ForEachTruncation(Doc(0).document, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(verifier_->Verify(m.bytes, p), StatusIs(absl::StatusCode::kInvalidArgument))
        << m.what;
  });
  ::veil::testing::ForEachAppend(Doc(0).document, [&](const ::veil::testing::Mutation& m) {
    EXPECT_THAT(verifier_->Verify(m.bytes, p), StatusIs(absl::StatusCode::kInvalidArgument))
        << m.what;
  });
}

TEST_F(RealDocumentsTest, DebugDocumentRefusedUnlessAllowed) {
  VerifyPolicy p = AtOwnTime(2);
  ASSERT_TRUE(p.allow_debug);  // doc3 is the debug document
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, verifier_->Verify(Doc(2).document, p));
  EXPECT_TRUE(v.debug);
  EXPECT_EQ(std::string(v.public_key->begin(), v.public_key->end()), "my super secret key");
  EXPECT_EQ(std::string(v.user_data->begin(), v.user_data->end()), "hello, world!");
  p.allow_debug = false;
  ExpectFailure(verifier_->Verify(Doc(2).document, p), absl::StatusCode::kPermissionDenied,
                "debug: the enclave runs in debug mode");
  // Production documents are not debug.
  for (int i : {0, 1, 3}) {
    VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument pv, verifier_->Verify(Doc(i).document, AtOwnTime(i)));
    EXPECT_FALSE(pv.debug);
  }
}

TEST_F(RealDocumentsTest, IndefiniteLengthPayloadOfDoc4) {
  ASSERT_EQ(Doc(3).expected["payload_first_byte"].get<std::string>(), "bf");
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, verifier_->Verify(Doc(3).document, AtOwnTime(3)));
  EXPECT_EQ(v.pcrs.size(), 17u);
  EXPECT_EQ(HexEncode(v.pcrs.at(16)), Doc(3).expected["pcrs"]["16"].get<std::string>());
  ASSERT_TRUE(v.user_data.has_value());
  EXPECT_TRUE(v.user_data->empty());  // present but empty (40), not null
  EXPECT_EQ(v.public_key->size(), 32u);
}

TEST_F(RealDocumentsTest, SecondVerificationHitsTheChainCache) {
  auto verifier = Verifier(Tier::kProduction, {aws_root_});
  EXPECT_EQ(verifier->chain_cache_stats().entries, 0u);
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument first, verifier->Verify(Doc(0).document, AtOwnTime(0)));
  ChainCacheStats stats = verifier->chain_cache_stats();
  EXPECT_EQ(stats.hits, 0u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.entries, 4u);  // three intermediates and the leaf
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument second,
                            verifier->Verify(Doc(0).document, AtOwnTime(0)));
  stats = verifier->chain_cache_stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.leaf_hits, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(second.module_id, first.module_id);
  EXPECT_EQ(second.timestamp_ms, first.timestamp_ms);
  EXPECT_EQ(second.pcrs, first.pcrs);
  EXPECT_EQ(second.public_key, first.public_key);
  EXPECT_EQ(second.leaf_validity.not_before, first.leaf_validity.not_before);
  EXPECT_EQ(second.leaf_validity.not_after, first.leaf_validity.not_after);
}

TEST_F(RealDocumentsTest, CachedChainStillChecksValidityAtTheVerificationTime) {
  auto verifier = Verifier(Tier::kProduction, {aws_root_});
  ASSERT_THAT(verifier->Verify(Doc(0).document, AtOwnTime(0)), IsOk());
  VerifyPolicy later = AtMillis(Doc(0).timestamp_ms + 4 * 3600 * 1000);
  ExpectFailure(verifier->Verify(Doc(0).document, later), absl::StatusCode::kUnauthenticated,
                "certificate chain: certificate has expired (leaf) at 2025-01-06T20:07:05Z");
  EXPECT_EQ(verifier->chain_cache_stats().hits, 1u);  // it came from the cache
  // Years later the intermediates have expired too; the topmost is named,
  // as X509_verify_cert names it.
  VerifyPolicy much_later = AtMillis(Doc(0).timestamp_ms + 365LL * 24 * 3600 * 1000);
  auto cached = verifier->Verify(Doc(0).document, much_later);
  auto uncached = Verifier(Tier::kProduction, {aws_root_}, 0)->Verify(Doc(0).document, much_later);
  ASSERT_THAT(cached, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(cached.status().message(), uncached.status().message());
  // And the cache does not make a tampered document acceptable.
  std::vector<uint8_t> m = Doc(0).document;
  m[100] ^= 0x01;
  EXPECT_FALSE(verifier->Verify(m, AtOwnTime(0)).ok());
}

TEST_F(RealDocumentsTest, CacheDisabledNeverHits) {
  auto verifier = Verifier(Tier::kProduction, {aws_root_}, 0);
  ASSERT_THAT(verifier->Verify(Doc(0).document, AtOwnTime(0)), IsOk());
  ASSERT_THAT(verifier->Verify(Doc(0).document, AtOwnTime(0)), IsOk());
  EXPECT_EQ(verifier->chain_cache_stats().hits, 0u);
  EXPECT_EQ(verifier->chain_cache_stats().misses, 2u);
  EXPECT_EQ(verifier->chain_cache_stats().entries, 0u);
}

TEST_F(RealDocumentsTest, NoncePolicy) {
  VerifyPolicy p = AtOwnTime(1);
  p.expected_nonce = Hex(Doc(1).expected["nonce_hex"].get<std::string>());
  EXPECT_THAT(verifier_->Verify(Doc(1).document, p), IsOk());
  p.expected_nonce->back() ^= 0x01;
  ExpectFailure(verifier_->Verify(Doc(1).document, p), absl::StatusCode::kPermissionDenied,
                "nonce: the nonce does not match");
  p.expected_nonce->pop_back();  // a prefix is not a match
  ExpectFailure(verifier_->Verify(Doc(1).document, p), absl::StatusCode::kPermissionDenied,
                "nonce: the nonce does not match");
  VerifyPolicy q = AtOwnTime(0);
  q.expected_nonce = std::vector<uint8_t>(32, 0x07);
  ExpectFailure(verifier_->Verify(Doc(0).document, q), absl::StatusCode::kPermissionDenied,
                "nonce: the document has no nonce");
}

TEST_F(RealDocumentsTest, PcrPolicy) {
  VerifyPolicy p = AtOwnTime(0);
  for (const auto& [index, hex] : Doc(0).expected["pcrs"].items()) {
    p.expected_pcrs[std::stoi(index)] = Hex(hex.get<std::string>());
  }
  EXPECT_THAT(verifier_->Verify(Doc(0).document, p), IsOk());

  VerifyPolicy wrong = p;
  wrong.expected_pcrs[2][47] ^= 0x80;
  ExpectFailure(verifier_->Verify(Doc(0).document, wrong), absl::StatusCode::kPermissionDenied,
                "pcrs: PCR2 does not match");
  VerifyPolicy missing = AtOwnTime(0);
  missing.expected_pcrs[16] = std::vector<uint8_t>(48, 0);
  ExpectFailure(verifier_->Verify(Doc(0).document, missing), absl::StatusCode::kPermissionDenied,
                "pcrs: PCR16 is not in the document");
  VerifyPolicy short_value = AtOwnTime(0);
  short_value.expected_pcrs[0] = std::vector<uint8_t>(32, 0);
  ExpectFailure(verifier_->Verify(Doc(0).document, short_value),
                absl::StatusCode::kPermissionDenied, "pcrs: PCR0 does not match");
}

TEST_F(RealDocumentsTest, ImagePolicyIsPcr0) {
  VerifyPolicy p = AtOwnTime(3);
  p.expected_image_sha384 = Hex(Doc(3).expected["pcrs"]["0"].get<std::string>());
  EXPECT_THAT(verifier_->Verify(Doc(3).document, p), IsOk());
  p.expected_image_sha384 = Hex(Doc(3).expected["pcrs"]["1"].get<std::string>());
  ExpectFailure(verifier_->Verify(Doc(3).document, p), absl::StatusCode::kPermissionDenied,
                "image: PCR0 does not match");
}

TEST_F(RealDocumentsTest, RequirePublicKey) {
  VerifyPolicy p = AtOwnTime(1);
  p.require_public_key = true;
  ExpectFailure(verifier_->Verify(Doc(1).document, p), absl::StatusCode::kPermissionDenied,
                "public_key: the document has no public_key");
  VerifyPolicy q = AtOwnTime(0);
  q.require_public_key = true;
  EXPECT_THAT(verifier_->Verify(Doc(0).document, q), IsOk());
}

TEST_F(RealDocumentsTest, MaxAge) {
  VerifyPolicy p = AtMillis(Doc(0).timestamp_ms + 4 * 60 * 1000);
  p.max_age = absl::Minutes(5);
  EXPECT_THAT(verifier_->Verify(Doc(0).document, p), IsOk());
  p.max_age = absl::Minutes(3);
  ExpectFailure(verifier_->Verify(Doc(0).document, p), absl::StatusCode::kUnauthenticated,
                "freshness: document is 4m old, max_age is 3m");
}

TEST_F(RealDocumentsTest, ConcurrentVerificationsAgree) {
  auto verifier = Verifier(Tier::kProduction, {aws_root_}, 2);  // tiny: forces evictions
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 10; ++k) {
        const int d = (t + k) % 4;
        auto r = verifier->Verify(Doc(d).document, AtOwnTime(d));
        if (!r.ok() || r->module_id != Doc(d).expected["module_id"].get<std::string>()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(verifier->chain_cache_stats().entries, 2u);
}

// ---------------------------------------------------------------------------
// Create: tiers and roots.

TEST(AttestationVerifierCreateTest, ProductionAcceptsOnlyTheAwsRoot) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(auto aws_root, LoadAwsNitroRootDer(shared));
  EXPECT_TRUE(IsAwsNitroRoot(aws_root));
  VerifierConfig ok;
  ok.roots = {aws_root};
  VEIL_ASSERT_OK_AND_ASSIGN(auto verifier, AttestationVerifier::Create(ok));
  EXPECT_EQ(verifier->tier(), Tier::kProduction);

  VEIL_ASSERT_OK_AND_ASSIGN(auto pki, TestPki::Create({}));
  EXPECT_FALSE(IsAwsNitroRoot(pki->root_der()));
  VerifierConfig other;
  other.roots = {aws_root, pki->root_der()};
  auto refused = AttestationVerifier::Create(other);
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("tier production pins only the AWS Nitro Enclaves Root G1"));
}

TEST(AttestationVerifierCreateTest, RefusesMissingAndUnparsableRoots) {
  VerifierConfig none;
  EXPECT_THAT(AttestationVerifier::Create(none), StatusIs(absl::StatusCode::kInvalidArgument));
  none.tier = Tier::kSimulated;
  EXPECT_THAT(AttestationVerifier::Create(none), StatusIs(absl::StatusCode::kInvalidArgument));
  VerifierConfig garbage;
  garbage.tier = Tier::kSimulated;
  garbage.roots = {{0x30, 0x03, 0x02, 0x01, 0x00}};
  EXPECT_THAT(AttestationVerifier::Create(garbage), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AttestationVerifierCreateTest, MockRootOnlyInTheLocalTier) {
  const auto mock = MockRootCertificateDer();
  const std::vector<uint8_t> mock_der(mock.begin(), mock.end());
  EXPECT_EQ(HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, mock_der)),
            kMockRootSha256Hex);
  for (Tier tier : {Tier::kProduction, Tier::kSimulated}) {
    VerifierConfig config;
    config.tier = tier;
    config.roots = {mock_der};
    auto refused = AttestationVerifier::Create(config);
    ASSERT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(std::string(refused.status().message()), HasSubstr("MOCK attestation root"));
  }
  // A freshly made root that carries the MOCK marker is refused as well.
  TestPki::Options o;
  o.root_common_name = kMockRootSubjectMarker;
  VEIL_ASSERT_OK_AND_ASSIGN(auto marked, TestPki::Create(o));
  VerifierConfig sim;
  sim.tier = Tier::kSimulated;
  sim.roots = {marked->root_der()};
  EXPECT_THAT(AttestationVerifier::Create(sim), StatusIs(absl::StatusCode::kInvalidArgument));

  VerifierConfig local;
  local.tier = Tier::kLocal;  // no roots: the MOCK root alone
  EXPECT_THAT(AttestationVerifier::Create(local), IsOk());
  local.roots = {mock_der};
  EXPECT_THAT(AttestationVerifier::Create(local), IsOk());
}

TEST(AttestationVerifierCreateTest, TierNames) {
  EXPECT_EQ(TierName(Tier::kProduction), "production");
  EXPECT_EQ(TierName(Tier::kSimulated), "simulated");
  EXPECT_EQ(TierName(Tier::kLocal), "local");
}

TEST(AttestationVerifierCreateTest, CertificateDerFromPem) {
  VEIL_REQUIRE_SHARED(shared);
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::string pem,
      ::veil::testing::ReadFileString(shared + "/testdata/nitro/aws-nitro-enclaves-root-g1.pem"));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> der, CertificateDerFromPem(pem));
  EXPECT_TRUE(IsAwsNitroRoot(der));
  // DER passes through.
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> again,
      CertificateDerFromPem(std::string_view(reinterpret_cast<const char*>(der.data()), der.size())));
  EXPECT_EQ(again, der);
  EXPECT_THAT(CertificateDerFromPem("not a certificate"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Documents from a throwaway PKI (simulated tier): the paths real documents
// cannot reach.

class TestPkiDocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    now_ = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
    TestPki::Options o;
    o.now = now_;
    VEIL_ASSERT_OK_AND_ASSIGN(pki_, TestPki::Create(o));
    verifier_ = Verifier(Tier::kSimulated, {pki_->root_der()});
  }
  VerifyPolicy At(absl::Time t) const {
    VerifyPolicy p;
    p.at = t;
    return p;
  }
  std::unique_ptr<AttestationVerifier> VerifierFor(const TestPki& pki) const {
    return Verifier(Tier::kSimulated, {pki.root_der()});
  }

  absl::Time now_;
  std::unique_ptr<TestPki> pki_;
  std::unique_ptr<AttestationVerifier> verifier_;
};

TEST_F(TestPkiDocumentsTest, SimulatedDocumentVerifies) {
  PayloadFields f = pki_->Fields();
  f.nonce = std::vector<uint8_t>(32, 0xab);
  f.user_data = std::vector<uint8_t>{};
  f.public_key = std::vector<uint8_t>(91, 0x04);
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, verifier_->Verify(pki_->Sign(f), At(now_)));
  EXPECT_EQ(v.module_id, f.module_id);
  EXPECT_EQ(v.timestamp, now_);
  EXPECT_EQ(v.nonce, f.nonce);
  EXPECT_EQ(v.user_data, f.user_data);
  EXPECT_EQ(v.public_key, f.public_key);
  EXPECT_FALSE(v.debug);
  EXPECT_FALSE(v.mock);
  EXPECT_EQ(v.root_sha256_hex,
            HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, pki_->root_der())));
  // An indefinite-length payload map is the same document.
  f.indefinite_map = true;
  EXPECT_THAT(verifier_->Verify(pki_->Sign(f), At(now_)), IsOk());
}

TEST_F(TestPkiDocumentsTest, ShortAndLongChains) {
  for (int intermediates : {0, 1, 3}) {
    TestPki::Options o;
    o.now = now_;
    o.intermediates = intermediates;
    VEIL_ASSERT_OK_AND_ASSIGN(auto pki, TestPki::Create(o));
    auto verifier = VerifierFor(*pki);
    EXPECT_THAT(verifier->Verify(pki->Sign(pki->Fields()), At(now_)), IsOk()) << intermediates;
    EXPECT_THAT(verifier->Verify(pki->Sign(pki->Fields()), At(now_)), IsOk()) << intermediates;
    EXPECT_EQ(verifier->chain_cache_stats().hits, 1u);
  }
}

TEST_F(TestPkiDocumentsTest, DebugModeIsPcr0Zero) {
  PayloadFields f = pki_->Fields();
  f.pcrs[0] = std::vector<uint8_t>(48, 0);
  const auto doc = pki_->Sign(f);
  ExpectFailure(verifier_->Verify(doc, At(now_)), absl::StatusCode::kPermissionDenied, "debug");
  VerifyPolicy p = At(now_);
  p.allow_debug = true;
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, verifier_->Verify(doc, p));
  EXPECT_TRUE(v.debug);
  // No PCR0 at all is treated as debug too: nothing proves the image.
  f.pcrs.erase(0);
  ExpectFailure(verifier_->Verify(pki_->Sign(f), At(now_)), absl::StatusCode::kPermissionDenied,
                "debug");
}

TEST_F(TestPkiDocumentsTest, FreshnessAndClockSkew) {
  const auto doc = pki_->Sign(pki_->Fields());
  VerifyPolicy p = At(now_ + absl::Minutes(10));
  p.max_age = absl::Minutes(5);
  ExpectFailure(verifier_->Verify(doc, p), absl::StatusCode::kUnauthenticated,
                "freshness: document is 10m old, max_age is 5m");
  p.max_age.reset();
  EXPECT_THAT(verifier_->Verify(doc, p), IsOk());  // no max_age: only the chain's validity

  // A timestamp from the future (the verifier's clock is behind).
  VerifyPolicy behind = At(now_ - absl::Seconds(5));
  behind.max_age = absl::Minutes(5);
  EXPECT_THAT(verifier_->Verify(doc, behind), IsOk());  // within the 60 s skew
  behind.max_clock_skew = absl::Seconds(1);
  ExpectFailure(verifier_->Verify(doc, behind), absl::StatusCode::kUnauthenticated,
                "beyond the allowed clock skew");
}

TEST_F(TestPkiDocumentsTest, TimestampMustLieWithinTheLeafValidity) {
  // Leaf valid [now - 10 s, now + 3 h]; a timestamp an hour before that is
  // refused even when the chain is verified at a time the leaf is valid.
  const auto doc = pki_->Sign(pki_->Fields(now_ - absl::Hours(1)));
  ExpectFailure(verifier_->Verify(doc, At(now_)), absl::StatusCode::kUnauthenticated,
                "timestamp: 2025-12-31T23:00:00Z is outside the leaf certificate's validity");
}

TEST_F(TestPkiDocumentsTest, ExpiredIntermediateIsNamed) {
  TestPki::Options o;
  o.now = now_;
  o.intermediate_not_after = now_ + absl::Hours(1);
  VEIL_ASSERT_OK_AND_ASSIGN(auto pki, TestPki::Create(o));
  auto verifier = VerifierFor(*pki);
  const auto doc = pki->Sign(pki->Fields());
  EXPECT_THAT(verifier->Verify(doc, At(now_)), IsOk());  // now cached
  ExpectFailure(verifier->Verify(doc, At(now_ + absl::Hours(2))),
                absl::StatusCode::kUnauthenticated,
                "certificate has expired (cabundle[2]) at 2026-01-01T02:00:00Z");
  auto fresh = VerifierFor(*pki);
  ExpectFailure(fresh->Verify(doc, At(now_ + absl::Hours(2))), absl::StatusCode::kUnauthenticated,
                "certificate has expired (cabundle[2]) at 2026-01-01T02:00:00Z");
}

TEST_F(TestPkiDocumentsTest, LeafProfile) {
  struct Case {
    const char* what;
    void (*tweak)(TestPki::Options&);
    const char* message;
  } const cases[] = {
      {"CA leaf", [](TestPki::Options& o) { o.leaf_is_ca = true; }, "leaf is not CA:FALSE"},
      {"no digitalSignature", [](TestPki::Options& o) { o.leaf_digital_signature = false; },
       "leaf lacks key usage digitalSignature"},
      {"SHA-256 signature", [](TestPki::Options& o) { o.leaf_sha256_signature = true; },
       "leaf is not signed with ecdsa-with-SHA384"},
      {"P-256 key", [](TestPki::Options& o) { o.leaf_curve = "P-256"; },
       "leaf key is not EC P-384"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    TestPki::Options o;
    o.now = now_;
    c.tweak(o);
    VEIL_ASSERT_OK_AND_ASSIGN(auto pki, TestPki::Create(o));
    ExpectFailure(VerifierFor(*pki)->Verify(pki->Sign(pki->Fields()), At(now_)),
                  absl::StatusCode::kUnauthenticated,
                  absl::StrCat("certificate profile: ", c.message));
  }
}

TEST_F(TestPkiDocumentsTest, CabundleMustBeTheChainInOrder) {
  PayloadFields swapped = pki_->Fields();
  std::swap(swapped.cabundle[1], swapped.cabundle[2]);
  ExpectFailure(verifier_->Verify(pki_->Sign(swapped), At(now_)),
                absl::StatusCode::kUnauthenticated, "certificate chain");

  // An extra certificate OpenSSL does not need is refused, not skipped.
  TestPki::Options o;
  o.now = now_;
  VEIL_ASSERT_OK_AND_ASSIGN(auto other, TestPki::Create(o));
  PayloadFields extra = pki_->Fields();
  extra.cabundle.push_back(other->cabundle()[1]);
  ExpectFailure(verifier_->Verify(pki_->Sign(extra), At(now_)),
                absl::StatusCode::kUnauthenticated, "certificate chain");

  PayloadFields missing = pki_->Fields();
  missing.cabundle.erase(missing.cabundle.begin() + 1);
  ExpectFailure(verifier_->Verify(pki_->Sign(missing), At(now_)),
                absl::StatusCode::kUnauthenticated, "certificate chain");

  // A leaf from another hierarchy under this root's bundle.
  PayloadFields foreign = pki_->Fields();
  foreign.certificate = other->leaf_der();
  ExpectFailure(verifier_->Verify(other->Sign(foreign), At(now_)),
                absl::StatusCode::kUnauthenticated, "certificate chain");
}

TEST_F(TestPkiDocumentsTest, CacheKnowsLeavesFromIntermediates) {
  // Verify once so every certificate is cached, then present the last
  // intermediate as the leaf: it must not pass as a verified leaf.
  ASSERT_THAT(verifier_->Verify(pki_->Sign(pki_->Fields()), At(now_)), IsOk());
  PayloadFields f = pki_->Fields();
  f.certificate = f.cabundle.back();
  f.cabundle.pop_back();
  ExpectFailure(verifier_->Verify(pki_->Sign(f), At(now_)), absl::StatusCode::kUnauthenticated,
                "certificate profile: leaf is not CA:FALSE");
}

TEST_F(TestPkiDocumentsTest, PayloadRulesSurfaceAsInvalidArgument) {
  PayloadFields f = pki_->Fields();
  f.digest = "SHA256";
  ExpectFailure(verifier_->Verify(pki_->Sign(f), At(now_)), absl::StatusCode::kInvalidArgument,
                "attestation document: digest is \"SHA256\"");
  PayloadFields g = pki_->Fields();
  g.nonce = std::vector<uint8_t>(513, 0);
  ExpectFailure(verifier_->Verify(pki_->Sign(g), At(now_)), absl::StatusCode::kInvalidArgument,
                "nonce is 513 bytes");
  PayloadFields h = pki_->Fields();
  h.certificate = {0x30, 0x00};
  ExpectFailure(verifier_->Verify(pki_->Sign(h), At(now_)), absl::StatusCode::kInvalidArgument,
                "certificate: leaf is not one DER certificate");
}

TEST_F(TestPkiDocumentsTest, NewLeafUnderCachedIntermediatesChecksItsLink) {
  ASSERT_THAT(verifier_->Verify(pki_->Sign(pki_->Fields()), At(now_)), IsOk());
  ASSERT_THAT(pki_->ReissueLeaf(), IsOk());
  const auto second = pki_->Sign(pki_->Fields());
  ASSERT_THAT(verifier_->Verify(second, At(now_)), IsOk());
  ChainCacheStats stats = verifier_->chain_cache_stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.leaf_hits, 0u);
  EXPECT_EQ(stats.entries, 4u);  // two intermediates, two leaves
  ASSERT_THAT(verifier_->Verify(second, At(now_)), IsOk());
  EXPECT_EQ(verifier_->chain_cache_stats().leaf_hits, 1u);
  // The link is checked at the verification time too.
  ExpectFailure(verifier_->Verify(second, At(now_ + absl::Hours(4))),
                absl::StatusCode::kUnauthenticated, "certificate has expired (leaf)");
}

TEST_F(TestPkiDocumentsTest, NewLeafWithABadLinkIsRefusedOnBothPaths) {
  ASSERT_THAT(verifier_->Verify(pki_->Sign(pki_->Fields()), At(now_)), IsOk());
  // The leaf's own signature (its last byte) is broken; its key still signs
  // the document.
  PayloadFields f = pki_->Fields();
  f.certificate.back() ^= 0x01;
  const auto doc = pki_->Sign(f);
  auto cached = verifier_->Verify(doc, At(now_));
  ExpectFailure(cached, absl::StatusCode::kUnauthenticated,
                "certificate chain: certificate signature failure (leaf)");
  EXPECT_EQ(verifier_->chain_cache_stats().hits, 1u);
  auto full = VerifierFor(*pki_)->Verify(doc, At(now_));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().message(), cached.status().message());

  // A leaf of another hierarchy whose issuer has the same name.
  TestPki::Options o;
  o.now = now_;
  VEIL_ASSERT_OK_AND_ASSIGN(auto other, TestPki::Create(o));
  PayloadFields foreign = pki_->Fields();
  foreign.certificate = other->leaf_der();
  ExpectFailure(verifier_->Verify(other->Sign(foreign), At(now_)),
                absl::StatusCode::kUnauthenticated,
                "certificate chain: certificate signature failure (leaf)");
}

TEST_F(TestPkiDocumentsTest, EvictionKeepsTheCacheBounded) {
  auto verifier = Verifier(Tier::kSimulated, {pki_->root_der()}, 2);
  const auto doc = pki_->Sign(pki_->Fields());
  ASSERT_THAT(verifier->Verify(doc, At(now_)), IsOk());
  EXPECT_EQ(verifier->chain_cache_stats().entries, 2u);
  // Three certificates do not fit in two entries: every call is a miss, and
  // still correct.
  ASSERT_THAT(verifier->Verify(doc, At(now_)), IsOk());
  EXPECT_EQ(verifier->chain_cache_stats().hits, 0u);
  EXPECT_EQ(verifier->chain_cache_stats().misses, 2u);
}

}  // namespace
}  // namespace veil::attestation
