#include "veil/attestation/testing/nitro_fixtures.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/attestation/internal/ssl_ptr.h"
#include "veil/common/status_macros.h"
#include "veil/testing/testdata.h"

namespace veil::attestation::testing {

absl::StatusOr<std::vector<NitroFixture>> LoadNitroFixtures(const std::string& shared_dir) {
  const std::string dir = shared_dir + "/testdata/nitro/";
  VEIL_ASSIGN_OR_RETURN(std::string text, veil::testing::ReadFileString(dir + "expected.json"));
  // The no-throw parse is nlohmann's adapter form (STYLE.md C4).
  const nlohmann::json root = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object() || !root.contains("documents") ||
      !root["documents"].is_array()) {
    return absl::InvalidArgumentError("expected.json: no documents array");
  }
  std::vector<NitroFixture> out;
  for (const nlohmann::json& doc : root["documents"]) {
    if (!doc.is_object() || !doc.contains("file") || !doc["file"].is_string() ||
        !doc.contains("timestamp_ms") || !doc["timestamp_ms"].is_number_integer()) {
      return absl::InvalidArgumentError("expected.json: document without file or timestamp_ms");
    }
    NitroFixture f;
    f.file = doc["file"].get<std::string>();
    f.expected = doc;
    f.timestamp_ms = doc["timestamp_ms"].get<int64_t>();
    VEIL_ASSIGN_OR_RETURN(f.document, veil::testing::ReadFile(dir + f.file));
    out.push_back(std::move(f));
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> LoadAwsNitroRootDer(const std::string& shared_dir) {
  VEIL_ASSIGN_OR_RETURN(
      std::string pem,
      veil::testing::ReadFileString(shared_dir + "/testdata/nitro/aws-nitro-enclaves-root-g1.pem"));
  internal::SslPtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  internal::SslPtr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return internal::SslError(absl::StatusCode::kInvalidArgument, "root PEM does not parse");
  }
  const int len = i2d_X509(cert.get(), nullptr);
  std::vector<uint8_t> der(static_cast<size_t>(len));
  uint8_t* p = der.data();
  i2d_X509(cert.get(), &p);
  return der;
}

}  // namespace veil::attestation::testing
