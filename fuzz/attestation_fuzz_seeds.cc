#include "fuzz/attestation_fuzz_seeds.h"

#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/attestation/cose_sign1.h"
#include "veil/common/cbor.h"

namespace veil::fuzz {
namespace {

constexpr const char* kDocuments[] = {
    "doc1-eu-central-1-2025-01-06.cbor", "doc2-us-east-1-2022-10-13.cbor",
    "doc3-us-east-1-2022-10-12-debug.cbor", "doc4-ap-south-1-2025-11-10-pcr16.cbor"};

absl::StatusOr<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> SyntheticPayload(bool indefinite) {
  cbor::Writer w;
  if (indefinite) {
    const uint8_t bf = 0xbf;
    w.Raw(absl::MakeConstSpan(&bf, 1));
  } else {
    w.MapHeader(9);
  }
  w.Text("module_id");
  w.Text("i-0123456789abcdef0-enc0123456789abcdef");
  w.Text("digest");
  w.Text("SHA384");
  w.Text("timestamp");
  w.Unsigned(1736179625472);
  w.Text("pcrs");
  w.MapHeader(2);
  for (uint64_t i = 0; i < 2; ++i) {
    w.Unsigned(i);
    w.Bytes(std::vector<uint8_t>(48, static_cast<uint8_t>(i)));
  }
  w.Text("certificate");
  w.Bytes(std::vector<uint8_t>(16, 0x30));
  w.Text("cabundle");
  w.ArrayHeader(1);
  w.Bytes(std::vector<uint8_t>(16, 0x30));
  w.Text("public_key");
  w.Null();
  w.Text("user_data");
  w.Bytes({});
  w.Text("nonce");
  w.Bytes(std::vector<uint8_t>(32, 0x07));
  if (indefinite) {
    const uint8_t ff = 0xff;
    w.Raw(absl::MakeConstSpan(&ff, 1));
  }
  return w.Release();
}

std::vector<uint8_t> Envelope(const std::vector<uint8_t>& payload) {
  cbor::Writer w;
  w.ArrayHeader(4);
  const uint8_t es384[] = {0xa1, 0x01, 0x38, 0x22};
  w.Bytes(es384);
  w.MapHeader(0);
  w.Bytes(payload);
  w.Bytes(std::vector<uint8_t>(attestation::kEs384SignatureSize, 0x01));
  return w.Release();
}

}  // namespace

absl::StatusOr<std::vector<AttestationSeed>> MakeAttestationSeeds(
    const std::optional<std::string>& shared_dir) {
  std::vector<AttestationSeed> seeds;
  if (shared_dir.has_value()) {
    for (const char* name : kDocuments) {
      auto doc = ReadFile(absl::StrCat(*shared_dir, "/testdata/nitro/", name));
      if (!doc.ok()) return doc.status();
      auto cose = attestation::ParseCoseSign1(*doc);
      if (!cose.ok()) return cose.status();
      seeds.push_back({absl::StrCat("payload-", name),
                       std::vector<uint8_t>(cose->payload.begin(), cose->payload.end())});
      seeds.push_back({name, *std::move(doc)});
    }
    std::vector<uint8_t> tagged = {0xd2};
    tagged.insert(tagged.end(), seeds[1].input.begin(), seeds[1].input.end());
    seeds.push_back({"tagged-doc1", std::move(tagged)});
  }
  seeds.push_back({"synthetic-payload", SyntheticPayload(false)});
  seeds.push_back({"synthetic-payload-indefinite", SyntheticPayload(true)});
  seeds.push_back({"synthetic-document", Envelope(SyntheticPayload(false))});
  seeds.push_back({"synthetic-document-indefinite", Envelope(SyntheticPayload(true))});
  // RFC 8949 Appendix A shapes: nesting, indefinite containers, tags.
  seeds.push_back({"cbor-nested", {0x83, 0x01, 0x82, 0x02, 0x03, 0x9f, 0x04, 0x05, 0xff}});
  seeds.push_back({"cbor-map", {0xbf, 0x63, 0x46, 0x75, 0x6e, 0xf5, 0x63, 0x41, 0x6d, 0x74, 0x21,
                                0xff}});
  seeds.push_back({"cbor-tag", {0xc1, 0x1a, 0x51, 0x4b, 0x67, 0xb0}});
  return seeds;
}

}  // namespace veil::fuzz
