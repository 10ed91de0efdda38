// The request pipeline with the local key tier and a fake model: every
// refusal has its code, nothing but ciphertext and codes leaves, and every
// plaintext buffer is wiped.
#include "veil/enclave/pipeline.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "opencv2/imgcodecs.hpp"
#include "rapidcheck/gtest.h"
#include "veil/crypto/random.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "veil/inference/testing/fake_model_runner.h"
#include "veil/testing/status_matchers.h"

namespace veil::enclave {
namespace {

using wire::ErrorCode;

constexpr absl::Time kNow = absl::FromUnixSeconds(1795000000);

std::shared_ptr<const esdk::Keyring> Keyring(const std::string& name, uint8_t fill) {
  return *esdk::RawAesKeyring::Create("veil", name, SecretBytes::Copy(std::vector<uint8_t>(32, fill)));
}

std::vector<uint8_t> Png(int w, int h, uint8_t value = 90) {
  std::vector<uint8_t> out;
  cv::imencode(".png", cv::Mat(h, w, CV_8UC3, cv::Scalar(value, value, value)), out);
  return out;
}

inference::ModelManifest FakeManifest() {
  inference::ModelManifest m;
  m.id = "fake";
  m.version = "1";
  m.family = inference::ModelFamily::kYolov5;
  m.weights_sha256 = std::string(64, 'a');
  m.input_width = m.input_height = 64;
  m.class_names = inference::CocoClassNames();
  m.preprocessing = inference::DefaultPreprocessing(m.family);
  return m;
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : keys_({{"acme", Keyring("acme", 1)}, {"globex", Keyring("globex", 2)}}),
        replay_(100, [this] { return now_; }) {
    // One confident dog in the middle of the 64x64 input.
    auto runner = std::make_unique<inference::testing::FakeModelRunner>(
        inference::testing::FakeModelRunner::Rows({{32, 32, 16, 16, 0.9f, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0.8f}},
                                                  80));
    detector_ = *inference::Detector::Create(FakeManifest(), std::move(runner));
    PipelineOptions options;
    options.clock = [this] { return now_; };
    pipeline_ = std::make_unique<InferencePipeline>(&keys_, detector_.get(), &replay_, options);
  }

  esdk::EncryptionContext Context(const std::string& tenant, const std::string& request,
                                  absl::Duration ttl = absl::Minutes(5)) {
    return {{"tenant", tenant},
            {"purpose", "ml-inference"},
            {"request", request},
            {"expires", absl::FormatTime(absl::RFC3339_full, now_ + ttl, absl::UTCTimeZone())}};
  }

  std::vector<uint8_t> Seal(const std::string& key_tenant, const esdk::EncryptionContext& ec,
                            const std::vector<uint8_t>& image) {
    esdk::EncryptOptions options;
    options.encryption_context = ec;
    return *esdk::Encrypt(*keys_.KeyringFor(key_tenant), image, options);
  }

  wire::InferRequest Request(const std::string& tenant, const std::string& request,
                             std::vector<uint8_t> body) {
    return wire::InferRequest{tenant, request, std::move(body)};
  }

  // Open decrypts a result the way the client does.
  nlohmann::json Open(const Outcome& outcome, const std::string& tenant,
                      const std::string& request) {
    EXPECT_TRUE(std::holds_alternative<std::vector<uint8_t>>(outcome));
    esdk::DecryptOptions options;
    options.reproduced_encryption_context = {
        {"tenant", tenant}, {"purpose", "ml-inference-result"}, {"request", request}};
    auto result = esdk::Decrypt(*keys_.KeyringFor(tenant),
                                std::get<std::vector<uint8_t>>(outcome), options);
    EXPECT_TRUE(result.ok()) << result.status();
    const auto text = result->plaintext.Expose();
    return nlohmann::json::parse(text.begin(), text.end());
  }

  absl::Time now_ = kNow;
  StaticKeyProvider keys_;
  ReplayCache replay_;
  std::unique_ptr<inference::Detector> detector_;
  std::unique_ptr<InferencePipeline> pipeline_;
};

ErrorCode CodeOf(const Outcome& o) {
  return std::holds_alternative<ErrorCode>(o) ? std::get<ErrorCode>(o) : ErrorCode::kInternal;
}

TEST_F(PipelineTest, RoundTrip) {
  const auto body = Seal("acme", Context("acme", "r-1"), Png(640, 480));
  const nlohmann::json result = Open(pipeline_->Handle(Request("acme", "r-1", body)), "acme", "r-1");
  ASSERT_EQ(result["detections"].size(), 1u) << result.dump();
  EXPECT_EQ(result["detections"][0]["label"], "dog");
  EXPECT_EQ(result["image"]["width"], 640);
  EXPECT_EQ(result["model"]["id"], "fake");
}

TEST_F(PipelineTest, WrongTenantIsRefusedBeforeAnyKeyIsUsed) {
  // The host says globex; the message says acme (and is under acme's key).
  const auto body = Seal("acme", Context("acme", "r-1"), Png(8, 8));
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("globex", "r-1", body))),
            ErrorCode::kPermissionDenied);
  // The context claims globex, but the data key is wrapped under acme's key:
  // globex's keyring cannot unwrap it.
  const auto forged = Seal("acme", Context("globex", "r-2"), Png(8, 8));
  const ErrorCode code = CodeOf(pipeline_->Handle(Request("globex", "r-2", forged)));
  EXPECT_TRUE(code == ErrorCode::kPermissionDenied || code == ErrorCode::kUnauthenticated)
      << wire::ErrorCodeName(code);
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("initech", "r-3", body))),
            ErrorCode::kPermissionDenied);
}

TEST_F(PipelineTest, ContextRules) {
  auto ec = Context("acme", "r-1");
  ec["purpose"] = "something-else";
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("acme", "r-1", Seal("acme", ec, Png(8, 8))))),
            ErrorCode::kPermissionDenied);
  // The host relayed another request id than the message carries.
  EXPECT_EQ(CodeOf(pipeline_->Handle(
                Request("acme", "r-other", Seal("acme", Context("acme", "r-2"), Png(8, 8))))),
            ErrorCode::kBadRequest);
  ec = Context("acme", "r-3");
  ec.erase("expires");
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("acme", "r-3", Seal("acme", ec, Png(8, 8))))),
            ErrorCode::kBadRequest);
  ec["expires"] = "tomorrow";
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("acme", "r-3", Seal("acme", ec, Png(8, 8))))),
            ErrorCode::kBadRequest);
  // Further ahead than the enclave's max TTL (15 minutes).
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request(
                "acme", "r-4", Seal("acme", Context("acme", "r-4", absl::Hours(2)), Png(8, 8))))),
            ErrorCode::kBadRequest);
}

TEST_F(PipelineTest, ExpiredAndReplayedRequestsAreRefused) {
  const auto body = Seal("acme", Context("acme", "r-1", absl::Minutes(1)), Png(8, 8));
  ASSERT_TRUE(std::holds_alternative<std::vector<uint8_t>>(
      pipeline_->Handle(Request("acme", "r-1", body))));
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("acme", "r-1", body))), ErrorCode::kReplayed);
  now_ += absl::Minutes(2);
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("acme", "r-1", body))), ErrorCode::kExpired);
}

TEST_F(PipelineTest, TamperedCiphertextGetsTheGenericCodeAndBurnsNothing) {
  const auto body = Seal("acme", Context("acme", "r-1"), Png(16, 16));
  // Flip bits across the body (header, frames, tag); every one is refused.
  for (size_t i = 0; i < body.size(); i += std::max<size_t>(1, body.size() / 97)) {
    std::vector<uint8_t> bad = body;
    bad[i] ^= 0x01;
    const ErrorCode code = CodeOf(pipeline_->Handle(Request("acme", "r-1", bad)));
    EXPECT_NE(code, ErrorCode::kInternal) << i;
    EXPECT_TRUE(code == ErrorCode::kUnauthenticated || code == ErrorCode::kBadRequest ||
                code == ErrorCode::kPermissionDenied)
        << i << " " << wire::ErrorCodeName(code);
  }
  // A flip in the last frame (past the header) is the authentication code.
  std::vector<uint8_t> bad = body;
  bad[bad.size() - 20] ^= 0x80;
  EXPECT_EQ(CodeOf(pipeline_->Handle(Request("acme", "r-1", bad))), ErrorCode::kUnauthenticated);
  // The forged copies did not spend the request id.
  EXPECT_TRUE(std::holds_alternative<std::vector<uint8_t>>(
      pipeline_->Handle(Request("acme", "r-1", body))));
}

TEST_F(PipelineTest, ABadImageBecomesAnEncryptedError) {
  const std::vector<uint8_t> text = {'n', 'o', 't', ' ', 'a', 'n', ' ', 'i', 'm', 'a', 'g', 'e'};
  const nlohmann::json result =
      Open(pipeline_->Handle(Request("acme", "r-1", Seal("acme", Context("acme", "r-1"), text))),
           "acme", "r-1");
  EXPECT_EQ(result["error"]["code"], "INVALID_ARGUMENT");
  EXPECT_THAT(result["error"]["message"].get<std::string>(),
              ::testing::HasSubstr("neither JPEG nor PNG"));
}

// Canary property: random images carrying random canary bytes. No canary
// reaches anything the host receives (the response), and every plaintext
// buffer is wiped (the observer sees it after the wipe).
RC_GTEST_FIXTURE_PROP(PipelineTest, NoCanaryLeaves, ()) {
  const auto canary = *rc::gen::container<std::vector<uint8_t>>(16, rc::gen::arbitrary<uint8_t>());
  const int w = *rc::gen::inRange(1, 64);
  const int h = *rc::gen::inRange(1, 64);
  const bool valid_image = *rc::gen::arbitrary<bool>();
  std::vector<uint8_t> image = valid_image ? Png(w, h) : std::vector<uint8_t>{};
  // Embed the canary: in a PNG as an ancillary text chunk's payload region
  // (after the signature, before IEND, still a decodable file), or as the
  // whole "image" otherwise.
  if (valid_image) {
    std::vector<uint8_t> chunk = {0, 0, 0, 16, 't', 'E', 'X', 't'};
    chunk.insert(chunk.end(), canary.begin(), canary.end());
    chunk.insert(chunk.end(), {0, 0, 0, 0});  // bad CRC: intake refuses it, encrypted error
    image.insert(image.begin() + 8 + 25, chunk.begin(), chunk.end());
  } else {
    image = canary;
  }
  std::vector<std::vector<uint8_t>> observed;
  pipeline_->set_plaintext_observer_for_testing(
      [&observed](const uint8_t* d, size_t n) { observed.emplace_back(d, d + n); });
  const std::string request = "r-" + std::to_string(*rc::gen::inRange(0, 1 << 30));
  const Outcome outcome =
      pipeline_->Handle(Request("acme", request, Seal("acme", Context("acme", request), image)));
  pipeline_->set_plaintext_observer_for_testing(nullptr);
  RC_ASSERT(std::holds_alternative<std::vector<uint8_t>>(outcome));
  const auto& body = std::get<std::vector<uint8_t>>(outcome);
  RC_ASSERT(std::search(body.begin(), body.end(), canary.begin(), canary.end()) == body.end());
  RC_ASSERT(observed.size() == 2u);  // the image and the result JSON
  for (const auto& buffer : observed) {
    RC_ASSERT(std::all_of(buffer.begin(), buffer.end(), [](uint8_t b) { return b == 0; }));
  }
}

TEST(ParseExpiryTest, Rfc3339Only) {
  VEIL_EXPECT_OK(ParseExpiry("2026-11-24T10:00:00Z").status());
  VEIL_EXPECT_OK(ParseExpiry("2026-11-24T10:00:00.123+01:00").status());
  EXPECT_FALSE(ParseExpiry("1795000000").ok());
  EXPECT_FALSE(ParseExpiry("2026-11-24").ok());
  EXPECT_FALSE(ParseExpiry("").ok());
}

}  // namespace
}  // namespace veil::enclave
