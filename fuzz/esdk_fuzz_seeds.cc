#include "fuzz/esdk_fuzz_seeds.h"

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/byte_writer.h"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/ecdsa.h"
#include "veil/crypto/hkdf.h"
#include "veil/crypto/random.h"
#include "veil/esdk/algorithm_suite.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/esdk.h"
#include "veil/esdk/multi_keyring.h"
#include "veil/esdk/raw_aes_keyring.h"
#include "fuzz/esdk_decrypt_fuzzer.h"

namespace veil::fuzz {
namespace {

constexpr uint16_t kAllSuites[] = {
    esdk::kSuite0014, esdk::kSuite0046, esdk::kSuite0078, esdk::kSuite0114,
    esdk::kSuite0146, esdk::kSuite0178, esdk::kSuite0214, esdk::kSuite0346,
    esdk::kSuite0378, esdk::kSuite0478, esdk::kSuite0578};

// Selectors cycled over the seeds: whole message, tiny chunks, chunks that
// straddle 64-byte frames, large chunks.
constexpr uint8_t kSelectors[] = {0, 1, 7, 64, 100, 128, 131, 200, 255};

const esdk::EncryptionContext& DefaultContext() {
  static const esdk::EncryptionContext ec = {{"purpose", "veil-fuzz"}, {"tenant", "acme"}};
  return ec;
}

std::vector<uint8_t> Pattern(size_t n, uint16_t salt) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 31 + salt);
  return v;
}

esdk::CommitmentPolicy PolicyFor(uint16_t suite) {
  return esdk::FindSuite(suite)->committing ? esdk::CommitmentPolicy::kRequireEncryptRequireDecrypt
                                            : esdk::CommitmentPolicy::kForbidEncryptAllowDecrypt;
}

std::string SuiteHex(uint16_t suite) { return esdk::SuiteIdString(suite).substr(2); }

absl::StatusOr<std::vector<uint8_t>> Framed(std::shared_ptr<const esdk::Keyring> keyring,
                                            uint16_t suite, uint32_t frame_length,
                                            absl::Span<const uint8_t> plaintext,
                                            const esdk::EncryptionContext& ec) {
  esdk::EncryptOptions options;
  options.suite_id = suite;
  options.frame_length = frame_length;
  options.commitment_policy = PolicyFor(suite);
  options.encryption_context = ec;
  return esdk::Encrypt(std::move(keyring), plaintext, options);
}

struct DerivedKeys {
  SecretBytes data_key;
  std::vector<uint8_t> commit_key;
};

// DeriveKeys re-states the suite key derivation from the spec
// (framework/algorithm-suites.md) rather than calling the module's internal
// one, so a seed that decrypts also cross-checks the two.
absl::StatusOr<DerivedKeys> DeriveKeys(const esdk::AlgorithmSuite& suite,
                                       absl::Span<const uint8_t> pdk,
                                       absl::Span<const uint8_t> message_id) {
  DerivedKeys keys;
  if (!suite.kdf_hash) {
    keys.data_key = SecretBytes::Copy(pdk);
    return keys;
  }
  ByteWriter info;
  info.WriteU16(suite.id);
  if (!suite.committing) {
    info.WriteBytes(message_id);
    VEIL_ASSIGN_OR_RETURN(keys.data_key,
                          crypto::Hkdf(*suite.kdf_hash, pdk, {}, info.bytes(), suite.key_length));
    return keys;
  }
  VEIL_ASSIGN_OR_RETURN(SecretBytes prk, crypto::HkdfExtract(*suite.kdf_hash, message_id, pdk));
  info.WriteString("DERIVEKEY");
  VEIL_ASSIGN_OR_RETURN(keys.data_key, crypto::HkdfExpand(*suite.kdf_hash, prk.Expose(),
                                                          info.bytes(), suite.key_length));
  VEIL_ASSIGN_OR_RETURN(SecretBytes commit,
                        crypto::HkdfExpand(*suite.kdf_hash, prk.Expose(), AsBytes("COMMITKEY"), 32));
  keys.commit_key.assign(commit.Expose().begin(), commit.Expose().end());
  return keys;
}

// NonFramed writes a non-framed (single block) message by hand, per
// data-format/message-header.md and message-body.md#non-framed-data. With
// `foreign_edk` an EDK of another provider comes first.
absl::StatusOr<std::vector<uint8_t>> NonFramed(uint16_t suite_id,
                                               absl::Span<const uint8_t> plaintext,
                                               const esdk::EncryptionContext& ec,
                                               bool foreign_edk) {
  auto cmm = esdk::DefaultCmm::Create(FuzzKeyring());
  esdk::EncryptionMaterialsRequest request;
  request.encryption_context = ec;
  request.commitment_policy = PolicyFor(suite_id);
  request.suite_id = suite_id;
  request.max_plaintext_length = plaintext.size();
  VEIL_ASSIGN_OR_RETURN(esdk::EncryptionMaterials materials, cmm->GetEncryptionMaterials(request));
  const esdk::AlgorithmSuite& suite = *materials.suite;
  const bool v1 = suite.message_format_version == 1;

  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> message_id,
                        crypto::RandomBytes(suite.message_id_length()));
  VEIL_ASSIGN_OR_RETURN(DerivedKeys keys,
                        DeriveKeys(suite, materials.plaintext_data_key->Expose(), message_id));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> ec_bytes,
                        esdk::SerializeEncryptionContext(materials.encryption_context));
  std::vector<esdk::EncryptedDataKey> edks = materials.encrypted_data_keys;
  if (foreign_edk) {
    edks.insert(edks.begin(), esdk::EncryptedDataKey{"veil-fuzz-other", {1, 2, 3}, {4, 5, 6}});
  }

  ByteWriter w;
  w.WriteU8(suite.message_format_version);
  if (v1) w.WriteU8(0x80);  // customer AEAD data
  w.WriteU16(suite.id);
  w.WriteBytes(message_id);
  bool fits = w.WriteLengthPrefixed16(ec_bytes);
  w.WriteU16(static_cast<uint16_t>(edks.size()));
  for (const esdk::EncryptedDataKey& edk : edks) {
    fits = fits && w.WriteLengthPrefixed16(AsBytes(edk.provider_id)) &&
           w.WriteLengthPrefixed16(edk.provider_info) && w.WriteLengthPrefixed16(edk.ciphertext);
  }
  if (!fits) return absl::InternalError("seed header field too long");
  w.WriteU8(0x01);  // non-framed
  if (v1) {
    w.WriteU32(0);   // reserved
    w.WriteU8(12);   // IV length
  }
  w.WriteU32(0);     // frame length
  if (!v1) w.WriteBytes(keys.commit_key);
  std::vector<uint8_t> message = w.Release();

  VEIL_ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::New(keys.data_key.Expose()));
  const std::array<uint8_t, crypto::kGcmIvSize> zero_iv{};
  std::array<uint8_t, crypto::kGcmTagSize> tag;
  VEIL_RETURN_IF_ERROR(aead->Seal(zero_iv, message, {}, {}, absl::MakeSpan(tag)));
  if (v1) message.insert(message.end(), zero_iv.begin(), zero_iv.end());
  message.insert(message.end(), tag.begin(), tag.end());

  // Body: IV (the deterministic IV for sequence number 1), u64 length,
  // ciphertext, tag; AAD = message ID ‖ "... Single Block" ‖ u32 1 ‖ u64 length.
  std::array<uint8_t, crypto::kGcmIvSize> body_iv{};
  body_iv[11] = 1;
  ByteWriter aad;
  aad.WriteBytes(message_id);
  aad.WriteString("AWSKMSEncryptionClient Single Block");
  aad.WriteU32(1);
  aad.WriteU64(plaintext.size());
  ByteWriter length;
  length.WriteU64(plaintext.size());
  message.insert(message.end(), body_iv.begin(), body_iv.end());
  message.insert(message.end(), length.bytes().begin(), length.bytes().end());
  const size_t ct_at = message.size();
  message.resize(ct_at + plaintext.size() + crypto::kGcmTagSize);
  auto out = absl::MakeSpan(message).subspan(ct_at);
  VEIL_RETURN_IF_ERROR(aead->Seal(body_iv, aad.bytes(), plaintext, out.first(plaintext.size()),
                                  out.subspan(plaintext.size())));

  if (suite.signed_suite()) {
    VEIL_ASSIGN_OR_RETURN(auto signer, crypto::EcdsaSigner::FromPrivateKeyDer(
                                           *suite.signature_curve, materials.signing_key->Expose()));
    VEIL_RETURN_IF_ERROR(signer->Update(message));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> sig, signer->Finish(/*fixed_length=*/true));
    ByteWriter footer;
    if (!footer.WriteLengthPrefixed16(sig)) return absl::InternalError("signature too long");
    message.insert(message.end(), footer.bytes().begin(), footer.bytes().end());
  }
  return message;
}

class SeedList {
 public:
  void Add(std::string name, std::vector<uint8_t> message, std::vector<uint8_t> plaintext) {
    Seed seed;
    seed.name = std::move(name);
    seed.input.push_back(kSelectors[seeds_.size() % std::size(kSelectors)]);
    seed.input.insert(seed.input.end(), message.begin(), message.end());
    seed.plaintext = std::move(plaintext);
    seeds_.push_back(std::move(seed));
  }
  std::vector<Seed> Release() { return std::move(seeds_); }

 private:
  std::vector<Seed> seeds_;
};

absl::Status CheckSeed(const Seed& seed) {
  esdk::DecryptOptions options;
  options.commitment_policy = esdk::CommitmentPolicy::kRequireEncryptAllowDecrypt;
  auto result = esdk::Decrypt(FuzzKeyring(), absl::MakeConstSpan(seed.input).subspan(1), options);
  if (!result.ok()) {
    return absl::InternalError(
        absl::StrCat("seed ", seed.name, " does not decrypt: ", result.status().ToString()));
  }
  const auto got = result->plaintext.Expose();
  if (!std::equal(got.begin(), got.end(), seed.plaintext.begin(), seed.plaintext.end())) {
    return absl::InternalError(absl::StrCat("seed ", seed.name, " decrypts to other bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Seed>> MakeSeeds() {
  SeedList seeds;
  const std::shared_ptr<const esdk::Keyring> keyring = FuzzKeyring();

  // Every suite, 64-byte frames: empty, one byte, exactly one frame, four
  // frames (the last one partial).
  for (uint16_t suite : kAllSuites) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{64}, size_t{200}}) {
      auto plaintext = Pattern(size, suite);
      VEIL_ASSIGN_OR_RETURN(auto message, Framed(keyring, suite, 64, plaintext, DefaultContext()));
      seeds.Add(absl::StrCat(SuiteHex(suite), "-framed-f64-p", size), std::move(message),
                std::move(plaintext));
    }
  }
  // The default frame length, crossing one frame boundary.
  for (uint16_t suite : {esdk::kSuite0178, esdk::kSuite0478, esdk::kSuite0578}) {
    auto plaintext = Pattern(5000, suite);
    VEIL_ASSIGN_OR_RETURN(auto message, Framed(keyring, suite, 4096, plaintext, DefaultContext()));
    seeds.Add(absl::StrCat(SuiteHex(suite), "-framed-f4096-p5000"), std::move(message),
              std::move(plaintext));
  }
  // An empty encryption context (zero bytes in the header).
  for (uint16_t suite : {esdk::kSuite0014, esdk::kSuite0478}) {
    auto plaintext = Pattern(10, suite);
    VEIL_ASSIGN_OR_RETURN(auto message, Framed(keyring, suite, 64, plaintext, {}));
    seeds.Add(absl::StrCat(SuiteHex(suite), "-framed-f64-p10-ec0"), std::move(message),
              std::move(plaintext));
  }
  // Two EDKs, the first one wrapped under a key the fuzz keyring lacks.
  {
    std::vector<uint8_t> other_key(32, 0x5a);
    VEIL_ASSIGN_OR_RETURN(auto other, esdk::RawAesKeyring::Create(kFuzzKeyNamespace, "other-key",
                                                                  SecretBytes::Copy(other_key)));
    VEIL_ASSIGN_OR_RETURN(auto multi,
                          esdk::MultiKeyring::Create(std::move(other), {keyring}));
    std::shared_ptr<const esdk::Keyring> two_keys(std::move(multi));
    for (uint16_t suite : {esdk::kSuite0378, esdk::kSuite0478}) {
      auto plaintext = Pattern(100, suite);
      VEIL_ASSIGN_OR_RETURN(auto message,
                            Framed(two_keys, suite, 64, plaintext, DefaultContext()));
      seeds.Add(absl::StrCat(SuiteHex(suite), "-framed-f64-p100-2edk"), std::move(message),
                std::move(plaintext));
    }
  }
  // Non-framed messages: identity, HKDF, signed, committing suites.
  for (uint16_t suite : {esdk::kSuite0014, esdk::kSuite0114, esdk::kSuite0214, esdk::kSuite0346,
                         esdk::kSuite0478, esdk::kSuite0578}) {
    auto plaintext = Pattern(100, suite);
    VEIL_ASSIGN_OR_RETURN(auto message, NonFramed(suite, plaintext, DefaultContext(), false));
    seeds.Add(absl::StrCat(SuiteHex(suite), "-nonframed-p100"), std::move(message),
              std::move(plaintext));
  }
  {
    VEIL_ASSIGN_OR_RETURN(auto message, NonFramed(esdk::kSuite0078, {}, DefaultContext(), false));
    seeds.Add("0078-nonframed-p0", std::move(message), {});
    auto plaintext = Pattern(33, esdk::kSuite0146);
    VEIL_ASSIGN_OR_RETURN(message, NonFramed(esdk::kSuite0146, plaintext, {}, true));
    seeds.Add("0146-nonframed-p33-ec0-2edk", std::move(message), std::move(plaintext));
  }

  std::vector<Seed> out = seeds.Release();
  for (const Seed& seed : out) VEIL_RETURN_IF_ERROR(CheckSeed(seed));
  return out;
}

}  // namespace veil::fuzz
