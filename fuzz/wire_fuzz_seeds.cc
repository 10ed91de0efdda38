#include "fuzz/wire_fuzz_seeds.h"

#include <utility>

#include "absl/time/time.h"
#include "veil/common/byte_reader.h"
#include "veil/common/secret_bytes.h"
#include "veil/wire/messages.h"

namespace veil::fuzz {
namespace {

namespace w = veil::wire;

std::vector<uint8_t> Framed(const std::vector<uint8_t>& body) {
  const uint32_t n = static_cast<uint32_t>(body.size());
  std::vector<uint8_t> out = {static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                              static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

std::vector<WireSeed> MakeWireSeeds() {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> messages;
  auto request = [&](const std::string& name, w::Request r) {
    messages.emplace_back(name + "-request", w::EncodeRequest(r).value());
  };
  auto response = [&](const std::string& name, w::Response r) {
    messages.emplace_back(name + "-response", w::EncodeResponse(r).value());
  };
  request("infer", {7, w::InferRequest{"acme", "req-0001", {0x02, 0x05, 0x78, 0x01}}});
  request("attest", {8, w::AttestRequest{std::vector<uint8_t>(32, 0x11), std::vector<uint8_t>{1}}});
  request("attest-empty", {9, w::AttestRequest{}});
  request("health", {10, w::HealthRequest{}});
  w::CredentialsRequest c;
  c.access_key_id = "ASIAEXAMPLE";
  c.secret_access_key = SecretBytes::Copy(AsBytes("not-a-real-secret"));
  c.session_token = "session";
  c.expiration = absl::FromUnixSeconds(1736179625) + absl::Milliseconds(250);
  request("credentials", {11, std::move(c)});
  response("infer", {7, w::InferResponse{{0x02, 0x05, 0x78}}});
  response("attest", {8, w::AttestResponse{{0xd2, 0x84, 0x44}}});
  response("health", {10, w::HealthResponse{"ok", "local", "yolov5s", std::string(64, 'e'), 2, 4}});
  response("credentials", {11, w::CredentialsResponse{}});
  response("error", {12, w::ErrorResponse{w::ErrorCode::kTooLarge}});

  std::vector<WireSeed> seeds;
  std::vector<uint8_t> stream;
  for (const auto& [name, bytes] : messages) {
    seeds.push_back({name + ".cbor", bytes});
    seeds.push_back({name + ".frame", Framed(bytes)});
    const std::vector<uint8_t> f = Framed(bytes);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  seeds.push_back({"all.frames", stream});
  seeds.push_back({"zero-length.frame", {0, 0, 0, 0}});
  seeds.push_back({"over-limit.frame", {0, 0, 0x10, 0x01, 0xa0}});
  return seeds;
}

}  // namespace veil::fuzz
