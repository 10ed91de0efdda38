#include "veil/attestation/nsm/mock_nsm.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/attestation/mock_root.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/crypto/hash.h"
#include "veil/testing/status_matchers.h"

namespace veil::attestation::nsm {
namespace {

using internal::SslPtr;

TEST(MockRootTest, FingerprintMatchesThePublishedConstant) {
  EXPECT_EQ(HexEncode(crypto::Digest(crypto::HashAlgorithm::kSha256, MockRootCertificateDer())),
            kMockRootSha256Hex);
}

TEST(MockRootTest, IsASelfSignedP384CaMarkedNotSecure) {
  const absl::Span<const uint8_t> der = MockRootCertificateDer();
  const unsigned char* p = der.data();
  SslPtr<X509> root(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(p, der.data() + der.size());
  char subject[256];
  X509_NAME_oneline(X509_get_subject_name(root.get()), subject, sizeof(subject));
  EXPECT_NE(std::string(subject).find(kMockRootSubjectMarker), std::string::npos) << subject;
  EXPECT_EQ(X509_check_issued(root.get(), root.get()), X509_V_OK);
  EXPECT_EQ(X509_verify(root.get(), X509_get0_pubkey(root.get())), 1);
  EXPECT_EQ(X509_get_signature_nid(root.get()), NID_ecdsa_with_SHA384);
}

TEST(MockNsmTest, DocumentsHaveTheRealShapeUnderTheMockRoot) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<NsmDevice> nsm, MockNsm::Create());
  EXPECT_EQ(nsm->Kind(), NsmKind::kMock);
  VEIL_ASSERT_OK_AND_ASSIGN(NsmDescription d, nsm->DescribeNsm());
  EXPECT_EQ(d.module_id.rfind("mock-i-", 0), 0u) << d.module_id;
  const std::vector<uint8_t> nonce = {1, 2, 3};
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> bytes,
                            nsm->GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce),
                                                        std::nullopt));
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(bytes).subspan(0, 7)), "8444a1013822a0");
  VEIL_ASSERT_OK_AND_ASSIGN(CoseSign1 cose, ParseCoseSign1(bytes));
  VEIL_ASSERT_OK_AND_ASSIGN(cbor::Value payload, cbor::Decode(cose.payload));
  EXPECT_EQ(payload.Find("module_id")->text(), d.module_id);
  const cbor::Value* bundle = payload.Find("cabundle");
  ASSERT_EQ(bundle->items.size(), 4u);
  const absl::Span<const uint8_t> root = MockRootCertificateDer();
  EXPECT_TRUE(std::equal(root.begin(), root.end(), bundle->items[0].bytes.begin(),
                         bundle->items[0].bytes.end()));
  for (const cbor::Value& c : bundle->items) {
    const unsigned char* p = c.bytes.data();
    SslPtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(c.bytes.size())));
    ASSERT_NE(cert, nullptr);
    char subject[256];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof(subject));
    EXPECT_TRUE(std::string(subject).find("veil-mock") != std::string::npos ||
                std::string(subject).find(kMockRootSubjectMarker) != std::string::npos)
        << subject;
  }
  // PCR4 measures the module id's instance part.
  const PcrValue pcr4 = MeasureInstanceId(*InstanceIdOfModuleId(d.module_id));
  VEIL_ASSERT_OK_AND_ASSIGN(PcrDescription described, nsm->DescribePcr(4));
  EXPECT_EQ(described.value, pcr4);
}

}  // namespace
}  // namespace veil::attestation::nsm
