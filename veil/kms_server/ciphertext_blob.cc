#include "veil/kms_server/ciphertext_blob.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/byte_writer.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/random.h"

namespace veil::kms_server {

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<std::vector<uint8_t>> UuidToBytes(const std::string& uuid) {
  if (!IsUuid(uuid)) return absl::InvalidArgumentError("not a UUID");
  std::string hex;
  for (char c : uuid) {
    if (c != '-') hex.push_back(c);
  }
  return HexDecode(hex);
}

std::string UuidFromBytes(absl::Span<const uint8_t> bytes) {
  const std::string hex = HexEncode(bytes);
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

absl::StatusOr<std::string> NewUuid() {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> b, crypto::RandomBytes(16));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  return UuidFromBytes(b);
}

absl::StatusOr<std::vector<uint8_t>> CanonicalEncryptionContext(const EncryptionContext& ec) {
  if (ec.size() > 0xFFFF) return absl::InvalidArgumentError("encryption context too large");
  ByteWriter w;
  w.WriteU16(static_cast<uint16_t>(ec.size()));
  for (const auto& [k, v] : ec) {
    if (!w.WriteLengthPrefixed16(AsBytes(k)) || !w.WriteLengthPrefixed16(AsBytes(v))) {
      return absl::InvalidArgumentError("encryption context entry too long");
    }
  }
  return w.Release();
}

namespace {

absl::StatusOr<std::vector<uint8_t>> Aad(absl::Span<const uint8_t> header,
                                         const EncryptionContext& ec) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> canonical, CanonicalEncryptionContext(ec));
  std::vector<uint8_t> aad(header.begin(), header.end());
  aad.insert(aad.end(), canonical.begin(), canonical.end());
  return aad;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> SealBlob(const BlobHeader& header,
                                              const SecretBytes& material,
                                              const EncryptionContext& ec,
                                              absl::Span<const uint8_t> plaintext) {
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> id, UuidToBytes(header.key_id));
  ByteWriter w(kBlobOverhead + plaintext.size());
  w.WriteU8(kBlobFormat);
  w.WriteBytes(id);
  w.WriteU32(header.key_version);
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> aad, Aad(w.bytes(), ec));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> iv, crypto::RandomBytes(crypto::kGcmIvSize));
  VEIL_ASSIGN_OR_RETURN(auto gcm, crypto::AesGcm::New(material.Expose()));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed, gcm->SealToVector(iv, aad, plaintext));
  w.WriteBytes(iv);
  w.WriteBytes(sealed);
  return w.Release();
}

absl::StatusOr<BlobHeader> ParseBlobHeader(absl::Span<const uint8_t> blob) {
  ByteReader r(blob);
  uint8_t format = 0;
  absl::Span<const uint8_t> id;
  BlobHeader header;
  if (blob.size() < kBlobOverhead || !r.ReadU8(&format) || format != kBlobFormat ||
      !r.ReadBytes(16, &id) || !r.ReadU32(&header.key_version)) {
    return absl::InvalidArgumentError("not a veil-kms ciphertext blob");
  }
  header.key_id = UuidFromBytes(id);
  return header;
}

absl::StatusOr<SecretBytes> OpenBlob(absl::Span<const uint8_t> blob, const SecretBytes& material,
                                     const EncryptionContext& ec) {
  VEIL_RETURN_IF_ERROR(ParseBlobHeader(blob));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> aad, Aad(blob.first(kBlobHeaderSize), ec));
  VEIL_ASSIGN_OR_RETURN(auto gcm, crypto::AesGcm::New(material.Expose()));
  const absl::Span<const uint8_t> iv = blob.subspan(kBlobHeaderSize, crypto::kGcmIvSize);
  auto opened = gcm->OpenToSecret(iv, aad, blob.subspan(kBlobHeaderSize + crypto::kGcmIvSize));
  if (!opened.ok()) return absl::UnauthenticatedError("ciphertext does not authenticate");
  return opened;
}

}  // namespace veil::kms_server
