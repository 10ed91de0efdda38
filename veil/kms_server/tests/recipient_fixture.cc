// recipient_fixture OUT_DIR [SPKI_DER]: writes what the Recipient test needs, made with
// the NSM simulator library: a simulator CA's root (root.pem), an enclave's
// ephemeral RSA-2048 key (enclave-key.pem), and attestation documents whose
// public_key is that key's SPKI: doc-good.bin for the image "veil enclave
// image" and doc-other.bin for another image, each with its PCR0 in hex
// (pcr0-good.txt, pcr0-other.txt). With SPKI_DER (a public key file in DER),
// also doc-spki.bin for the good image carrying that key instead (the test
// passes an RSA-1024 key, which KMS refuses). Exit status 0 on success.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/attestation/nsm/measurement.h"
#include "veil/attestation/nsm/simulated_nsm.h"
#include "veil/attestation/nsm/simulator_ca.h"
#include "veil/common/byte_reader.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/rsa.h"

namespace {

absl::Status Write(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return out.good() ? absl::OkStatus() : absl::InternalError(absl::StrCat("cannot write ", path));
}

absl::Status Document(const std::shared_ptr<const veil::attestation::nsm::SimulatorCa>& ca,
                      const std::string& image, const std::vector<uint8_t>& spki,
                      const std::string& dir, const std::string& name) {
  const std::vector<uint8_t> bytes(image.begin(), image.end());
  const absl::Span<const uint8_t> parts[] = {bytes};
  veil::attestation::nsm::SimulatedNsmOptions options;
  VEIL_ASSIGN_OR_RETURN(options.image, veil::attestation::nsm::MeasureImageParts(parts));
  VEIL_ASSIGN_OR_RETURN(auto nsm, veil::attestation::nsm::SimulatedNsm::Create(ca, options));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> doc,
                        nsm->GetAttestationDocument(std::nullopt, std::nullopt,
                                                    absl::Span<const uint8_t>(spki)));
  VEIL_RETURN_IF_ERROR(Write(dir + "/doc-" + name + ".bin", veil::AsStringView(doc)));
  return Write(dir + "/pcr0-" + name + ".txt", veil::HexEncode(options.image.pcr0));
}

absl::Status Run(const std::string& dir, const std::string& spki_path) {
  VEIL_ASSIGN_OR_RETURN(std::shared_ptr<const veil::attestation::nsm::SimulatorCa> ca,
                        veil::attestation::nsm::SimulatorCa::Generate());
  VEIL_RETURN_IF_ERROR(Write(dir + "/root.pem", ca->RootPem()));
  VEIL_ASSIGN_OR_RETURN(auto key, veil::crypto::RsaPrivateKey::Generate(2048));
  VEIL_ASSIGN_OR_RETURN(veil::SecretBytes pem, key->PrivateKeyPem());
  VEIL_RETURN_IF_ERROR(Write(dir + "/enclave-key.pem", veil::AsStringView(pem.Expose())));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> spki, veil::crypto::RecipientPublicKeyDer(*key));
  VEIL_RETURN_IF_ERROR(Document(ca, "veil enclave image", spki, dir, "good"));
  VEIL_RETURN_IF_ERROR(Document(ca, "some other enclave image", spki, dir, "other"));
  if (spki_path.empty()) return absl::OkStatus();
  std::ifstream in(spki_path, std::ios::binary);
  const std::vector<uint8_t> other((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  if (other.empty()) return absl::NotFoundError(absl::StrCat("cannot read ", spki_path));
  return Document(ca, "veil enclave image", other, dir, "spki");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s OUT_DIR [SPKI_DER]\n", argv[0]);
    return 2;
  }
  const absl::Status status = Run(argv[1], argc == 3 ? argv[2] : "");
  if (!status.ok()) {
    std::fprintf(stderr, "recipient_fixture: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
