// The NSM simulator's server end to end: DevNsm (the enclave's client code)
// over UnixSocketNsmTransport against NsmServer serving a SimulatedNsm, plus
// hostile clients speaking raw frames.
#include "veil/nitro_sim/nsm_server.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/attestation/nsm/dev_nsm.h"
#include "veil/attestation/nsm/frame_io.h"
#include "veil/attestation/nsm/protocol.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/attestation/verifier.h"
#include "veil/common/cbor.h"
#include "veil/common/encoding.h"
#include "veil/testing/status_matchers.h"
#include "veil/testing/tamper.h"

namespace veil::nitro_sim {
namespace {

namespace nsm = attestation::nsm;
namespace protocol = attestation::nsm::protocol;
using ::veil::testing::StatusIs;

// NewDevice boots a SimulatedNsm under a fresh CA, whose root DER it stores
// in `root_der` when given.
std::shared_ptr<nsm::NsmDevice> NewDevice(std::vector<uint8_t>* root_der = nullptr) {
  absl::StatusOr<std::unique_ptr<nsm::SimulatorCa>> ca = nsm::SimulatorCa::Generate();
  VEIL_CHECK(ca.ok());
  if (root_der != nullptr) *root_der = (*ca)->RootDer();
  const std::string binary = "enclave", model = "model";
  const absl::Span<const uint8_t> parts[] = {
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(binary.data()), binary.size()),
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(model.data()), model.size())};
  nsm::SimulatedNsmOptions options;
  options.image = *nsm::MeasureImageParts(parts);
  absl::StatusOr<std::unique_ptr<nsm::NsmDevice>> device =
      nsm::SimulatedNsm::Create(std::shared_ptr<const nsm::SimulatorCa>(std::move(*ca)), options);
  VEIL_CHECK(device.ok());
  return std::shared_ptr<nsm::NsmDevice>(std::move(*device));
}

int RawConnect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void SendRaw(int fd, const std::vector<uint8_t>& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

class NsmServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/veil-nsm-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sock";
    device_ = NewDevice(&root_der_);
    VEIL_ASSERT_OK_AND_ASSIGN(server_, NsmServer::Start(path_, device_));
  }
  void TearDown() override { server_.reset(); }

  std::unique_ptr<nsm::NsmDevice> Client() {
    absl::StatusOr<std::unique_ptr<nsm::NsmDevice>> client = nsm::DevNsm::ConnectSimulator(path_);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  // ExpectServing checks that a fresh client still gets answers.
  void ExpectServing() {
    std::unique_ptr<nsm::NsmDevice> client = Client();
    ASSERT_NE(client, nullptr);
    VEIL_EXPECT_OK(client->GetRandom());
  }

  std::string path_;
  std::vector<uint8_t> root_der_;
  std::shared_ptr<nsm::NsmDevice> device_;
  std::unique_ptr<NsmServer> server_;
};

TEST_F(NsmServerTest, EveryOperationRoundTripsThroughDevNsm) {
  std::unique_ptr<nsm::NsmDevice> client = Client();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->Kind(), nsm::NsmKind::kSimulated);

  VEIL_ASSERT_OK_AND_ASSIGN(nsm::NsmDescription d, client->DescribeNsm());
  VEIL_ASSERT_OK_AND_ASSIGN(nsm::NsmDescription direct, device_->DescribeNsm());
  EXPECT_EQ(d.module_id, direct.module_id);
  EXPECT_EQ(d.max_pcrs, 32);
  EXPECT_EQ(d.locked_pcrs.size(), 16u);

  VEIL_ASSERT_OK_AND_ASSIGN(nsm::PcrDescription pcr0, client->DescribePcr(0));
  VEIL_ASSERT_OK_AND_ASSIGN(nsm::PcrDescription pcr0_direct, device_->DescribePcr(0));
  EXPECT_TRUE(pcr0.locked);
  EXPECT_EQ(pcr0.value, pcr0_direct.value);

  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  VEIL_ASSERT_OK_AND_ASSIGN(nsm::PcrValue extended, client->ExtendPcr(16, abc));
  EXPECT_EQ(extended, nsm::PcrExtend(nsm::ZeroPcr(), abc));
  VEIL_ASSERT_OK(client->LockPcr(16));
  VEIL_ASSERT_OK(client->LockPcrs(18));
  VEIL_ASSERT_OK_AND_ASSIGN(nsm::PcrDescription pcr17, client->DescribePcr(17));
  EXPECT_TRUE(pcr17.locked);

  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> random, client->GetRandom());
  EXPECT_EQ(random.size(), 256u);

  const std::vector<uint8_t> nonce(32, 0x42), user_data = {'u'}, public_key(294, 0x30);
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> doc,
      client->GetAttestationDocument(absl::MakeConstSpan(user_data), absl::MakeConstSpan(nonce),
                                     absl::MakeConstSpan(public_key)));
  EXPECT_EQ(HexEncode(absl::MakeConstSpan(doc).subspan(0, 7)), "8444a1013822a0");
  VEIL_ASSERT_OK_AND_ASSIGN(attestation::CoseSign1 cose, attestation::ParseCoseSign1(doc));
  VEIL_ASSERT_OK_AND_ASSIGN(cbor::Value payload, cbor::Decode(cose.payload));
  EXPECT_EQ(payload.Find("module_id")->text(), d.module_id);
  const cbor::Value* got_nonce = payload.Find("nonce");
  EXPECT_EQ(std::vector<uint8_t>(got_nonce->bytes.begin(), got_nonce->bytes.end()), nonce);
  // PCR0..15 plus the locked 16 and 17.
  EXPECT_EQ(payload.Find("pcrs")->map.size(), 18u);
  EXPECT_GE(server_->RequestsServed(), 9u);
}

// The enclave's view: a document fetched over the socket verifies against
// the simulator root, with its nonce bound.
TEST_F(NsmServerTest, DocumentsFetchedOverTheSocketVerifyInTheSimulatedTier) {
  std::unique_ptr<nsm::NsmDevice> client = Client();
  const std::vector<uint8_t> nonce(16, 0x77);
  VEIL_ASSERT_OK_AND_ASSIGN(
      std::vector<uint8_t> doc,
      client->GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce), std::nullopt));
  attestation::VerifierConfig config;
  config.tier = attestation::Tier::kSimulated;
  config.roots = {root_der_};
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<attestation::AttestationVerifier> verifier,
                            attestation::AttestationVerifier::Create(std::move(config)));
  attestation::VerifyPolicy policy;
  policy.expected_nonce = nonce;
  policy.max_age = absl::Minutes(1);
  VEIL_ASSERT_OK_AND_ASSIGN(attestation::VerifiedDocument d, verifier->Verify(doc, policy));
  VEIL_ASSERT_OK_AND_ASSIGN(nsm::NsmDescription description, client->DescribeNsm());
  EXPECT_EQ(d.module_id, description.module_id);
}

TEST_F(NsmServerTest, DeviceErrorsCrossTheWireWithTheirCodes) {
  std::unique_ptr<nsm::NsmDevice> client = Client();
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  EXPECT_EQ(nsm::NsmErrorCodeOf(client->ExtendPcr(0, abc).status()), nsm::ErrorCode::kReadOnlyIndex);
  EXPECT_EQ(nsm::NsmErrorCodeOf(client->DescribePcr(99).status()), nsm::ErrorCode::kInvalidIndex);
  EXPECT_EQ(nsm::NsmErrorCodeOf(client->LockPcrs(40)), nsm::ErrorCode::kInvalidIndex);
  // The connection survives errors.
  VEIL_EXPECT_OK(client->GetRandom());
}

TEST_F(NsmServerTest, SeveralClientsAtOnce) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      std::unique_ptr<nsm::NsmDevice> client = Client();
      ASSERT_NE(client, nullptr);
      const std::vector<uint8_t> nonce = {static_cast<uint8_t>(t)};
      for (int i = 0; i < 5; ++i) {
        absl::StatusOr<std::vector<uint8_t>> doc =
            client->GetAttestationDocument(std::nullopt, absl::MakeConstSpan(nonce), std::nullopt);
        EXPECT_TRUE(doc.ok()) << doc.status();
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

TEST_F(NsmServerTest, OversizeFrameGetsInputTooLargeThenClose) {
  const int fd = RawConnect(path_);
  ASSERT_GE(fd, 0);
  SendRaw(fd, {0x00, 0x00, 0x13, 0x88});  // announces 5000 bytes
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> answer, nsm::ReadFrame(fd, nsm::kMaxResponseSize));
  VEIL_ASSERT_OK_AND_ASSIGN(protocol::Response response, protocol::DecodeResponse(answer));
  ASSERT_TRUE(std::holds_alternative<protocol::ErrorResponse>(response));
  EXPECT_EQ(std::get<protocol::ErrorResponse>(response).code, nsm::ErrorCode::kInputTooLarge);
  EXPECT_THAT(nsm::ReadFrame(fd, nsm::kMaxResponseSize), StatusIs(absl::StatusCode::kOutOfRange));
  ::close(fd);
  // A 4 GiB announcement is refused the same way.
  const int fd2 = RawConnect(path_);
  SendRaw(fd2, {0xff, 0xff, 0xff, 0xff});
  VEIL_ASSERT_OK_AND_ASSIGN(answer, nsm::ReadFrame(fd2, nsm::kMaxResponseSize));
  EXPECT_EQ(HexEncode(answer), HexEncode(*protocol::EncodeResponse(
                                   protocol::ErrorResponse{nsm::ErrorCode::kInputTooLarge})));
  ::close(fd2);
  ExpectServing();
}

TEST_F(NsmServerTest, GarbageInAFrameIsAnErrorResponseAndTheConnectionStays) {
  const int fd = RawConnect(path_);
  ASSERT_GE(fd, 0);
  VEIL_ASSERT_OK(nsm::WriteFrame(fd, std::vector<uint8_t>{0xde, 0xad, 0xbe, 0xef}, 4096));
  VEIL_ASSERT_OK_AND_ASSIGN(std::vector<uint8_t> answer, nsm::ReadFrame(fd, nsm::kMaxResponseSize));
  VEIL_ASSERT_OK_AND_ASSIGN(protocol::Response response, protocol::DecodeResponse(answer));
  ASSERT_TRUE(std::holds_alternative<protocol::ErrorResponse>(response));
  EXPECT_EQ(std::get<protocol::ErrorResponse>(response).code, nsm::ErrorCode::kInvalidArgument);
  // An empty frame too.
  VEIL_ASSERT_OK(nsm::WriteFrame(fd, std::vector<uint8_t>{}, 4096));
  VEIL_ASSERT_OK_AND_ASSIGN(answer, nsm::ReadFrame(fd, nsm::kMaxResponseSize));
  VEIL_ASSERT_OK(protocol::DecodeResponse(answer));
  // Then a valid request on the same connection.
  VEIL_ASSERT_OK(nsm::WriteFrame(fd, *protocol::EncodeRequest(protocol::GetRandomRequest{}), 4096));
  VEIL_ASSERT_OK_AND_ASSIGN(answer, nsm::ReadFrame(fd, nsm::kMaxResponseSize));
  VEIL_ASSERT_OK_AND_ASSIGN(response, protocol::DecodeResponse(answer));
  EXPECT_TRUE(std::holds_alternative<protocol::GetRandomResponse>(response));
  ::close(fd);
}

TEST_F(NsmServerTest, TruncatedFramesAndAbruptClosesAreSurvived) {
  for (const std::vector<uint8_t>& junk :
       {std::vector<uint8_t>{0x00}, std::vector<uint8_t>{0x00, 0x00, 0x00, 0x10, 0xa1},
        std::vector<uint8_t>{0x00, 0x00, 0x00}}) {
    const int fd = RawConnect(path_);
    ASSERT_GE(fd, 0);
    SendRaw(fd, junk);
    ::close(fd);
  }
  ExpectServing();
}

TEST_F(NsmServerTest, RandomFramesNeverCrashTheServer) {
  const int fd = RawConnect(path_);
  ASSERT_GE(fd, 0);
  const std::vector<uint8_t> valid = *protocol::EncodeRequest(protocol::ExtendPcrRequest{20, {1, 2, 3}});
  size_t answered = 0;
  veil::testing::ForEachBitFlip(valid, [&](const veil::testing::Mutation& m) {
    if (!nsm::WriteFrame(fd, m.bytes, 4096).ok()) return;
    absl::StatusOr<std::vector<uint8_t>> answer = nsm::ReadFrame(fd, nsm::kMaxResponseSize);
    ASSERT_TRUE(answer.ok()) << m.what << ": " << answer.status();
    EXPECT_TRUE(protocol::DecodeResponse(*answer).ok()) << m.what;
    ++answered;
  });
  EXPECT_EQ(answered, valid.size() * 8);
  ::close(fd);
  ExpectServing();
}

TEST(HandleNsmRequestTest, AlwaysAnswersWithADecodableResponse) {
  std::shared_ptr<nsm::NsmDevice> device = NewDevice();
  const std::vector<uint8_t> valid =
      *protocol::EncodeRequest(protocol::AttestationRequest{std::vector<uint8_t>{1}, std::nullopt,
                                                            std::vector<uint8_t>{2}});
  auto check = [&](const veil::testing::Mutation& m) {
    const std::vector<uint8_t> answer = HandleNsmRequest(*device, m.bytes);
    EXPECT_TRUE(protocol::DecodeResponse(answer).ok()) << m.what;
  };
  veil::testing::ForEachTruncation(valid, check);
  veil::testing::ForEachAppend(valid, check);
  // Bit flips of the short, fast requests (attestation signs each time).
  veil::testing::ForEachBitFlip(*protocol::EncodeRequest(protocol::LockPcrsRequest{20}), check);
  const std::vector<uint8_t> oversize(5000, 0x40);
  VEIL_ASSERT_OK_AND_ASSIGN(protocol::Response r,
                            protocol::DecodeResponse(HandleNsmRequest(*device, oversize)));
  EXPECT_EQ(std::get<protocol::ErrorResponse>(r).code, nsm::ErrorCode::kInputTooLarge);
}

TEST(NsmServerStartTest, RefusesToReplaceARegularFileAndLimitsConnections) {
  const std::string path = "/tmp/veil-nsm-test-" + std::to_string(::getpid()) + "-file.sock";
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_THAT(NsmServer::Start(path, NewDevice()), StatusIs(absl::StatusCode::kFailedPrecondition));
  ::unlink(path.c_str());

  NsmServerOptions options;
  options.max_connections = 1;
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<NsmServer> server,
                            NsmServer::Start(path, NewDevice(), options));
  VEIL_ASSERT_OK_AND_ASSIGN(std::unique_ptr<nsm::NsmDevice> first, nsm::DevNsm::ConnectSimulator(path));
  EXPECT_FALSE(nsm::DevNsm::ConnectSimulator(path).ok());
  VEIL_EXPECT_OK(first->GetRandom());
  server->Shutdown();
  EXPECT_FALSE(first->GetRandom().ok());
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // socket file removed
}

}  // namespace
}  // namespace veil::nitro_sim
