// The verifier's tiers against documents from the NSM implementations:
// SimulatedNsm (simulator CA, tier kSimulated) and MockNsm (the published
// MOCK root, tier kLocal only, results marked mock).
#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/attestation/mock_root.h"
#include "veil/attestation/nsm/mock_nsm.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/attestation/verifier.h"
#include "veil/testing/status_matchers.h"

namespace veil::attestation {
namespace {

using ::testing::HasSubstr;
using ::veil::testing::IsOk;
using ::veil::testing::StatusIs;

class VerifierTiersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VEIL_ASSERT_OK_AND_ASSIGN(auto ca, nsm::SimulatorCa::Generate());
    ca_ = std::shared_ptr<const nsm::SimulatorCa>(std::move(ca));
    nsm::SimulatedNsmOptions o;
    o.image.pcr0.fill(0x11);
    VEIL_ASSERT_OK_AND_ASSIGN(simulated_, nsm::SimulatedNsm::Create(ca_, o));
    nsm::MockNsmOptions m;
    m.image.pcr0.fill(0x22);  // an unmeasured mock image reads as debug mode
    VEIL_ASSERT_OK_AND_ASSIGN(mock_, nsm::MockNsm::Create(m));
  }

  static std::unique_ptr<AttestationVerifier> Make(Tier tier,
                                                   std::vector<std::vector<uint8_t>> roots) {
    VerifierConfig config;
    config.tier = tier;
    config.roots = std::move(roots);
    auto v = AttestationVerifier::Create(std::move(config));
    EXPECT_THAT(v, IsOk());
    return v.ok() ? *std::move(v) : nullptr;
  }

  std::vector<uint8_t> Document(nsm::NsmDevice& device, const std::vector<uint8_t>& nonce) {
    auto doc = device.GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce),
                                             std::nullopt);
    EXPECT_THAT(doc, IsOk());
    return doc.ok() ? *std::move(doc) : std::vector<uint8_t>();
  }

  std::shared_ptr<const nsm::SimulatorCa> ca_;
  std::unique_ptr<nsm::NsmDevice> simulated_;
  std::unique_ptr<nsm::NsmDevice> mock_;
};

TEST_F(VerifierTiersTest, SimulatedDocumentsVerifyWithTheSimulatorRoot) {
  auto verifier = Make(Tier::kSimulated, {ca_->RootDer()});
  const std::vector<uint8_t> nonce(32, 0x42);
  VerifyPolicy policy;
  policy.expected_nonce = nonce;
  policy.max_age = absl::Minutes(5);
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v,
                            verifier->Verify(Document(*simulated_, nonce), policy));
  EXPECT_FALSE(v.mock);
  EXPECT_FALSE(v.debug);
  EXPECT_EQ(v.nonce, nonce);
  // A second document from the same enclave reuses the cached intermediates.
  ASSERT_THAT(verifier->Verify(Document(*simulated_, nonce), policy), IsOk());
  EXPECT_EQ(verifier->chain_cache_stats().hits, 1u);
  // The simulator root is refused in production.
  VerifierConfig production;
  production.roots = {ca_->RootDer()};
  EXPECT_THAT(AttestationVerifier::Create(production),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(VerifierTiersTest, MockDocumentsVerifyOnlyInTheLocalTierAndAreMarked) {
  const std::vector<uint8_t> nonce = {1, 2, 3};
  const std::vector<uint8_t> doc = Document(*mock_, nonce);
  auto local = Make(Tier::kLocal, {});
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument v, local->Verify(doc, VerifyPolicy()));
  EXPECT_TRUE(v.mock);
  EXPECT_EQ(v.root_sha256_hex, kMockRootSha256Hex);
  // In the simulated tier the MOCK root is not pinned (and cannot be).
  auto simulated = Make(Tier::kSimulated, {ca_->RootDer()});
  auto refused = simulated->Verify(doc, VerifyPolicy());
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("root:"));
  // The local tier verifies simulated documents too when given their root,
  // and those are not mock.
  auto both = Make(Tier::kLocal, {ca_->RootDer()});
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument s, both->Verify(Document(*simulated_, nonce),
                                                             VerifyPolicy()));
  EXPECT_FALSE(s.mock);
}

}  // namespace
}  // namespace veil::attestation
