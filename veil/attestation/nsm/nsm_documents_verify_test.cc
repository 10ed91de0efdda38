// Documents from the NSM implementations through the verifier: SimulatedNsm
// documents verify against the simulator root (tier kSimulated) and never
// against the AWS root; image changes, binding fields, debug mode and
// expiry behave as with real documents; MockNsm documents verify only in
// the local tier and come back marked mock. Also through the wire: DevNsm
// over the simulator's Unix socket.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/attestation/mock_root.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/attestation/nsm/mock_nsm.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/attestation/verifier.h"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/testdata.h"

namespace veil::attestation::nsm {
namespace {

using ::veil::testing::StatusIs;

absl::Span<const uint8_t> View(const std::string& s) {
  return absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

ImageMeasurement Measure(const std::string& model) {
  const std::string binary = "veil-enclave", config = "{\"tenant\":\"acme\"}";
  const absl::Span<const uint8_t> parts[] = {View(binary), View(model), View(config)};
  absl::StatusOr<ImageMeasurement> m = MeasureImageParts(parts);
  VEIL_CHECK(m.ok());
  return *m;
}

std::vector<uint8_t> ToVector(const PcrValue& v) { return std::vector<uint8_t>(v.begin(), v.end()); }

class NsmDocumentsVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate());
    ca_ = std::shared_ptr<const SimulatorCa>(std::move(ca));
    VEIL_ASSERT_OK_AND_ASSIGN(verifier_, Verifier(Tier::kSimulated, {ca_->RootDer()}));
  }

  static absl::StatusOr<std::unique_ptr<AttestationVerifier>> Verifier(
      Tier tier, std::vector<std::vector<uint8_t>> roots) {
    VerifierConfig config;
    config.tier = tier;
    config.roots = std::move(roots);
    return AttestationVerifier::Create(std::move(config));
  }

  std::unique_ptr<NsmDevice> Boot(const std::string& model, bool debug = false) {
    SimulatedNsmOptions o;
    o.image = Measure(model);
    o.debug = debug;
    absl::StatusOr<std::unique_ptr<NsmDevice>> nsm = SimulatedNsm::Create(ca_, std::move(o));
    EXPECT_TRUE(nsm.ok()) << nsm.status();
    return nsm.ok() ? std::move(*nsm) : nullptr;
  }

  static std::vector<uint8_t> Document(NsmDevice& nsm,
                                       const std::vector<uint8_t>& nonce = {1, 2, 3, 4}) {
    absl::StatusOr<std::vector<uint8_t>> doc =
        nsm.GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce), std::nullopt);
    EXPECT_TRUE(doc.ok()) << doc.status();
    return doc.ok() ? *doc : std::vector<uint8_t>();
  }

  std::shared_ptr<const SimulatorCa> ca_;
  std::unique_ptr<AttestationVerifier> verifier_;
};

TEST_F(NsmDocumentsVerifyTest, SimulatedDocumentsVerifyWithTheSimulatorRoot) {
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  VEIL_ASSERT_OK_AND_ASSIGN(NsmDescription description, nsm->DescribeNsm());
  VerifyPolicy policy;
  policy.max_age = absl::Minutes(5);
  policy.expected_pcrs[0] = ToVector(Measure("model v1").pcr0);
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument d, verifier_->Verify(Document(*nsm), policy));
  EXPECT_EQ(d.module_id, description.module_id);
  EXPECT_FALSE(d.debug);
  EXPECT_FALSE(d.mock);
  EXPECT_EQ(d.pcrs.size(), 16u);
  EXPECT_EQ(d.root_sha256_hex,
            HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, ca_->RootDer())));
}

TEST_F(NsmDocumentsVerifyTest, SimulatedDocumentsFailAgainstTheAwsRoot) {
  VEIL_REQUIRE_SHARED(shared);
  absl::StatusOr<std::string> pem =
      veil::testing::ReadFileString(shared + "/testdata/nitro/aws-nitro-enclaves-root-g1.pem");
  if (!pem.ok()) GTEST_SKIP() << "no AWS root in the shared test data";
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> aws_root, CertificateDerFromPem(*pem));
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AttestationVerifier> production,
                            Verifier(Tier::kProduction, {aws_root}));
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  EXPECT_THAT(production->Verify(Document(*nsm), VerifyPolicy()),
              StatusIs(absl::StatusCode::kUnauthenticated));
  // Nor may a production verifier pin the simulator root.
  EXPECT_THAT(Verifier(Tier::kProduction, {ca_->RootDer()}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(NsmDocumentsVerifyTest, AnotherSimulatorCaIsNotTrusted) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> other, SimulatorCa::Generate());
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AttestationVerifier> v,
                            Verifier(Tier::kSimulated, {other->RootDer()}));
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  EXPECT_THAT(v->Verify(Document(*nsm), VerifyPolicy()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(NsmDocumentsVerifyTest, OneChangedModelByteGivesAnotherPcr0AndFailsThePolicy) {
  std::unique_ptr<NsmDevice> original = Boot("model v1");
  std::unique_ptr<NsmDevice> modified = Boot("model v2");  // one byte differs
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument a, verifier_->Verify(Document(*original), VerifyPolicy()));
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument b, verifier_->Verify(Document(*modified), VerifyPolicy()));
  EXPECT_NE(a.pcrs[0], b.pcrs[0]);
  EXPECT_EQ(a.pcrs[1], b.pcrs[1]);
  VerifyPolicy policy;
  policy.expected_image_sha384 = a.pcrs[0];
  VEIL_EXPECT_OK(verifier_->Verify(Document(*original), policy));
  EXPECT_THAT(verifier_->Verify(Document(*modified), policy),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(NsmDocumentsVerifyTest, NonceUserDataAndPublicKeyAreBound) {
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  const std::vector<uint8_t> user_data = {'s', 'e', 's', 's', 'i', 'o', 'n'};
  const std::vector<uint8_t> nonce(32, 0xA5);
  std::vector<uint8_t> public_key(294);
  for (size_t i = 0; i < public_key.size(); ++i) public_key[i] = static_cast<uint8_t>(i);
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> doc,
                            nsm->GetAttestationDocument(absl::MakeConstSpan(user_data),
                                                        absl::MakeConstSpan(nonce),
                                                        absl::MakeConstSpan(public_key)));
  VerifyPolicy policy;
  policy.expected_nonce = nonce;
  policy.require_public_key = true;
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument d, verifier_->Verify(doc, policy));
  EXPECT_EQ(d.user_data, user_data);
  EXPECT_EQ(d.nonce, nonce);
  EXPECT_EQ(d.public_key, public_key);

  policy.expected_nonce = std::vector<uint8_t>(32, 0xA6);
  EXPECT_THAT(verifier_->Verify(doc, policy), StatusIs(absl::StatusCode::kPermissionDenied));

  // Absent fields come back absent.
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> bare,
      nsm->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument none, verifier_->Verify(bare, VerifyPolicy()));
  EXPECT_FALSE(none.user_data.has_value());
  EXPECT_FALSE(none.nonce.has_value());
  EXPECT_FALSE(none.public_key.has_value());
}

TEST_F(NsmDocumentsVerifyTest, DebugDocumentsAreRefusedUnlessAllowed) {
  std::unique_ptr<NsmDevice> nsm = Boot("model v1", /*debug=*/true);
  const std::vector<uint8_t> doc = Document(*nsm);
  EXPECT_THAT(verifier_->Verify(doc, VerifyPolicy()), StatusIs(absl::StatusCode::kPermissionDenied));
  VerifyPolicy allow;
  allow.allow_debug = true;
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument d, verifier_->Verify(doc, allow));
  EXPECT_TRUE(d.debug);
  EXPECT_EQ(d.pcrs[0], std::vector<uint8_t>(48, 0));
  EXPECT_NE(d.pcrs[4], std::vector<uint8_t>(48, 0));
}

TEST_F(NsmDocumentsVerifyTest, LeafExpiresAfterThreeHoursLikeTheRealOne) {
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  const std::vector<uint8_t> doc = Document(*nsm);
  VerifyPolicy later;
  later.at = absl::Now() + absl::Hours(2);
  VEIL_EXPECT_OK(verifier_->Verify(doc, later));
  later.at = absl::Now() + absl::Hours(4);
  EXPECT_THAT(verifier_->Verify(doc, later), StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST_F(NsmDocumentsVerifyTest, LockedUserPcrsAreAttested) {
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  const std::vector<uint8_t> config = {'c', 'f', 'g'};
  VEIL_ASSERT_OK_AND_ASSIGN(PcrValue pcr16, nsm->ExtendPcr(16, config));
  VEIL_ASSERT_OK(nsm->LockPcr(16));
  VerifyPolicy policy;
  policy.expected_pcrs[16] = ToVector(pcr16);
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument d, verifier_->Verify(Document(*nsm), policy));
  EXPECT_EQ(d.pcrs.size(), 17u);
}

TEST_F(NsmDocumentsVerifyTest, AnyFlippedByteIsRejected) {
  std::unique_ptr<NsmDevice> nsm = Boot("model v1");
  const std::vector<uint8_t> doc = Document(*nsm);
  // Every 37th byte (all of them would take minutes under sanitizers); each
  // flip must fail, whichever check catches it.
  for (size_t i = 0; i < doc.size(); i += 37) {
    std::vector<uint8_t> bad = doc;
    bad[i] ^= 0x01;
    EXPECT_FALSE(verifier_->Verify(bad, VerifyPolicy()).ok()) << "byte " << i;
  }
}

TEST(MockDocumentsVerifyTest, VerifyOnlyInTheLocalTierAndAreMarkedMock) {
  MockNsmOptions options;
  options.image = Measure("model v1");
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<NsmDevice> mock, MockNsm::Create(options));
  EXPECT_EQ(mock->Kind(), NsmKind::kMock);
  const std::vector<uint8_t> nonce = {9, 9};
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> doc,
      mock->GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce), std::nullopt));

  const std::vector<uint8_t> mock_root(MockRootCertificateDer().begin(),
                                       MockRootCertificateDer().end());
  // kLocal trusts the MOCK root by itself and marks the result.
  VerifierConfig local;
  local.tier = Tier::kLocal;
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AttestationVerifier> v,
                            AttestationVerifier::Create(std::move(local)));
  VEIL_ASSERT_OK_AND_ASSIGN(VerifiedDocument d, v->Verify(doc, VerifyPolicy()));
  EXPECT_TRUE(d.mock);
  EXPECT_EQ(d.module_id.rfind("mock-", 0), 0u);
  EXPECT_EQ(d.root_sha256_hex, kMockRootSha256Hex);
  EXPECT_EQ(d.nonce, nonce);

  // Elsewhere the MOCK root cannot even be configured ...
  VerifierConfig simulated;
  simulated.tier = Tier::kSimulated;
  simulated.roots = {mock_root};
  EXPECT_THAT(AttestationVerifier::Create(simulated), StatusIs(absl::StatusCode::kInvalidArgument));
  VerifierConfig production;
  production.tier = Tier::kProduction;
  production.roots = {mock_root};
  EXPECT_THAT(AttestationVerifier::Create(production), StatusIs(absl::StatusCode::kInvalidArgument));
  // ... and a simulated-tier verifier refuses mock documents.
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate());
  VerifierConfig sim;
  sim.tier = Tier::kSimulated;
  sim.roots = {ca->RootDer()};
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<AttestationVerifier> sim_verifier,
                            AttestationVerifier::Create(std::move(sim)));
  EXPECT_THAT(sim_verifier->Verify(doc, VerifyPolicy()),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

}  // namespace
}  // namespace veil::attestation::nsm
