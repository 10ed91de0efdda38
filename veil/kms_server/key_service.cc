#include "veil/kms_server/key_service.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"
#include "veil/kms/json_codec.h"
#include "veil/kms/types.h"
#include "veil/kms_server/ciphertext_blob.h"

namespace veil::kms_server {

using kms::ErrorType;
using kms::KmsError;

namespace {

constexpr int64_t kMsPerDay = 24LL * 3600 * 1000;
constexpr size_t kKeyMaterialSize = 32;
constexpr size_t kMaxEncryptPlaintext = 4096;
constexpr size_t kMaxCiphertextBlob = 6144;
constexpr size_t kMaxKeyIdLength = 2048;
constexpr size_t kMaxDescriptionLength = 8192;
constexpr char kSymmetricDefault[] = "SYMMETRIC_DEFAULT";

absl::Status Validation(std::string_view message) {
  return KmsError(ErrorType::kValidation, message);
}

absl::Status NullField(std::string_view field) {
  return Validation(absl::StrCat("1 validation error detected: Value null at '",
                                 std::string(field),
                                 "' failed to satisfy constraint: Member must not be null"));
}

absl::Status TooLong(std::string_view field, size_t max) {
  return Validation(absl::StrCat("1 validation error detected: Value at '", std::string(field),
                                 "' failed to satisfy constraint: Member must have length less "
                                 "than or equal to ",
                                 max));
}

// RequireKeyId checks a required key identifier (the codec has checked it
// is a non-empty string).
absl::Status CheckKeyId(const std::string& id, std::string_view field) {
  if (id.empty()) return NullField(field);
  if (id.size() > kMaxKeyIdLength) return TooLong(field, kMaxKeyIdLength);
  return absl::OkStatus();
}

absl::Time FromMs(int64_t ms) { return absl::FromUnixMillis(ms); }

std::vector<std::string> Keys(const EncryptionContext& ec) {
  std::vector<std::string> out;
  for (const auto& [k, v] : ec) out.push_back(k);
  return out;
}

// ValidAliasName checks ^alias/[a-zA-Z0-9/_-]+$ and at most 256 characters.
bool ValidAliasName(const std::string& name) {
  if (name.size() > 256 || !name.starts_with("alias/") || name.size() == 6) return false;
  return std::all_of(name.begin() + 6, name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
           c == '-';
  });
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> SealKeyMaterial(const RootKey& root_key,
                                                     const std::string& key_id, uint32_t version,
                                                     const SecretBytes& material) {
  return root_key.Seal(absl::StrCat("veil-kms key material\x1f", key_id, "\x1f", version),
                       material.Expose());
}

class KeyService::Impl {
 public:
  Impl(Store* store, const RootKey* root_key, KeyServiceOptions options)
      : store_(store), root_key_(root_key), options_(std::move(options)) {
    if (!options_.now) options_.now = [] { return absl::Now(); };
  }

  // Runner decodes a request body, runs one operation and encodes its
  // response.
  using Runner = absl::StatusOr<std::string> (Impl::*)(const Caller&, std::string_view,
                                                       CallInfo*);
  template <typename Req, typename Resp>
  using Operation = absl::StatusOr<Resp> (Impl::*)(const Caller&, Req&, CallInfo*);

  template <typename Req, typename Resp, Operation<Req, Resp> op>
  absl::StatusOr<std::string> Run(const Caller& caller, std::string_view body, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(Req request, kms::DecodeJson<Req>(body.empty() ? "{}" : body));
    VEIL_ASSIGN_OR_RETURN(Resp response, (this->*op)(caller, request, info));
    return kms::EncodeJson(response);
  }

  static const std::map<std::string, Runner, std::less<>>& Operations() {
    using namespace kms;  // NOLINT: the request/response type names
    static const auto* ops = new std::map<std::string, Runner, std::less<>>{
        {"CancelKeyDeletion",
         &Impl::Run<KeyIdRequest, CancelKeyDeletionResponse, &Impl::CancelKeyDeletion>},
        {"CreateAlias", &Impl::Run<CreateAliasRequest, EmptyResponse, &Impl::CreateAlias>},
        {"CreateKey", &Impl::Run<CreateKeyRequest, CreateKeyResponse, &Impl::CreateKey>},
        {"Decrypt", &Impl::Run<DecryptRequest, DecryptResponse, &Impl::Decrypt>},
        {"DeleteAlias", &Impl::Run<DeleteAliasRequest, EmptyResponse, &Impl::DeleteAlias>},
        {"DescribeKey", &Impl::Run<DescribeKeyRequest, DescribeKeyResponse, &Impl::DescribeKey>},
        {"DisableKey", &Impl::Run<KeyIdRequest, EmptyResponse, &Impl::DisableKey>},
        {"DisableKeyRotation",
         &Impl::Run<KeyIdRequest, EmptyResponse, &Impl::DisableKeyRotation>},
        {"EnableKey", &Impl::Run<KeyIdRequest, EmptyResponse, &Impl::EnableKey>},
        {"EnableKeyRotation",
         &Impl::Run<EnableKeyRotationRequest, EmptyResponse, &Impl::EnableKeyRotation>},
        {"Encrypt", &Impl::Run<EncryptRequest, EncryptResponse, &Impl::Encrypt>},
        {"GenerateDataKey",
         &Impl::Run<GenerateDataKeyRequest, GenerateDataKeyResponse, &Impl::GenerateDataKey>},
        {"GenerateDataKeyWithoutPlaintext",
         &Impl::Run<GenerateDataKeyWithoutPlaintextRequest,
                    GenerateDataKeyWithoutPlaintextResponse,
                    &Impl::GenerateDataKeyWithoutPlaintext>},
        {"GenerateRandom",
         &Impl::Run<GenerateRandomRequest, GenerateRandomResponse, &Impl::GenerateRandom>},
        {"GetKeyPolicy",
         &Impl::Run<GetKeyPolicyRequest, GetKeyPolicyResponse, &Impl::GetKeyPolicy>},
        {"GetKeyRotationStatus",
         &Impl::Run<KeyIdRequest, GetKeyRotationStatusResponse, &Impl::GetKeyRotationStatus>},
        {"ListAliases", &Impl::Run<ListAliasesRequest, ListAliasesResponse, &Impl::ListAliases>},
        {"ListKeys", &Impl::Run<ListKeysRequest, ListKeysResponse, &Impl::ListKeys>},
        {"PutKeyPolicy", &Impl::Run<PutKeyPolicyRequest, EmptyResponse, &Impl::PutKeyPolicy>},
        {"ReEncrypt", &Impl::Run<ReEncryptRequest, ReEncryptResponse, &Impl::ReEncrypt>},
        // RotateKeyOnDemand answers {"KeyId": <arn>}, CancelKeyDeletion's shape.
        {"RotateKeyOnDemand",
         &Impl::Run<KeyIdRequest, CancelKeyDeletionResponse, &Impl::RotateKeyOnDemand>},
        {"ScheduleKeyDeletion",
         &Impl::Run<ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse,
                    &Impl::ScheduleKeyDeletion>},
        {"UpdateAlias", &Impl::Run<UpdateAliasRequest, EmptyResponse, &Impl::UpdateAlias>},
    };
    return *ops;
  }

  absl::StatusOr<std::string> Dispatch(const Caller& caller, std::string_view operation,
                                       std::string_view body, CallInfo* info) {
    auto it = Operations().find(operation);
    if (it == Operations().end()) return KmsError(ErrorType::kUnknownOperation, "");
    return (this->*(it->second))(caller, body, info);
  }

 private:
  int64_t NowMs() const { return absl::ToUnixMillis(options_.now()); }

  std::string KeyArn(const KeyRecord& k) const {
    return absl::StrCat("arn:aws:kms:", k.region, ":", k.account, ":key/", k.key_id);
  }
  std::string AliasArn(const std::string& account, const std::string& alias) const {
    return absl::StrCat("arn:aws:kms:", options_.region, ":", account, ":", alias);
  }

  // ---- key resolution

  absl::Status KeyNotFound(const std::string& arn) const {
    return KmsError(ErrorType::kNotFound, absl::StrCat("Key '", arn, "' does not exist"));
  }
  absl::Status AliasNotFound(const std::string& account, const std::string& alias) const {
    return KmsError(ErrorType::kNotFound,
                    absl::StrCat("Alias ", AliasArn(account, alias), " is not found."));
  }

  // FindLiveKey returns a key, deleting it first if its deletion date has
  // passed (deletion is applied lazily, at the first use after the date).
  std::optional<KeyRecord> FindLiveKey(const std::string& key_id) {
    std::optional<KeyRecord> key = store_->FindKey(key_id);
    if (key.has_value() && key->state == KeyState::kPendingDeletion &&
        NowMs() >= key->deletion_ms) {
      if (store_->DeleteKey(key_id).ok()) {
        ForgetKey(key_id);
        return std::nullopt;
      }
    }
    return key;
  }

  // ResolveKey accepts a key id, key ARN, alias name or alias ARN.
  absl::StatusOr<KeyRecord> ResolveKey(const Caller& caller, const std::string& id,
                                       bool allow_alias = true) {
    std::string account = caller.account;
    std::string rest = id;
    if (id.starts_with("arn:")) {
      // arn:aws:kms:<region>:<account>:key/<id> or :alias/<name>
      std::vector<std::string> parts;
      size_t start = 0;
      for (int i = 0; i < 5; ++i) {
        const size_t colon = id.find(':', start);
        if (colon == std::string::npos) break;
        parts.push_back(id.substr(start, colon - start));
        start = colon + 1;
      }
      if (parts.size() != 5 || parts[1] != "aws" || parts[2] != "kms" ||
          parts[3] != options_.region) {
        return KmsError(ErrorType::kNotFound, absl::StrCat("Invalid arn ", id));
      }
      account = parts[4];
      rest = id.substr(start);
      if (rest.starts_with("key/")) {
        rest = rest.substr(4);
        if (!IsUuid(rest)) return KeyNotFound(id);
      } else if (!rest.starts_with("alias/")) {
        return KmsError(ErrorType::kNotFound, absl::StrCat("Invalid arn ", id));
      }
    }
    if (rest.starts_with("alias/")) {
      if (!allow_alias) return Validation("Aliases must refer to keys. Not aliases");
      std::optional<AliasRecord> alias = store_->FindAlias(account, rest);
      std::optional<KeyRecord> key;
      if (alias.has_value()) key = FindLiveKey(alias->target_key_id);
      if (!key.has_value()) return AliasNotFound(account, rest);
      return *std::move(key);
    }
    if (!IsUuid(rest)) return KmsError(ErrorType::kNotFound, absl::StrCat("Invalid keyId ", id));
    const std::string key_id = absl::AsciiStrToLower(rest);
    std::optional<KeyRecord> key = FindLiveKey(key_id);
    if (!key.has_value() || key->account != account || key->region != options_.region) {
      return KeyNotFound(
          absl::StrCat("arn:aws:kms:", options_.region, ":", account, ":key/", key_id));
    }
    return *std::move(key);
  }

  // ---- authorization

  absl::StatusOr<std::shared_ptr<const Policy>> PolicyOf(const KeyRecord& key) {
    {
      absl::ReaderMutexLock lock(&cache_mu_);
      auto it = policies_.find(key.key_id);
      if (it != policies_.end() && it->second.first == key.policy) return it->second.second;
    }
    auto parsed = Policy::Parse(key.policy);
    if (!parsed.ok()) return absl::InternalError("stored key policy does not parse");
    absl::MutexLock lock(&cache_mu_);
    policies_[key.key_id] = {key.policy, *parsed};
    return *parsed;
  }

  RequestContext Context(const Caller& caller, const KeyRecord& key, std::string_view operation) {
    RequestContext r;
    r.action = absl::StrCat("kms:", std::string(operation));
    r.principal_arn = caller.arn;
    r.principal_account = caller.account;
    r.resource_arn = KeyArn(key);
    r.AddConditionKey("kms:CallerAccount", {caller.account});
    r.AddConditionKey("aws:SecureTransport", {caller.secure_transport ? "true" : "false"});
    r.AddConditionKey("aws:PrincipalArn", {caller.arn});
    return r;
  }

  static void AddEncryptionContext(RequestContext& r, const EncryptionContext& ec) {
    for (const auto& [k, v] : ec) r.AddConditionKey(absl::StrCat("kms:EncryptionContext:", k), {v});
    r.AddConditionKey("kms:EncryptionContextKeys", Keys(ec));
  }

  static void AddRecipient(RequestContext& r, const AttestedRecipient* recipient) {
    if (recipient == nullptr) return;
    for (const auto& [index, value] : recipient->pcrs) {
      r.AddConditionKey(absl::StrCat("kms:RecipientAttestation:PCR", index), {HexEncode(value)});
    }
    auto pcr0 = recipient->pcrs.find(0);
    if (pcr0 != recipient->pcrs.end()) {
      r.AddConditionKey("kms:RecipientAttestation:ImageSha384", {HexEncode(pcr0->second)});
    }
  }

  absl::Status Authorize(const KeyRecord& key, const RequestContext& r) {
    VEIL_ASSIGN_OR_RETURN(std::shared_ptr<const Policy> policy, PolicyOf(key));
    switch (policy->Evaluate(r)) {
      case Decision::kAllow:
        return absl::OkStatus();
      case Decision::kExplicitDeny:
        return KmsError(ErrorType::kAccessDenied,
                        absl::StrCat("User: ", r.principal_arn, " is not authorized to perform: ",
                                     r.action, " on resource: ", r.resource_arn,
                                     " with an explicit deny in a resource-based policy"));
      case Decision::kImplicitDeny:
        break;
    }
    return KmsError(ErrorType::kAccessDenied,
                    absl::StrCat("User: ", r.principal_arn, " is not authorized to perform: ",
                                 r.action, " on resource: ", r.resource_arn,
                                 " because no resource-based policy allows the ", r.action,
                                 " action"));
  }

  // ResolveAndAuthorize resolves `id` and checks the key policy for
  // `operation` with only the base condition keys.
  absl::StatusOr<KeyRecord> ResolveAndAuthorize(const Caller& caller, const std::string& id,
                                                std::string_view operation, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckKeyId(id, "keyId"));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, id));
    info->key_arn = KeyArn(key);
    VEIL_RETURN_IF_ERROR(Authorize(key, Context(caller, key, operation)));
    return key;
  }

  absl::Status RequireUsable(const KeyRecord& key) {
    if (key.state == KeyState::kDisabled) {
      return KmsError(ErrorType::kDisabled, absl::StrCat(KeyArn(key), " is disabled."));
    }
    return RequireNotPendingDeletion(key);
  }
  absl::Status RequireNotPendingDeletion(const KeyRecord& key) {
    if (key.state == KeyState::kPendingDeletion) {
      return KmsError(ErrorType::kInvalidState,
                      absl::StrCat(KeyArn(key), " is pending deletion."));
    }
    return absl::OkStatus();
  }

  // ---- key material

  absl::StatusOr<std::shared_ptr<const SecretBytes>> Material(const std::string& key_id,
                                                              uint32_t version) {
    {
      absl::ReaderMutexLock lock(&cache_mu_);
      auto it = materials_.find({key_id, version});
      if (it != materials_.end()) return it->second;
    }
    std::optional<KeyVersion> v = store_->FindKeyVersion(key_id, version);
    if (!v.has_value()) return KmsError(ErrorType::kInvalidCiphertext, "");
    auto opened = root_key_->Open(
        absl::StrCat("veil-kms key material\x1f", key_id, "\x1f", version), v->sealed_material);
    if (!opened.ok()) {
      return absl::InternalError(absl::StrCat("key material of ", key_id, " v", version,
                                              " does not open under the root key"));
    }
    auto material = std::make_shared<const SecretBytes>(std::move(*opened));
    absl::MutexLock lock(&cache_mu_);
    materials_[{key_id, version}] = material;
    return material;
  }

  void ForgetKey(const std::string& key_id) {
    absl::MutexLock lock(&cache_mu_);
    policies_.erase(key_id);
    for (auto it = materials_.lower_bound({key_id, 0});
         it != materials_.end() && it->first.first == key_id;) {
      it = materials_.erase(it);
    }
  }

  // RotateNow adds a version to `key` and makes it current.
  absl::StatusOr<KeyRecord> RotateNow(KeyRecord key, int64_t now_ms) {
    VEIL_ASSIGN_OR_RETURN(SecretBytes material, crypto::RandomSecret(kKeyMaterialSize));
    KeyVersion v;
    v.version = key.current_version + 1;
    v.created_ms = now_ms;
    VEIL_ASSIGN_OR_RETURN(v.sealed_material,
                          SealKeyMaterial(*root_key_, key.key_id, v.version, material));
    key.current_version = v.version;
    VEIL_RETURN_IF_ERROR(store_->AddKeyVersion(key, v));
    return key;
  }

  // MaybeRotate applies a due automatic rotation (lazily, at first use).
  absl::StatusOr<KeyRecord> MaybeRotate(KeyRecord key) {
    const int64_t now = NowMs();
    if (!key.rotation_enabled || key.next_rotation_ms == 0 || now < key.next_rotation_ms ||
        key.state != KeyState::kEnabled) {
      return key;
    }
    absl::MutexLock lock(&rotate_mu_);
    std::optional<KeyRecord> fresh = store_->FindKey(key.key_id);
    if (!fresh.has_value()) return key;
    if (fresh->next_rotation_ms == 0 || now < fresh->next_rotation_ms) return *fresh;
    KeyRecord next = *fresh;
    while (next.next_rotation_ms <= now) {
      next.next_rotation_ms += int64_t{next.rotation_period_days} * kMsPerDay;
    }
    return RotateNow(next, now);
  }

  // ---- recipient

  absl::StatusOr<std::optional<AttestedRecipient>> VerifyRecipient(
      const std::optional<kms::Recipient>& recipient, CallInfo* info) {
    if (!recipient.has_value()) return std::optional<AttestedRecipient>();
    if (recipient->attestation_document.empty()) {
      return NullField("recipient.attestationDocument");
    }
    if (recipient->attestation_document.size() > 262144) {
      return TooLong("recipient.attestationDocument", 262144);
    }
    if (options_.recipients == nullptr) {
      return KmsError(ErrorType::kUnsupportedOperation,
                      "veil-kms was started without --attestation-root; Recipient is not "
                      "available");
    }
    auto verified = options_.recipients->Verify(recipient->attestation_document);
    if (!verified.ok()) {
      return Validation("The attestation document in the Recipient parameter is not valid.");
    }
    auto pcr0 = verified->pcrs.find(0);
    if (pcr0 != verified->pcrs.end()) info->recipient_pcr0_hex = HexEncode(pcr0->second);
    info->recipient_module_id = verified->module_id;
    info->recipient_simulated = verified->simulated;
    return std::optional<AttestedRecipient>(*std::move(verified));
  }

  // ReleasePlaintext fills `plaintext`, or `for_recipient` when a recipient
  // was given (the plaintext field then stays empty and is not sent, as in
  // AWS).
  absl::Status ReleasePlaintext(SecretBytes value, const std::optional<AttestedRecipient>& recipient,
                                SecretBytes* plaintext, std::vector<uint8_t>* for_recipient) {
    if (recipient.has_value()) {
      VEIL_ASSIGN_OR_RETURN(*for_recipient, options_.recipients->Seal(*recipient, value));
    } else {
      *plaintext = std::move(value);
    }
    return absl::OkStatus();
  }

  // CheckAlgorithm accepts SYMMETRIC_DEFAULT (or nothing); the other AWS
  // algorithms need asymmetric keys, which veil-kms does not have.
  static absl::Status CheckAlgorithm(const std::string& algorithm) {
    if (algorithm.empty() || algorithm == kSymmetricDefault) return absl::OkStatus();
    return KmsError(ErrorType::kInvalidKeyUsage,
                    absl::StrCat("The encryption algorithm ", algorithm,
                                 " is not supported by a SYMMETRIC_DEFAULT key"));
  }

  static absl::Status CheckGrantTokens(const std::vector<std::string>& tokens) {
    if (tokens.size() > 10) return Validation("GrantTokens has more than 10 entries");
    return absl::OkStatus();
  }

  static absl::Status CheckDryRun(const std::optional<bool>& dry_run) {
    if (dry_run.value_or(false)) {
      return KmsError(ErrorType::kUnsupportedOperation, "veil-kms does not implement DryRun");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<uint8_t>> Seal(const KeyRecord& key, const EncryptionContext& ec,
                                            absl::Span<const uint8_t> plaintext) {
    VEIL_ASSIGN_OR_RETURN(std::shared_ptr<const SecretBytes> material,
                          Material(key.key_id, key.current_version));
    return SealBlob({key.key_id, key.current_version}, *material, ec, plaintext);
  }

  // OpenCiphertext resolves, authorizes and decrypts a blob. `operation` is
  // the action checked ("Decrypt" or "ReEncryptFrom").
  absl::StatusOr<std::pair<KeyRecord, SecretBytes>> OpenCiphertext(
      const Caller& caller, absl::Span<const uint8_t> blob, const EncryptionContext& ec,
      const std::string& expected_key, std::string_view operation,
      const AttestedRecipient* recipient, CallInfo* info) {
    if (blob.empty()) return NullField("ciphertextBlob");
    if (blob.size() > kMaxCiphertextBlob) return TooLong("ciphertextBlob", kMaxCiphertextBlob);
    auto header = ParseBlobHeader(blob);
    if (!header.ok()) return KmsError(ErrorType::kInvalidCiphertext, "");
    std::optional<KeyRecord> key = FindLiveKey(header->key_id);
    if (!key.has_value() || key->region != options_.region) {
      return KmsError(ErrorType::kInvalidCiphertext, "");
    }
    info->key_arn = KeyArn(*key);
    if (!expected_key.empty()) {
      auto expected = ResolveKey(caller, expected_key);
      if (!expected.ok() || expected->key_id != key->key_id) {
        return KmsError(ErrorType::kIncorrectKey,
                        "The key ID in the request does not identify a CMK that can perform "
                        "this operation.");
      }
    }
    RequestContext r = Context(caller, *key, operation);
    AddEncryptionContext(r, ec);
    AddRecipient(r, recipient);
    VEIL_RETURN_IF_ERROR(Authorize(*key, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(*key));
    if (header->key_version == 0 || header->key_version > key->current_version) {
      return KmsError(ErrorType::kInvalidCiphertext, "");
    }
    VEIL_ASSIGN_OR_RETURN(std::shared_ptr<const SecretBytes> material,
                          Material(key->key_id, header->key_version));
    auto plaintext = OpenBlob(blob, *material, ec);
    if (!plaintext.ok()) return KmsError(ErrorType::kInvalidCiphertext, "");
    return std::make_pair(*std::move(key), *std::move(plaintext));
  }

  kms::KeyMetadata Metadata(const KeyRecord& k) const {
    kms::KeyMetadata m;
    m.aws_account_id = k.account;
    m.key_id = k.key_id;
    m.arn = KeyArn(k);
    m.creation_date = FromMs(k.created_ms);
    m.enabled = k.state == KeyState::kEnabled;
    m.description = k.description;
    m.key_usage = kms::key_usage::kEncryptDecrypt;
    m.key_state = KeyStateName(k.state);
    m.origin = kms::origin::kAwsKms;
    m.key_manager = kms::key_manager::kCustomer;
    m.customer_master_key_spec = kSymmetricDefault;
    m.key_spec = kSymmetricDefault;
    m.encryption_algorithms = {kSymmetricDefault};
    m.multi_region = false;
    if (k.state == KeyState::kPendingDeletion) {
      m.deletion_date = FromMs(k.deletion_ms);
      m.pending_deletion_window_in_days = k.pending_window_days;
    }
    return m;
  }

  absl::Status CheckNewPolicy(const Caller& caller, const KeyRecord& key,
                              const std::string& document, bool bypass) {
    auto policy = Policy::Parse(document);
    if (!policy.ok()) {
      return KmsError(ErrorType::kMalformedPolicyDocument, std::string(policy.status().message()));
    }
    if (!bypass) {
      // AWS's lockout safety check: the caller must still be able to change
      // the policy afterwards.
      RequestContext r = Context(caller, key, "PutKeyPolicy");
      if ((*policy)->Evaluate(r) != Decision::kAllow) {
        return KmsError(ErrorType::kMalformedPolicyDocument,
                        "The new key policy will not allow you to update the key policy in the "
                        "future.");
      }
    }
    return absl::OkStatus();
  }

  // ---- operations

  absl::StatusOr<kms::CreateKeyResponse> CreateKey(const Caller& caller,
                                                   kms::CreateKeyRequest& req, CallInfo* info) {
    if (req.description.size() > kMaxDescriptionLength) {
      return TooLong("description", kMaxDescriptionLength);
    }
    if (req.policy.size() > kMaxPolicySize) return TooLong("policy", kMaxPolicySize);
    if (!req.key_spec.empty() && req.key_spec != kSymmetricDefault) {
      return KmsError(ErrorType::kUnsupportedOperation,
                      absl::StrCat("veil-kms supports only SYMMETRIC_DEFAULT keys, not ",
                                   req.key_spec));
    }
    if (!req.key_usage.empty() && req.key_usage != kms::key_usage::kEncryptDecrypt) {
      return Validation(absl::StrCat("KeyUsage ", req.key_usage,
                                     " is not compatible with KeySpec SYMMETRIC_DEFAULT"));
    }
    if (!req.origin.empty() && req.origin != kms::origin::kAwsKms) {
      return KmsError(ErrorType::kUnsupportedOperation,
                      absl::StrCat("veil-kms supports only Origin AWS_KMS, not ", req.origin));
    }
    if (req.multi_region.value_or(false)) {
      return KmsError(ErrorType::kUnsupportedOperation, "veil-kms has no multi-Region keys");
    }
    nlohmann::json tags = nlohmann::json::array();
    for (const kms::Tag& tag : req.tags) {
      tags.push_back({{"TagKey", tag.tag_key}, {"TagValue", tag.tag_value}});
    }
    KeyRecord key;
    VEIL_ASSIGN_OR_RETURN(key.key_id, NewUuid());
    key.account = caller.account;
    key.region = options_.region;
    key.description = req.description;
    key.created_ms = NowMs();
    key.policy = req.policy.empty() ? DefaultKeyPolicy(caller.account) : req.policy;
    key.tags_json = tags.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    info->key_arn = KeyArn(key);
    if (!req.policy.empty()) {
      VEIL_RETURN_IF_ERROR(CheckNewPolicy(caller, key, req.policy,
                                          req.bypass_policy_lockout_safety_check.value_or(false)));
    }
    VEIL_ASSIGN_OR_RETURN(SecretBytes material, crypto::RandomSecret(kKeyMaterialSize));
    KeyVersion v{1, {}, key.created_ms};
    VEIL_ASSIGN_OR_RETURN(v.sealed_material, SealKeyMaterial(*root_key_, key.key_id, 1, material));
    VEIL_RETURN_IF_ERROR(store_->CreateKey(key, v));
    kms::CreateKeyResponse out;
    out.key_metadata = Metadata(key);
    return out;
  }

  absl::StatusOr<kms::DescribeKeyResponse> DescribeKey(const Caller& caller,
                                                       kms::DescribeKeyRequest& req,
                                                       CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(req.grant_tokens));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "DescribeKey", info));
    kms::DescribeKeyResponse out;
    out.key_metadata = Metadata(key);
    return out;
  }

  static absl::StatusOr<size_t> Limit(const std::optional<int32_t>& limit) {
    if (limit.has_value() && (*limit < 1 || *limit > 1000)) {
      return Validation(absl::StrCat("1 validation error detected: Value '", *limit,
                                     "' at 'limit' failed to satisfy constraint: Member must have "
                                     "value between 1 and 1000"));
    }
    return static_cast<size_t>(limit.value_or(100));
  }

  absl::StatusOr<kms::ListKeysResponse> ListKeys(const Caller& caller, kms::ListKeysRequest& req,
                                                 CallInfo*) {
    VEIL_ASSIGN_OR_RETURN(size_t limit, Limit(req.limit));
    kms::ListKeysResponse out;
    out.truncated = false;
    for (const KeyRecord& k : store_->ListKeys(caller.account, options_.region)) {
      if (!req.marker.empty() && k.key_id <= req.marker) continue;
      if (k.state == KeyState::kPendingDeletion && NowMs() >= k.deletion_ms) continue;
      if (out.keys.size() == limit) {
        out.truncated = true;
        out.next_marker = out.keys.back().key_id;
        break;
      }
      out.keys.push_back({k.key_id, KeyArn(k)});
    }
    return out;
  }

  absl::StatusOr<kms::EncryptResponse> Encrypt(const Caller& caller, kms::EncryptRequest& req,
                                               CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckKeyId(req.key_id, "keyId"));
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(req.encryption_algorithm));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(req.grant_tokens));
    VEIL_RETURN_IF_ERROR(CheckDryRun(req.dry_run));
    if (req.plaintext.empty() || req.plaintext.size() > kMaxEncryptPlaintext) {
      return Validation(
          "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
          "Member must have length between 1 and 4096");
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, req.key_id));
    info->key_arn = KeyArn(key);
    RequestContext r = Context(caller, key, "Encrypt");
    AddEncryptionContext(r, req.encryption_context);
    VEIL_RETURN_IF_ERROR(Authorize(key, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    VEIL_ASSIGN_OR_RETURN(key, MaybeRotate(std::move(key)));
    kms::EncryptResponse out;
    VEIL_ASSIGN_OR_RETURN(out.ciphertext_blob,
                          Seal(key, req.encryption_context, req.plaintext.Expose()));
    out.key_id = KeyArn(key);
    out.encryption_algorithm = kSymmetricDefault;
    return out;
  }

  absl::StatusOr<kms::DecryptResponse> Decrypt(const Caller& caller, kms::DecryptRequest& req,
                                               CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(req.encryption_algorithm));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(req.grant_tokens));
    VEIL_RETURN_IF_ERROR(CheckDryRun(req.dry_run));
    if (req.ciphertext_blob.empty()) return NullField("ciphertextBlob");
    VEIL_ASSIGN_OR_RETURN(std::optional<AttestedRecipient> recipient,
                          VerifyRecipient(req.recipient, info));
    VEIL_ASSIGN_OR_RETURN(auto opened,
                          OpenCiphertext(caller, req.ciphertext_blob, req.encryption_context,
                                         req.key_id, "Decrypt",
                                         recipient ? &*recipient : nullptr, info));
    kms::DecryptResponse out;
    out.key_id = KeyArn(opened.first);
    out.encryption_algorithm = kSymmetricDefault;
    VEIL_RETURN_IF_ERROR(ReleasePlaintext(std::move(opened.second), recipient, &out.plaintext,
                                          &out.ciphertext_for_recipient));
    return out;
  }

  absl::StatusOr<kms::ReEncryptResponse> ReEncrypt(const Caller& caller,
                                                   kms::ReEncryptRequest& req, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(req.source_encryption_algorithm));
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(req.destination_encryption_algorithm));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(req.grant_tokens));
    VEIL_RETURN_IF_ERROR(CheckDryRun(req.dry_run));
    if (req.ciphertext_blob.empty()) return NullField("ciphertextBlob");
    VEIL_RETURN_IF_ERROR(CheckKeyId(req.destination_key_id, "destinationKeyId"));
    VEIL_ASSIGN_OR_RETURN(auto opened,
                          OpenCiphertext(caller, req.ciphertext_blob,
                                         req.source_encryption_context, req.source_key_id,
                                         "ReEncryptFrom", nullptr, info));
    VEIL_ASSIGN_OR_RETURN(KeyRecord dest, ResolveKey(caller, req.destination_key_id));
    RequestContext r = Context(caller, dest, "ReEncryptTo");
    AddEncryptionContext(r, req.destination_encryption_context);
    VEIL_RETURN_IF_ERROR(Authorize(dest, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(dest));
    VEIL_ASSIGN_OR_RETURN(dest, MaybeRotate(std::move(dest)));
    kms::ReEncryptResponse out;
    VEIL_ASSIGN_OR_RETURN(out.ciphertext_blob, Seal(dest, req.destination_encryption_context,
                                                    opened.second.Expose()));
    info->key_arn = KeyArn(dest);
    out.source_key_id = KeyArn(opened.first);
    out.key_id = KeyArn(dest);
    out.source_encryption_algorithm = kSymmetricDefault;
    out.destination_encryption_algorithm = kSymmetricDefault;
    return out;
  }

  static absl::StatusOr<size_t> NumberOfBytes(int32_t n) {
    if (n < 1 || n > 1024) {
      return Validation(absl::StrCat("1 validation error detected: Value '", n,
                                     "' at 'numberOfBytes' failed to satisfy constraint: Member "
                                     "must have value ",
                                     n < 1 ? "greater than or equal to 1"
                                           : "less than or equal to 1024"));
    }
    return static_cast<size_t>(n);
  }

  static absl::StatusOr<size_t> DataKeySize(const std::string& key_spec,
                                            const std::optional<int32_t>& number_of_bytes) {
    if (key_spec.empty() == !number_of_bytes.has_value()) {
      return Validation("Please specify either number of bytes or key spec.");
    }
    if (key_spec == kms::data_key_spec::kAes256) return 32;
    if (key_spec == kms::data_key_spec::kAes128) return 16;
    return NumberOfBytes(*number_of_bytes);
  }

  // DataKey is GenerateDataKey (`recipient` may be set) and
  // GenerateDataKeyWithoutPlaintext.
  absl::StatusOr<std::tuple<KeyRecord, SecretBytes, std::vector<uint8_t>>> DataKey(
      const Caller& caller, std::string_view operation, const std::string& key_id,
      const EncryptionContext& ec, size_t size, const AttestedRecipient* recipient,
      CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, key_id));
    info->key_arn = KeyArn(key);
    RequestContext r = Context(caller, key, operation);
    AddEncryptionContext(r, ec);
    AddRecipient(r, recipient);
    VEIL_RETURN_IF_ERROR(Authorize(key, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    VEIL_ASSIGN_OR_RETURN(key, MaybeRotate(std::move(key)));
    VEIL_ASSIGN_OR_RETURN(SecretBytes data_key, crypto::RandomSecret(size));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> blob, Seal(key, ec, data_key.Expose()));
    return std::make_tuple(std::move(key), std::move(data_key), std::move(blob));
  }

  absl::StatusOr<kms::GenerateDataKeyResponse> GenerateDataKey(
      const Caller& caller, kms::GenerateDataKeyRequest& req, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckKeyId(req.key_id, "keyId"));
    VEIL_ASSIGN_OR_RETURN(size_t size, DataKeySize(req.key_spec, req.number_of_bytes));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(req.grant_tokens));
    VEIL_RETURN_IF_ERROR(CheckDryRun(req.dry_run));
    VEIL_ASSIGN_OR_RETURN(std::optional<AttestedRecipient> recipient,
                          VerifyRecipient(req.recipient, info));
    VEIL_ASSIGN_OR_RETURN(auto made, DataKey(caller, "GenerateDataKey", req.key_id,
                                             req.encryption_context, size,
                                             recipient ? &*recipient : nullptr, info));
    kms::GenerateDataKeyResponse out;
    out.key_id = KeyArn(std::get<0>(made));
    out.ciphertext_blob = std::move(std::get<2>(made));
    VEIL_RETURN_IF_ERROR(ReleasePlaintext(std::move(std::get<1>(made)), recipient,
                                          &out.plaintext, &out.ciphertext_for_recipient));
    return out;
  }

  absl::StatusOr<kms::GenerateDataKeyWithoutPlaintextResponse> GenerateDataKeyWithoutPlaintext(
      const Caller& caller, kms::GenerateDataKeyWithoutPlaintextRequest& req, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckKeyId(req.key_id, "keyId"));
    VEIL_ASSIGN_OR_RETURN(size_t size, DataKeySize(req.key_spec, req.number_of_bytes));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(req.grant_tokens));
    VEIL_RETURN_IF_ERROR(CheckDryRun(req.dry_run));
    VEIL_ASSIGN_OR_RETURN(auto made, DataKey(caller, "GenerateDataKeyWithoutPlaintext",
                                             req.key_id, req.encryption_context, size, nullptr,
                                             info));
    kms::GenerateDataKeyWithoutPlaintextResponse out;
    out.key_id = KeyArn(std::get<0>(made));
    out.ciphertext_blob = std::move(std::get<2>(made));
    return out;
  }

  absl::StatusOr<kms::GenerateRandomResponse> GenerateRandom(const Caller&,
                                                             kms::GenerateRandomRequest& req,
                                                             CallInfo* info) {
    if (!req.custom_key_store_id.empty()) {
      return KmsError(ErrorType::kUnsupportedOperation, "veil-kms has no custom key stores");
    }
    if (!req.number_of_bytes.has_value()) return NullField("numberOfBytes");
    VEIL_ASSIGN_OR_RETURN(size_t size, NumberOfBytes(*req.number_of_bytes));
    VEIL_ASSIGN_OR_RETURN(std::optional<AttestedRecipient> recipient,
                          VerifyRecipient(req.recipient, info));
    VEIL_ASSIGN_OR_RETURN(SecretBytes random, crypto::RandomSecret(size));
    kms::GenerateRandomResponse out;
    VEIL_RETURN_IF_ERROR(ReleasePlaintext(std::move(random), recipient, &out.plaintext,
                                          &out.ciphertext_for_recipient));
    return out;
  }

  static absl::Status CheckAliasName(const std::string& name) {
    if (name.empty()) return NullField("aliasName");
    if (!name.starts_with("alias/")) return Validation("Invalid identifier");
    if (name.starts_with("alias/aws/")) return KmsError(ErrorType::kNotAuthorized, "");
    if (!ValidAliasName(name)) {
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", name,
          "' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
          "expression pattern: ^[a-zA-Z0-9:/_-]+$"));
    }
    return absl::OkStatus();
  }

  // AliasTarget resolves TargetKeyId (a key id or key ARN, never an alias)
  // in the caller's account and checks `operation` on it.
  absl::StatusOr<KeyRecord> AliasTarget(const Caller& caller, const std::string& target,
                                        std::string_view operation, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckKeyId(target, "targetKeyId"));
    if (target.starts_with("alias/") || target.find(":alias/") != std::string::npos) {
      return Validation("Aliases must refer to keys. Not aliases");
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, target, /*allow_alias=*/false));
    info->key_arn = KeyArn(key);
    if (key.account != caller.account) return KeyNotFound(KeyArn(key));
    VEIL_RETURN_IF_ERROR(Authorize(key, Context(caller, key, operation)));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    return key;
  }

  absl::StatusOr<kms::EmptyResponse> CreateAlias(const Caller& caller,
                                                 kms::CreateAliasRequest& req, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckAliasName(req.alias_name));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          AliasTarget(caller, req.target_key_id, "CreateAlias", info));
    const int64_t now = NowMs();
    absl::Status status =
        store_->CreateAlias({caller.account, req.alias_name, key.key_id, now, now});
    if (absl::IsAlreadyExists(status)) {
      return KmsError(ErrorType::kAlreadyExists,
                      absl::StrCat("An alias with the name ",
                                   AliasArn(caller.account, req.alias_name), " already exists"));
    }
    VEIL_RETURN_IF_ERROR(status);
    return kms::EmptyResponse{};
  }

  absl::StatusOr<kms::EmptyResponse> UpdateAlias(const Caller& caller,
                                                 kms::UpdateAliasRequest& req, CallInfo* info) {
    VEIL_RETURN_IF_ERROR(CheckAliasName(req.alias_name));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          AliasTarget(caller, req.target_key_id, "UpdateAlias", info));
    std::optional<AliasRecord> alias = store_->FindAlias(caller.account, req.alias_name);
    if (!alias.has_value()) return AliasNotFound(caller.account, req.alias_name);
    if (std::optional<KeyRecord> old = store_->FindKey(alias->target_key_id); old.has_value()) {
      VEIL_RETURN_IF_ERROR(Authorize(*old, Context(caller, *old, "UpdateAlias")));
    }
    VEIL_RETURN_IF_ERROR(store_->UpdateAlias(caller.account, req.alias_name, key.key_id, NowMs()));
    return kms::EmptyResponse{};
  }

  absl::StatusOr<kms::EmptyResponse> DeleteAlias(const Caller& caller,
                                                 kms::DeleteAliasRequest& req, CallInfo* info) {
    if (req.alias_name.empty()) return NullField("aliasName");
    if (!req.alias_name.starts_with("alias/")) return Validation("Invalid identifier");
    std::optional<AliasRecord> alias = store_->FindAlias(caller.account, req.alias_name);
    if (!alias.has_value()) return AliasNotFound(caller.account, req.alias_name);
    if (std::optional<KeyRecord> key = store_->FindKey(alias->target_key_id); key.has_value()) {
      info->key_arn = KeyArn(*key);
      VEIL_RETURN_IF_ERROR(Authorize(*key, Context(caller, *key, "DeleteAlias")));
    }
    VEIL_RETURN_IF_ERROR(store_->DeleteAlias(caller.account, req.alias_name));
    return kms::EmptyResponse{};
  }

  absl::StatusOr<kms::ListAliasesResponse> ListAliases(const Caller& caller,
                                                       kms::ListAliasesRequest& req,
                                                       CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(size_t limit, Limit(req.limit));
    std::string filter;
    if (!req.key_id.empty()) {
      VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                            ResolveAndAuthorize(caller, req.key_id, "ListAliases", info));
      filter = key.key_id;
    }
    kms::ListAliasesResponse out;
    out.truncated = false;
    for (const AliasRecord& a : store_->ListAliases(caller.account, filter)) {
      if (!req.marker.empty() && a.alias_name <= req.marker) continue;
      if (out.aliases.size() == limit) {
        out.truncated = true;
        out.next_marker = out.aliases.back().alias_name;
        break;
      }
      out.aliases.push_back({a.alias_name, AliasArn(caller.account, a.alias_name),
                             a.target_key_id, FromMs(a.created_ms), FromMs(a.updated_ms)});
    }
    return out;
  }

  static absl::Status CheckPolicyName(const std::string& name) {
    if (!name.empty() && name != "default") {
      return KmsError(ErrorType::kNotFound, "No such policy exists");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<kms::GetKeyPolicyResponse> GetKeyPolicy(const Caller& caller,
                                                         kms::GetKeyPolicyRequest& req,
                                                         CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "GetKeyPolicy", info));
    VEIL_RETURN_IF_ERROR(CheckPolicyName(req.policy_name));
    return kms::GetKeyPolicyResponse{key.policy, "default"};
  }

  absl::StatusOr<kms::EmptyResponse> PutKeyPolicy(const Caller& caller,
                                                  kms::PutKeyPolicyRequest& req, CallInfo* info) {
    if (req.policy.empty()) return NullField("policy");
    if (req.policy.size() > kMaxPolicySize) return TooLong("policy", kMaxPolicySize);
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "PutKeyPolicy", info));
    VEIL_RETURN_IF_ERROR(CheckPolicyName(req.policy_name));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    VEIL_RETURN_IF_ERROR(CheckNewPolicy(caller, key, req.policy,
                                        req.bypass_policy_lockout_safety_check.value_or(false)));
    key.policy = req.policy;
    VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    return kms::EmptyResponse{};
  }

  absl::StatusOr<kms::EmptyResponse> SetEnabled(const Caller& caller, const std::string& id,
                                                CallInfo* info, bool enabled) {
    VEIL_ASSIGN_OR_RETURN(
        KeyRecord key,
        ResolveAndAuthorize(caller, id, enabled ? "EnableKey" : "DisableKey", info));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    const KeyState want = enabled ? KeyState::kEnabled : KeyState::kDisabled;
    if (key.state != want) {
      key.state = want;
      VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    }
    return kms::EmptyResponse{};
  }
  absl::StatusOr<kms::EmptyResponse> EnableKey(const Caller& caller, kms::KeyIdRequest& req,
                                               CallInfo* info) {
    return SetEnabled(caller, req.key_id, info, true);
  }
  absl::StatusOr<kms::EmptyResponse> DisableKey(const Caller& caller, kms::KeyIdRequest& req,
                                                CallInfo* info) {
    return SetEnabled(caller, req.key_id, info, false);
  }

  absl::StatusOr<kms::ScheduleKeyDeletionResponse> ScheduleKeyDeletion(
      const Caller& caller, kms::ScheduleKeyDeletionRequest& req, CallInfo* info) {
    const std::optional<int32_t>& days = req.pending_window_in_days;
    if (days.has_value() && (*days < 7 || *days > 30)) {
      return Validation(absl::StrCat("1 validation error detected: Value '", *days,
                                     "' at 'pendingWindowInDays' failed to satisfy constraint: "
                                     "Member must have value between 7 and 30"));
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "ScheduleKeyDeletion", info));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    key.state = KeyState::kPendingDeletion;
    key.pending_window_days = days.value_or(30);
    key.deletion_ms = NowMs() + key.pending_window_days * kMsPerDay;
    VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    kms::ScheduleKeyDeletionResponse out;
    out.key_id = KeyArn(key);
    out.deletion_date = FromMs(key.deletion_ms);
    out.key_state = KeyStateName(key.state);
    out.pending_window_in_days = key.pending_window_days;
    return out;
  }

  absl::StatusOr<kms::CancelKeyDeletionResponse> CancelKeyDeletion(const Caller& caller,
                                                                   kms::KeyIdRequest& req,
                                                                   CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "CancelKeyDeletion", info));
    if (key.state != KeyState::kPendingDeletion) {
      return KmsError(ErrorType::kInvalidState,
                      absl::StrCat(KeyArn(key), " is not pending deletion."));
    }
    // As in AWS, a key whose deletion is cancelled comes back Disabled.
    key.state = KeyState::kDisabled;
    key.deletion_ms = 0;
    key.pending_window_days = 0;
    VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    return kms::CancelKeyDeletionResponse{KeyArn(key)};
  }

  absl::StatusOr<kms::EmptyResponse> EnableKeyRotation(const Caller& caller,
                                                       kms::EnableKeyRotationRequest& req,
                                                       CallInfo* info) {
    const std::optional<int32_t>& period = req.rotation_period_in_days;
    if (period.has_value() && (*period < 90 || *period > 2560)) {
      return Validation(absl::StrCat("1 validation error detected: Value '", *period,
                                     "' at 'rotationPeriodInDays' failed to satisfy constraint: "
                                     "Member must have value between 90 and 2560"));
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "EnableKeyRotation", info));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    if (!key.rotation_enabled || period.has_value()) {
      key.rotation_enabled = true;
      key.rotation_period_days = period.value_or(key.rotation_period_days);
      key.next_rotation_ms = NowMs() + int64_t{key.rotation_period_days} * kMsPerDay;
      VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    }
    return kms::EmptyResponse{};
  }

  absl::StatusOr<kms::EmptyResponse> DisableKeyRotation(const Caller& caller,
                                                        kms::KeyIdRequest& req, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "DisableKeyRotation", info));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    if (key.rotation_enabled) {
      key.rotation_enabled = false;
      key.next_rotation_ms = 0;
      VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    }
    return kms::EmptyResponse{};
  }

  absl::StatusOr<kms::GetKeyRotationStatusResponse> GetKeyRotationStatus(const Caller& caller,
                                                                         kms::KeyIdRequest& req,
                                                                         CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "GetKeyRotationStatus", info));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    VEIL_ASSIGN_OR_RETURN(key, MaybeRotate(std::move(key)));
    kms::GetKeyRotationStatusResponse out;
    out.key_id = KeyArn(key);
    out.key_rotation_enabled = key.rotation_enabled;
    if (key.rotation_enabled) {
      out.rotation_period_in_days = key.rotation_period_days;
      out.next_rotation_date = FromMs(key.next_rotation_ms);
    }
    return out;
  }

  absl::StatusOr<kms::CancelKeyDeletionResponse> RotateKeyOnDemand(const Caller& caller,
                                                                   kms::KeyIdRequest& req,
                                                                   CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, req.key_id, "RotateKeyOnDemand", info));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    absl::MutexLock lock(&rotate_mu_);
    std::optional<KeyRecord> fresh = store_->FindKey(key.key_id);
    if (!fresh.has_value()) return KeyNotFound(KeyArn(key));
    VEIL_ASSIGN_OR_RETURN(key, RotateNow(*fresh, NowMs()));
    return kms::CancelKeyDeletionResponse{KeyArn(key)};
  }

  Store* const store_;
  const RootKey* const root_key_;
  KeyServiceOptions options_;

  absl::Mutex rotate_mu_;
  absl::Mutex cache_mu_;
  std::map<std::string, std::pair<std::string, std::shared_ptr<const Policy>>> policies_
      ABSL_GUARDED_BY(cache_mu_);
  std::map<std::pair<std::string, uint32_t>, std::shared_ptr<const SecretBytes>> materials_
      ABSL_GUARDED_BY(cache_mu_);
};

KeyService::KeyService(std::unique_ptr<Impl> impl, KeyServiceOptions options)
    : impl_(std::move(impl)), options_(std::move(options)) {}
KeyService::~KeyService() = default;

absl::StatusOr<std::unique_ptr<KeyService>> KeyService::Create(Store* store,
                                                               const RootKey* root_key,
                                                               KeyServiceOptions options) {
  if (store == nullptr || root_key == nullptr) {
    return absl::InvalidArgumentError("KeyService needs a store and a root key");
  }
  if (options.region.empty()) return absl::InvalidArgumentError("region must not be empty");
  auto impl = std::make_unique<Impl>(store, root_key, options);
  return std::unique_ptr<KeyService>(new KeyService(std::move(impl), std::move(options)));
}

bool KeyService::IsOperation(std::string_view operation) {
  return Impl::Operations().contains(operation);
}

absl::StatusOr<std::string> KeyService::Call(const Caller& caller, std::string_view operation,
                                             std::string_view body, CallInfo* info) {
  return impl_->Dispatch(caller, operation, body, info);
}

}  // namespace veil::kms_server
