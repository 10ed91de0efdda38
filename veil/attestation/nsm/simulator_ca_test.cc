#include "veil/attestation/nsm/simulator_ca.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/testing/status_matchers.h"

namespace veil::attestation::nsm {
namespace {

using internal::SslPtr;
using ::veil::testing::StatusIs;

SslPtr<X509> Parse(const std::vector<uint8_t>& der) {
  const unsigned char* p = der.data();
  return SslPtr<X509>(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::string Name(X509_NAME* name) {
  char buf[512];
  X509_NAME_oneline(name, buf, sizeof(buf));
  return buf;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/veil-simca-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    for (const char* n : {"root", "regional", "zonal", "instance"}) {
      for (const char* e : {".pem", ".key"}) std::remove((path_ + "/" + n + e).c_str());
    }
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SimulatorCaTest, ChainHasTheNitroShapeAndUnmistakableNames) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate());
  const std::vector<std::vector<uint8_t>> bundle = ca->CaBundle();
  ASSERT_EQ(bundle.size(), 4u);
  EXPECT_EQ(bundle[0], ca->RootDer());
  const long pathlen[4] = {-1, 2, 1, 0};
  for (size_t i = 0; i < bundle.size(); ++i) {
    EXPECT_LE(bundle[i].size(), 1024u) << i;
    SslPtr<X509> cert = Parse(bundle[i]);
    ASSERT_NE(cert, nullptr) << i;
    const std::string subject = Name(X509_get_subject_name(cert.get()));
    EXPECT_NE(subject.find("veil-simulated"), std::string::npos) << subject;
    EXPECT_EQ(subject.find("Amazon"), std::string::npos) << subject;
    EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA384) << i;
    EXPECT_EQ(X509_get_extension_flags(cert.get()) & EXFLAG_CA, static_cast<uint32_t>(EXFLAG_CA));
    EXPECT_EQ(X509_get_pathlen(cert.get()), pathlen[i]) << i;
    EXPECT_TRUE(X509_get_key_usage(cert.get()) & KU_KEY_CERT_SIGN) << i;
    // Basic constraints and key usage are critical, as in the real chain.
    for (int nid : {NID_basic_constraints, NID_key_usage}) {
      const int idx = X509_get_ext_by_NID(cert.get(), nid, -1);
      ASSERT_GE(idx, 0);
      EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), idx)), 1) << i;
    }
    if (i > 0) {
      SslPtr<X509> issuer = Parse(bundle[i - 1]);
      EXPECT_EQ(X509_check_issued(issuer.get(), cert.get()), X509_V_OK) << i;
    }
  }
  EXPECT_EQ(ca->Label(), "veil-simulated");
  EXPECT_EQ(ca->InstanceId().size(), 19u);
}

TEST(SimulatorCaTest, LeafMimicsTheRealOne) {
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate());
  const absl::Time ts = absl::FromUnixMillis(1736179625472);  // doc1's timestamp
  const std::string module_id = ca->InstanceId() + "-enc01943c5eaab3ad6a";
  VEIL_ASSERT_OK_AND_ASSIGN(LeafSigner leaf, ca->IssueLeaf(module_id, ts));
  EXPECT_LE(leaf.CertificateDer().size(), 1024u);
  SslPtr<X509> cert = Parse(leaf.CertificateDer());
  ASSERT_NE(cert, nullptr);
  const std::string subject = Name(X509_get_subject_name(cert.get()));
  EXPECT_NE(subject.find("CN=" + module_id + ".sim.veil-simulated.aws"), std::string::npos)
      << subject;
  EXPECT_EQ(X509_get_extension_flags(cert.get()) & EXFLAG_CA, 0u);
  const int bc = X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1);
  ASSERT_GE(bc, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(cert.get(), bc)), 1);
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION));
  EXPECT_LT(X509_get_ext_by_NID(cert.get(), NID_subject_key_identifier, -1), 0);
  // Valid from 3 s before the document's second to 3 h after it.
  time_t nb = 1736179622, na = 1736190425;
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert.get()), nb), 0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert.get()), na), 0);
}

TEST(SimulatorCaTest, SaveAndLoadRoundTripWithPrivateKeysOwnerOnly) {
  TempDir dir;
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate());
  VEIL_ASSERT_OK(ca->Save(dir.path()));
  for (const char* n : {"root", "regional", "zonal", "instance"}) {
    struct stat st;
    ASSERT_EQ(::stat((dir.path() + "/" + n + ".key").c_str(), &st), 0) << n;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << n;
    ASSERT_EQ(::stat((dir.path() + "/" + n + ".pem").c_str(), &st), 0) << n;
  }
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> loaded, SimulatorCa::Load(dir.path()));
  EXPECT_EQ(loaded->CaBundle(), ca->CaBundle());
  EXPECT_EQ(loaded->InstanceId(), ca->InstanceId());
  EXPECT_EQ(loaded->Region(), ca->Region());
  EXPECT_EQ(loaded->Label(), ca->Label());
  EXPECT_NE(loaded->RootPem().find("BEGIN CERTIFICATE"), std::string::npos);
  // A second CA never overwrites the first.
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> other, SimulatorCa::Generate());
  EXPECT_THAT(other->Save(dir.path()), StatusIs(absl::StatusCode::kAlreadyExists));
  VEIL_ASSERT_OK_AND_ASSIGN(loaded, SimulatorCa::Load(dir.path()));
  EXPECT_EQ(loaded->RootDer(), ca->RootDer());
}

TEST(SimulatorCaTest, LoadRefusesMismatchedKeysMissingFilesAndExpiry) {
  TempDir dir;
  EXPECT_THAT(SimulatorCa::Load(dir.path()), StatusIs(absl::StatusCode::kNotFound));
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate());
  VEIL_ASSERT_OK(ca->Save(dir.path()));
  EXPECT_THAT(SimulatorCa::Load(dir.path(), absl::Now() + absl::Hours(24 * 400)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Swap in another CA's zonal key.
  TempDir other_dir;
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> other, SimulatorCa::Generate());
  VEIL_ASSERT_OK(other->Save(other_dir.path()));
  std::ifstream in(other_dir.path() + "/zonal.key", std::ios::binary);
  const std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(std::remove((dir.path() + "/zonal.key").c_str()), 0);
  std::ofstream(dir.path() + "/zonal.key", std::ios::binary) << key;
  EXPECT_THAT(SimulatorCa::Load(dir.path()), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SimulatorCaTest, OptionsAreChecked) {
  SimulatorCaOptions o;
  o.instance_id = "i-XYZ";
  EXPECT_THAT(SimulatorCa::Generate(o), StatusIs(absl::StatusCode::kInvalidArgument));
  o.instance_id = "i-0bee92034f3d60691";
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SimulatorCa> ca, SimulatorCa::Generate(o));
  EXPECT_EQ(ca->InstanceId(), "i-0bee92034f3d60691");
  o.region = "far-too-long-region";
  EXPECT_THAT(SimulatorCa::Generate(o), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace veil::attestation::nsm
