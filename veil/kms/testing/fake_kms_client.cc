#include "veil/kms/testing/fake_kms_client.h"

#include <utility>

#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/cms.h"
#include "veil/crypto/random.h"
#include "veil/kms/arn.h"

namespace veil::kms::testing {
namespace {

constexpr char kBlobMagic[] = "VFK1";
constexpr size_t kMagicSize = 4;

std::vector<uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

// ContextAad is the AAD a blob is bound to: each pair as u32 length ‖ bytes,
// in key order.
std::vector<uint8_t> ContextAad(const EncryptionContext& ec) {
  std::vector<uint8_t> out;
  auto put = [&out](const std::string& s) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(n >> shift));
    out.insert(out.end(), s.begin(), s.end());
  };
  for (const auto& [k, v] : ec) {
    put(k);
    put(v);
  }
  return out;
}

absl::Status Unsupported(const char* operation) {
  return KmsError(ErrorType::kUnsupportedOperation,
                  std::string(operation) + " is not implemented by FakeKmsClient");
}

}  // namespace

struct FakeKmsClient::Key {
  std::string id;
  std::string arn;
  SecretBytes material;
  bool enabled = true;
  std::string description;
};

struct FakeKmsClient::State {
  std::map<std::string, Key> keys;               // by key id
  std::map<std::string, std::string> aliases;    // "alias/x" -> key id
  std::vector<FakeKmsCall> calls;
  std::map<std::string, absl::Status> fail_next;  // operation -> status
  bool ignore_recipient = false;
  std::string answer_key_id;
  RecipientKeyFn recipient_key_fn;
};

FakeKmsClient::FakeKmsClient(std::string region, std::string account)
    : region_(std::move(region)), account_(std::move(account)), state_(std::make_unique<State>()) {
  state_->recipient_key_fn = [](absl::Span<const uint8_t> doc) {
    return absl::StatusOr<std::vector<uint8_t>>(std::vector<uint8_t>(doc.begin(), doc.end()));
  };
}
FakeKmsClient::~FakeKmsClient() = default;

std::string FakeKmsClient::AddKey() {
  auto id_bytes = crypto::RandomBytes(16);
  auto material = crypto::RandomSecret(32);
  VEIL_CHECK(id_bytes.ok() && material.ok());
  const std::string hex = HexEncode(*id_bytes);
  Key key;
  key.id = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
  key.arn = "arn:aws:kms:" + region_ + ":" + account_ + ":key/" + key.id;
  key.material = std::move(material).value();
  std::string arn = key.arn;
  std::lock_guard<std::mutex> lock(mu_);
  state_->keys.emplace(key.id, std::move(key));
  return arn;
}

void FakeKmsClient::AddAlias(const std::string& alias_name, const std::string& key_arn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto key = Resolve(key_arn);
  VEIL_CHECK(key.ok());
  state_->aliases[alias_name] = (*key)->id;
}

std::vector<FakeKmsCall> FakeKmsClient::Calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_->calls;
}
void FakeKmsClient::ClearCalls() {
  std::lock_guard<std::mutex> lock(mu_);
  state_->calls.clear();
}
void FakeKmsClient::FailNext(const std::string& operation, absl::Status status) {
  std::lock_guard<std::mutex> lock(mu_);
  state_->fail_next[operation] = std::move(status);
}
void FakeKmsClient::set_ignore_recipient(bool ignore) {
  std::lock_guard<std::mutex> lock(mu_);
  state_->ignore_recipient = ignore;
}
void FakeKmsClient::set_answer_key_id(std::string key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  state_->answer_key_id = std::move(key_id);
}
void FakeKmsClient::set_recipient_key_fn(RecipientKeyFn fn) {
  std::lock_guard<std::mutex> lock(mu_);
  state_->recipient_key_fn = std::move(fn);
}

absl::Status FakeKmsClient::Begin(FakeKmsCall call) {
  const std::string op = call.operation;
  state_->calls.push_back(std::move(call));
  auto it = state_->fail_next.find(op);
  if (it == state_->fail_next.end()) return absl::OkStatus();
  absl::Status s = std::move(it->second);
  state_->fail_next.erase(it);
  return s;
}

absl::StatusOr<const FakeKmsClient::Key*> FakeKmsClient::Resolve(const std::string& key_id) const {
  std::string id = key_id;
  if (id.rfind("arn:", 0) == 0) {
    absl::StatusOr<KmsArn> arn = ParseKmsArn(id);
    if (!arn.ok()) return KmsError(ErrorType::kNotFound, "Invalid keyId " + key_id);
    if (arn->region != region_ || arn->account != account_) {
      return KmsError(ErrorType::kNotFound, "Key '" + key_id + "' does not exist");
    }
    id = arn->IsKey() ? arn->resource_id : "alias/" + arn->resource_id;
  }
  if (id.rfind("alias/", 0) == 0) {
    auto a = state_->aliases.find(id);
    if (a == state_->aliases.end()) {
      return KmsError(ErrorType::kNotFound, "Alias '" + key_id + "' is not found.");
    }
    id = a->second;
  }
  auto k = state_->keys.find(id);
  if (k == state_->keys.end()) {
    return KmsError(ErrorType::kNotFound, "Key '" + key_id + "' does not exist");
  }
  return &k->second;
}

absl::StatusOr<const FakeKmsClient::Key*> FakeKmsClient::ResolveEnabled(
    const std::string& key_id) const {
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(key_id));
  if (!key->enabled) return KmsError(ErrorType::kDisabled, key->arn + " is disabled.");
  return key;
}

std::string FakeKmsClient::AnswerKeyId(const Key& key) const {
  return state_->answer_key_id.empty() ? key.arn : state_->answer_key_id;
}

absl::StatusOr<std::vector<uint8_t>> FakeKmsClient::Seal(const Key& key,
                                                         const EncryptionContext& ec,
                                                         const SecretBytes& plaintext) const {
  VEIL_ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::New(key.material.Expose()));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> iv, crypto::RandomBytes(crypto::kGcmIvSize));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> sealed,
                        aead->SealToVector(iv, ContextAad(ec), plaintext.Expose()));
  std::vector<uint8_t> blob = Bytes(kBlobMagic);
  blob.push_back(static_cast<uint8_t>(key.id.size()));
  blob.insert(blob.end(), key.id.begin(), key.id.end());
  blob.insert(blob.end(), iv.begin(), iv.end());
  blob.insert(blob.end(), sealed.begin(), sealed.end());
  return blob;
}

absl::StatusOr<std::pair<const FakeKmsClient::Key*, SecretBytes>> FakeKmsClient::Open(
    absl::Span<const uint8_t> blob, const EncryptionContext& ec) const {
  auto invalid = [] { return KmsError(ErrorType::kInvalidCiphertext, ""); };
  if (blob.size() < kMagicSize + 1 ||
      std::string(blob.begin(), blob.begin() + kMagicSize) != kBlobMagic) {
    return invalid();
  }
  const size_t id_len = blob[kMagicSize];
  const size_t header = kMagicSize + 1 + id_len;
  if (blob.size() < header + crypto::kGcmIvSize + crypto::kGcmTagSize) return invalid();
  const std::string id(blob.begin() + kMagicSize + 1, blob.begin() + header);
  auto k = state_->keys.find(id);
  if (k == state_->keys.end()) return invalid();
  if (!k->second.enabled) return KmsError(ErrorType::kDisabled, k->second.arn + " is disabled.");
  VEIL_ASSIGN_OR_RETURN(auto aead, crypto::AesGcm::New(k->second.material.Expose()));
  absl::StatusOr<SecretBytes> pt =
      aead->OpenToSecret(blob.subspan(header, crypto::kGcmIvSize), ContextAad(ec),
                         blob.subspan(header + crypto::kGcmIvSize));
  if (!pt.ok()) return invalid();
  return std::make_pair(&k->second, std::move(pt).value());
}

absl::StatusOr<std::vector<uint8_t>> FakeKmsClient::ForRecipient(
    const Recipient& recipient, const SecretBytes& plaintext) const {
  if (recipient.key_encryption_algorithm != key_encryption_algorithm::kRsaesOaepSha256) {
    return KmsError(ErrorType::kValidation, "KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256");
  }
  absl::StatusOr<std::vector<uint8_t>> spki =
      state_->recipient_key_fn(recipient.attestation_document);
  if (!spki.ok()) {
    return KmsError(ErrorType::kValidation,
                    "invalid attestation document: " + std::string(spki.status().message()));
  }
  absl::StatusOr<std::vector<uint8_t>> cms = crypto::EncryptForRecipient(plaintext, *spki);
  if (absl::IsInvalidArgument(cms.status())) {
    return KmsError(ErrorType::kValidation, "the attestation document's public key is not an "
                                            "RSA-2048 SubjectPublicKeyInfo");
  }
  return cms;
}

// ---------------------------------------------------------------------------

absl::StatusOr<EncryptResponse> FakeKmsClient::Encrypt(const EncryptRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"Encrypt", r.key_id, r.encryption_context, r.grant_tokens}));
  VEIL_ASSIGN_OR_RETURN(const Key* key, ResolveEnabled(r.key_id));
  if (r.plaintext.empty() || r.plaintext.size() > 4096) {
    return KmsError(ErrorType::kValidation, "Plaintext must be 1..4096 bytes");
  }
  EncryptResponse out;
  VEIL_ASSIGN_OR_RETURN(out.ciphertext_blob, Seal(*key, r.encryption_context, r.plaintext));
  out.key_id = AnswerKeyId(*key);
  out.encryption_algorithm = encryption_algorithm::kSymmetricDefault;
  return out;
}

absl::StatusOr<DecryptResponse> FakeKmsClient::Decrypt(const DecryptRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  FakeKmsCall call{"Decrypt", r.key_id, r.encryption_context, r.grant_tokens};
  call.recipient = r.recipient;
  call.ciphertext_blob = r.ciphertext_blob;
  VEIL_RETURN_IF_ERROR(Begin(std::move(call)));
  VEIL_ASSIGN_OR_RETURN(auto opened, Open(r.ciphertext_blob, r.encryption_context));
  if (!r.key_id.empty()) {
    VEIL_ASSIGN_OR_RETURN(const Key* named, Resolve(r.key_id));
    if (named != opened.first) {
      return KmsError(ErrorType::kIncorrectKey,
                      "The key ID in the request does not identify a KMS key that can perform "
                      "this operation.");
    }
  }
  DecryptResponse out;
  out.key_id = AnswerKeyId(*opened.first);
  out.encryption_algorithm = encryption_algorithm::kSymmetricDefault;
  if (r.recipient.has_value() && !state_->ignore_recipient) {
    VEIL_ASSIGN_OR_RETURN(out.ciphertext_for_recipient, ForRecipient(*r.recipient, opened.second));
  } else {
    out.plaintext = std::move(opened.second);
  }
  return out;
}

absl::StatusOr<ReEncryptResponse> FakeKmsClient::ReEncrypt(const ReEncryptRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  FakeKmsCall call{"ReEncrypt", r.destination_key_id, r.destination_encryption_context,
                   r.grant_tokens};
  call.ciphertext_blob = r.ciphertext_blob;
  VEIL_RETURN_IF_ERROR(Begin(std::move(call)));
  VEIL_ASSIGN_OR_RETURN(auto opened, Open(r.ciphertext_blob, r.source_encryption_context));
  VEIL_ASSIGN_OR_RETURN(const Key* dest, ResolveEnabled(r.destination_key_id));
  ReEncryptResponse out;
  VEIL_ASSIGN_OR_RETURN(out.ciphertext_blob,
                        Seal(*dest, r.destination_encryption_context, opened.second));
  out.source_key_id = opened.first->arn;
  out.key_id = AnswerKeyId(*dest);
  out.source_encryption_algorithm = encryption_algorithm::kSymmetricDefault;
  out.destination_encryption_algorithm = encryption_algorithm::kSymmetricDefault;
  return out;
}

absl::StatusOr<GenerateDataKeyResponse> FakeKmsClient::GenerateDataKey(
    const GenerateDataKeyRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  FakeKmsCall call{"GenerateDataKey", r.key_id, r.encryption_context, r.grant_tokens};
  call.number_of_bytes = r.number_of_bytes;
  call.recipient = r.recipient;
  VEIL_RETURN_IF_ERROR(Begin(std::move(call)));
  VEIL_ASSIGN_OR_RETURN(const Key* key, ResolveEnabled(r.key_id));
  int32_t n = 0;
  if (r.number_of_bytes.has_value() == !r.key_spec.empty()) {
    return KmsError(ErrorType::kValidation, "Specify exactly one of NumberOfBytes and KeySpec");
  }
  if (r.number_of_bytes.has_value()) {
    n = *r.number_of_bytes;
  } else {
    n = r.key_spec == data_key_spec::kAes128 ? 16 : 32;
  }
  if (n < 1 || n > 1024) return KmsError(ErrorType::kValidation, "NumberOfBytes must be 1..1024");
  VEIL_ASSIGN_OR_RETURN(SecretBytes pdk, crypto::RandomSecret(static_cast<size_t>(n)));
  GenerateDataKeyResponse out;
  VEIL_ASSIGN_OR_RETURN(out.ciphertext_blob, Seal(*key, r.encryption_context, pdk));
  out.key_id = AnswerKeyId(*key);
  if (r.recipient.has_value() && !state_->ignore_recipient) {
    VEIL_ASSIGN_OR_RETURN(out.ciphertext_for_recipient, ForRecipient(*r.recipient, pdk));
  } else {
    out.plaintext = std::move(pdk);
  }
  return out;
}

absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
FakeKmsClient::GenerateDataKeyWithoutPlaintext(const GenerateDataKeyWithoutPlaintextRequest& r) {
  GenerateDataKeyRequest g;
  g.key_id = r.key_id;
  g.encryption_context = r.encryption_context;
  g.number_of_bytes = r.number_of_bytes;
  g.key_spec = r.key_spec;
  g.grant_tokens = r.grant_tokens;
  VEIL_ASSIGN_OR_RETURN(GenerateDataKeyResponse full, GenerateDataKey(g));
  return GenerateDataKeyWithoutPlaintextResponse{std::move(full.ciphertext_blob), full.key_id};
}

absl::StatusOr<GenerateRandomResponse> FakeKmsClient::GenerateRandom(
    const GenerateRandomRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  FakeKmsCall call{"GenerateRandom"};
  call.number_of_bytes = r.number_of_bytes;
  call.recipient = r.recipient;
  VEIL_RETURN_IF_ERROR(Begin(std::move(call)));
  const int32_t n = r.number_of_bytes.value_or(0);
  if (n < 1 || n > 1024) return KmsError(ErrorType::kValidation, "NumberOfBytes must be 1..1024");
  VEIL_ASSIGN_OR_RETURN(SecretBytes bytes, crypto::RandomSecret(static_cast<size_t>(n)));
  GenerateRandomResponse out;
  if (r.recipient.has_value() && !state_->ignore_recipient) {
    VEIL_ASSIGN_OR_RETURN(out.ciphertext_for_recipient, ForRecipient(*r.recipient, bytes));
  } else {
    out.plaintext = std::move(bytes);
  }
  return out;
}

absl::StatusOr<CreateKeyResponse> FakeKmsClient::CreateKey(const CreateKeyRequest& r) {
  const std::string arn = AddKey();
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"CreateKey", arn}));
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(arn));
  state_->keys[key->id].description = r.description;
  CreateKeyResponse out;
  out.key_metadata.key_id = key->id;
  out.key_metadata.arn = key->arn;
  out.key_metadata.aws_account_id = account_;
  out.key_metadata.enabled = true;
  out.key_metadata.key_state = key_state::kEnabled;
  out.key_metadata.description = r.description;
  return out;
}

absl::StatusOr<DescribeKeyResponse> FakeKmsClient::DescribeKey(const DescribeKeyRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"DescribeKey", r.key_id, {}, r.grant_tokens}));
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(r.key_id));
  DescribeKeyResponse out;
  out.key_metadata.key_id = key->id;
  out.key_metadata.arn = key->arn;
  out.key_metadata.aws_account_id = account_;
  out.key_metadata.enabled = key->enabled;
  out.key_metadata.key_state = key->enabled ? key_state::kEnabled : key_state::kDisabled;
  out.key_metadata.description = key->description;
  out.key_metadata.key_usage = key_usage::kEncryptDecrypt;
  out.key_metadata.key_spec = key_spec::kSymmetricDefault;
  return out;
}

absl::StatusOr<ListKeysResponse> FakeKmsClient::ListKeys(const ListKeysRequest&) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"ListKeys"}));
  ListKeysResponse out;
  for (const auto& [id, key] : state_->keys) out.keys.push_back({id, key.arn});
  out.truncated = false;
  return out;
}

absl::Status FakeKmsClient::CreateAlias(const CreateAliasRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"CreateAlias", r.target_key_id}));
  if (r.alias_name.rfind("alias/", 0) != 0 || r.alias_name.rfind("alias/aws/", 0) == 0) {
    return KmsError(ErrorType::kInvalidAliasName, "Alias must start with alias/ and not alias/aws/");
  }
  if (state_->aliases.count(r.alias_name) > 0) {
    return KmsError(ErrorType::kAlreadyExists, "An alias with the name " + r.alias_name +
                                                   " already exists");
  }
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(r.target_key_id));
  state_->aliases[r.alias_name] = key->id;
  return absl::OkStatus();
}

absl::Status FakeKmsClient::UpdateAlias(const UpdateAliasRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"UpdateAlias", r.target_key_id}));
  if (state_->aliases.count(r.alias_name) == 0) {
    return KmsError(ErrorType::kNotFound, "Alias " + r.alias_name + " is not found.");
  }
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(r.target_key_id));
  state_->aliases[r.alias_name] = key->id;
  return absl::OkStatus();
}

absl::Status FakeKmsClient::DeleteAlias(const DeleteAliasRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"DeleteAlias"}));
  if (state_->aliases.erase(r.alias_name) == 0) {
    return KmsError(ErrorType::kNotFound, "Alias " + r.alias_name + " is not found.");
  }
  return absl::OkStatus();
}

absl::StatusOr<ListAliasesResponse> FakeKmsClient::ListAliases(const ListAliasesRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"ListAliases", r.key_id}));
  ListAliasesResponse out;
  for (const auto& [name, id] : state_->aliases) {
    AliasListEntry e;
    e.alias_name = name;
    e.alias_arn = "arn:aws:kms:" + region_ + ":" + account_ + ":" + name;
    e.target_key_id = id;
    out.aliases.push_back(std::move(e));
  }
  out.truncated = false;
  return out;
}

absl::Status FakeKmsClient::EnableKey(const EnableKeyRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"EnableKey", r.key_id}));
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(r.key_id));
  state_->keys[key->id].enabled = true;
  return absl::OkStatus();
}

absl::Status FakeKmsClient::DisableKey(const DisableKeyRequest& r) {
  std::lock_guard<std::mutex> lock(mu_);
  VEIL_RETURN_IF_ERROR(Begin({"DisableKey", r.key_id}));
  VEIL_ASSIGN_OR_RETURN(const Key* key, Resolve(r.key_id));
  state_->keys[key->id].enabled = false;
  return absl::OkStatus();
}

absl::StatusOr<GetKeyPolicyResponse> FakeKmsClient::GetKeyPolicy(const GetKeyPolicyRequest&) {
  return Unsupported("GetKeyPolicy");
}
absl::Status FakeKmsClient::PutKeyPolicy(const PutKeyPolicyRequest&) {
  return Unsupported("PutKeyPolicy");
}
absl::StatusOr<ScheduleKeyDeletionResponse> FakeKmsClient::ScheduleKeyDeletion(
    const ScheduleKeyDeletionRequest&) {
  return Unsupported("ScheduleKeyDeletion");
}
absl::StatusOr<CancelKeyDeletionResponse> FakeKmsClient::CancelKeyDeletion(
    const CancelKeyDeletionRequest&) {
  return Unsupported("CancelKeyDeletion");
}
absl::Status FakeKmsClient::EnableKeyRotation(const EnableKeyRotationRequest&) {
  return Unsupported("EnableKeyRotation");
}
absl::Status FakeKmsClient::DisableKeyRotation(const DisableKeyRotationRequest&) {
  return Unsupported("DisableKeyRotation");
}
absl::StatusOr<GetKeyRotationStatusResponse> FakeKmsClient::GetKeyRotationStatus(
    const GetKeyRotationStatusRequest&) {
  return Unsupported("GetKeyRotationStatus");
}

}  // namespace veil::kms::testing
