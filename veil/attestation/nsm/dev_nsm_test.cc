// DevNsm over a fake transport that plays back the exact response bytes of
// ../shared/specs/nitro-attestation-nsm-kms.md section 3.4 and records the
// request bytes DevNsm sends (checked against section 3.3).
#include "veil/attestation/nsm/dev_nsm.h"

#include <sys/stat.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"

namespace veil::attestation::nsm {
namespace {

using ::veil::testing::StatusIs;

std::vector<uint8_t> Hex(const std::string& hex) {
  absl::StatusOr<std::vector<uint8_t>> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : std::vector<uint8_t>();
}

// FakeTransport answers each call with the next queued response (or status)
// and records what it was sent.
class FakeTransport : public NsmTransport {
 public:
  struct Script {
    // A scripted answer: bytes, or a transport failure when status is not OK.
    struct Answer {
      absl::Status status;
      std::vector<uint8_t> bytes;
    };
    std::deque<Answer> responses;
    std::vector<std::string> requests_hex;
  };
  explicit FakeTransport(Script* script) : script_(script) {}
  absl::StatusOr<std::vector<uint8_t>> Call(absl::Span<const uint8_t> request) override {
    script_->requests_hex.push_back(HexEncode(request));
    if (script_->responses.empty()) return absl::UnavailableError("no scripted response");
    Script::Answer a = std::move(script_->responses.front());
    script_->responses.pop_front();
    if (!a.status.ok()) return a.status;
    return std::move(a.bytes);
  }

 private:
  Script* script_;
};

class DevNsmTest : public ::testing::Test {
 protected:
  DevNsmTest()
      : nsm_(DevNsm::CreateWithTransport(std::make_unique<FakeTransport>(&script_),
                                         NsmKind::kNitro)) {}
  void Answer(const std::string& hex) { script_.responses.push_back({absl::OkStatus(), Hex(hex)}); }
  const std::string& LastRequest() const { return script_.requests_hex.back(); }

  FakeTransport::Script script_;
  std::unique_ptr<NsmDevice> nsm_;
};

const std::string kZeroPcrHex(96, '0');

TEST_F(DevNsmTest, AttestationWithoutFields) {
  Answer("a16b4174746573746174696f6ea168646f63756d656e74458444a10138");
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> doc,
                            nsm_->GetAttestationDocument(std::nullopt, std::nullopt, std::nullopt));
  EXPECT_EQ(HexEncode(doc), "8444a10138");
  EXPECT_EQ(LastRequest(),
            "a16b4174746573746174696f6ea369757365725f64617461f6656e6f6e6365f66a7075626c69635f6b6579f6");
}

TEST_F(DevNsmTest, AttestationWithUserDataAndNonce) {
  Answer("a16b4174746573746174696f6ea168646f63756d656e744184");
  const std::vector<uint8_t> hi = {'h', 'i'};
  const std::vector<uint8_t> nonce = {1, 2, 3, 4};
  VEIL_ASSERT_OK(nsm_->GetAttestationDocument(absl::MakeConstSpan(hi), absl::MakeConstSpan(nonce),
                                              std::nullopt));
  EXPECT_EQ(LastRequest(),
            "a16b4174746573746174696f6ea369757365725f64617461426869656e6f6e636544010203046a7075626c"
            "69635f6b6579f6");
}

TEST_F(DevNsmTest, AttestationFieldLimitsAreCheckedBeforeSending) {
  const std::vector<uint8_t> big(513);
  EXPECT_THAT(nsm_->GetAttestationDocument(absl::MakeConstSpan(big), std::nullopt, std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(script_.requests_hex.empty());
}

TEST_F(DevNsmTest, DescribePcr) {
  Answer("a16b4465736372696265504352a2646c6f636bf564646174615830" + kZeroPcrHex);
  VEIL_ASSERT_OK_AND_ASSIGN(PcrDescription d, nsm_->DescribePcr(16));
  EXPECT_EQ(LastRequest(), "a16b4465736372696265504352a165696e64657810");
  EXPECT_TRUE(d.locked);
  EXPECT_EQ(d.value, PcrValue{});
}

TEST_F(DevNsmTest, ExtendPcr) {
  Answer("a169457874656e64504352a164646174615830" + std::string(96, 'a'));
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  VEIL_ASSERT_OK_AND_ASSIGN(PcrValue v, nsm_->ExtendPcr(16, abc));
  EXPECT_EQ(LastRequest(), "a169457874656e64504352a265696e64657810646461746143616263");
  EXPECT_EQ(HexEncode(v), std::string(96, 'a'));
}

TEST_F(DevNsmTest, LockPcrAndLockPcrs) {
  Answer("674c6f636b504352");
  VEIL_ASSERT_OK(nsm_->LockPcr(16));
  EXPECT_EQ(LastRequest(), "a1674c6f636b504352a165696e64657810");
  Answer("684c6f636b50435273");
  VEIL_ASSERT_OK(nsm_->LockPcrs(32));
  EXPECT_EQ(LastRequest(), "a1684c6f636b50435273a16572616e67651820");
}

TEST_F(DevNsmTest, GetRandom) {
  Answer("a16947657452616e646f6da16672616e646f6d4400112233");
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> r, nsm_->GetRandom());
  EXPECT_EQ(LastRequest(), "6947657452616e646f6d");
  EXPECT_EQ(HexEncode(r), "00112233");
}

TEST_F(DevNsmTest, DescribeNsm) {
  Answer(
      "a16b44657363726962654e534da76d76657273696f6e5f6d616a6f72016d76657273696f6e5f6d696e6f7200"
      "6d76657273696f6e5f706174636800696d6f64756c655f69646161"
      "686d61785f7063727318206b6c6f636b65645f706372738500010203046664696765737466534841333834");
  VEIL_ASSERT_OK_AND_ASSIGN(NsmDescription d, nsm_->DescribeNsm());
  EXPECT_EQ(LastRequest(), "6b44657363726962654e534d");
  EXPECT_EQ(d.version_major, 1);
  EXPECT_EQ(d.module_id, "a");
  EXPECT_EQ(d.max_pcrs, 32);
  EXPECT_EQ(d.locked_pcrs.size(), 5u);
  EXPECT_EQ(d.digest, "SHA384");
}

TEST_F(DevNsmTest, ErrorResponsesBecomeNsmErrors) {
  Answer("a1654572726f726c496e76616c6964496e646578");  // InvalidIndex
  const absl::StatusOr<PcrDescription> r = nsm_->DescribePcr(40);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(NsmErrorCodeOf(r.status()), ErrorCode::kInvalidIndex);

  Answer("a1654572726f726d526561644f6e6c79496e646578");  // ReadOnlyIndex
  const absl::Status s = nsm_->LockPcr(0);
  EXPECT_EQ(NsmErrorCodeOf(s), ErrorCode::kReadOnlyIndex);
}

TEST_F(DevNsmTest, UnexpectedOrUndecodableResponsesAreInvalidResponse) {
  Answer("674c6f636b504352");  // LockPCR in answer to GetRandom
  EXPECT_EQ(NsmErrorCodeOf(nsm_->GetRandom().status()), ErrorCode::kInvalidResponse);
  Answer("ffff");
  EXPECT_EQ(NsmErrorCodeOf(nsm_->DescribeNsm().status()), ErrorCode::kInvalidResponse);
  Answer("a16b4465736372696265504352a2646c6f636bf5646461746143616263");  // 3-byte PCR
  EXPECT_EQ(NsmErrorCodeOf(nsm_->DescribePcr(0).status()), ErrorCode::kInvalidResponse);
}

TEST_F(DevNsmTest, TransportFailuresPropagate) {
  script_.responses.push_back({absl::UnavailableError("gone"), {}});
  EXPECT_THAT(nsm_->GetRandom(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(DevNsmCreateTest, MissingDeviceIsAClearFailedPrecondition) {
  struct stat st;
  if (::stat("/dev/nsm", &st) == 0) GTEST_SKIP() << "this machine has a real /dev/nsm";
  const absl::StatusOr<std::unique_ptr<NsmDevice>> nsm = DevNsm::Create();
  EXPECT_THAT(nsm, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_NE(std::string(nsm.status().message()).find("/dev/nsm"), std::string::npos);
  EXPECT_NE(std::string(nsm.status().message()).find("not a Nitro Enclave"), std::string::npos);
}

TEST(DevNsmCreateTest, KindNames) {
  EXPECT_EQ(NsmKindName(NsmKind::kNitro), "nitro");
  EXPECT_EQ(NsmKindName(NsmKind::kSimulated), "simulated");
  EXPECT_EQ(NsmKindName(NsmKind::kMock), "mock");
}

TEST(DevNsmCreateTest, NoSimulatorListeningIsUnavailable) {
  EXPECT_THAT(DevNsm::ConnectSimulator("/tmp/veil-no-such-nsm.sock"),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace veil::attestation::nsm
