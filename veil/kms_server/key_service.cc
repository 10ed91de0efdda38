#include "veil/kms_server/key_service.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "veil/common/encoding.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/random.h"
#include "veil/kms_server/ciphertext_blob.h"
#include "veil/kms_server/kms_errors.h"

namespace veil::kms_server {

using Json = nlohmann::json;

namespace {

constexpr int64_t kMsPerDay = 24LL * 3600 * 1000;
constexpr size_t kKeyMaterialSize = 32;
constexpr size_t kMaxEncryptPlaintext = 4096;
constexpr size_t kMaxCiphertextBlob = 6144;
constexpr char kSymmetricDefault[] = "SYMMETRIC_DEFAULT";

absl::Status Validation(std::string_view message) {
  return KmsError("ValidationException", message);
}

absl::Status NullField(std::string_view field) {
  return Validation(absl::StrCat("1 validation error detected: Value null at '",
                                 std::string(field),
                                 "' failed to satisfy constraint: Member must not be null"));
}

std::string LowerFirst(std::string_view name) {
  std::string s(name);
  if (!s.empty()) s[0] = absl::ascii_tolower(static_cast<unsigned char>(s[0]));
  return s;
}

// Fields reads a request object with AWS's error semantics: a field of the
// wrong JSON type is a SerializationException, a constraint violation a
// ValidationException naming the field in lowerCamelCase.
class Fields {
 public:
  explicit Fields(const Json& j) : j_(j) {}

  const Json* Get(std::string_view name) const {
    auto it = j_.find(std::string(name));
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  absl::StatusOr<std::optional<std::string>> OptString(std::string_view name,
                                                       size_t max_len = 8192) const {
    const Json* v = Get(name);
    if (v == nullptr) return std::optional<std::string>();
    if (!v->is_string()) return Serialization(name);
    std::string s = v->get<std::string>();
    if (s.size() > max_len) {
      return Validation(absl::StrCat("1 validation error detected: Value at '", LowerFirst(name),
                                     "' failed to satisfy constraint: Member must have length "
                                     "less than or equal to ",
                                     max_len));
    }
    return std::optional<std::string>(std::move(s));
  }
  absl::StatusOr<std::string> String(std::string_view name, size_t max_len = 8192) const {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> s, OptString(name, max_len));
    if (!s.has_value()) return NullField(LowerFirst(name));
    if (s->empty()) {
      return Validation(absl::StrCat("1 validation error detected: Value '' at '",
                                     LowerFirst(name),
                                     "' failed to satisfy constraint: Member must have length "
                                     "greater than or equal to 1"));
    }
    return *std::move(s);
  }
  absl::StatusOr<std::optional<int64_t>> OptInt(std::string_view name) const {
    const Json* v = Get(name);
    if (v == nullptr) return std::optional<int64_t>();
    if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (std::floor(d) == d && std::fabs(d) < 1e15) {
        return std::optional<int64_t>(static_cast<int64_t>(d));
      }
    }
    return Serialization(name);
  }
  absl::StatusOr<bool> Bool(std::string_view name) const {
    const Json* v = Get(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return Serialization(name);
    return v->get<bool>();
  }
  absl::StatusOr<std::optional<std::vector<uint8_t>>> OptBlob(std::string_view name) const {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> s, OptString(name, 1 << 20));
    if (!s.has_value()) return std::optional<std::vector<uint8_t>>();
    auto bytes = Base64Decode(*s);
    if (!bytes.ok()) {
      return KmsError("SerializationException",
                      absl::StrCat("Value of ", std::string(name), " is not valid base64"));
    }
    return std::optional<std::vector<uint8_t>>(*std::move(bytes));
  }
  absl::StatusOr<EncryptionContext> Context(std::string_view name) const {
    const Json* v = Get(name);
    EncryptionContext ec;
    if (v == nullptr) return ec;
    if (!v->is_object()) return Serialization(name);
    for (const auto& [k, val] : v->items()) {
      if (!val.is_string()) return Serialization(name);
      ec[k] = val.get<std::string>();
    }
    return ec;
  }
  absl::Status Serialization(std::string_view name) const {
    return KmsError("SerializationException",
                    absl::StrCat("Unexpected type for field ", std::string(name)));
  }

 private:
  const Json& j_;
};

double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

std::vector<std::string> Keys(const EncryptionContext& ec) {
  std::vector<std::string> out;
  for (const auto& [k, v] : ec) out.push_back(k);
  return out;
}

bool ValidAliasName(const std::string& name) {
  static const std::regex kPattern("^alias/[a-zA-Z0-9/_-]+$");
  return name.size() <= 256 && std::regex_match(name, kPattern);
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

  using Handler = absl::StatusOr<Json> (Impl::*)(const Caller&, const Fields&, CallInfo*);
  static const std::map<std::string, Handler, std::less<>>& Operations() {
    static const auto* ops = new std::map<std::string, Handler, std::less<>>{
        {"CancelKeyDeletion", &Impl::CancelKeyDeletion},
        {"CreateAlias", &Impl::CreateAlias},
        {"CreateKey", &Impl::CreateKey},
        {"Decrypt", &Impl::Decrypt},
        {"DeleteAlias", &Impl::DeleteAlias},
        {"DescribeKey", &Impl::DescribeKey},
        {"DisableKey", &Impl::DisableKey},
        {"DisableKeyRotation", &Impl::DisableKeyRotation},
        {"EnableKey", &Impl::EnableKey},
        {"EnableKeyRotation", &Impl::EnableKeyRotation},
        {"Encrypt", &Impl::Encrypt},
        {"GenerateDataKey", &Impl::GenerateDataKey},
        {"GenerateDataKeyWithoutPlaintext", &Impl::GenerateDataKeyWithoutPlaintext},
        {"GenerateRandom", &Impl::GenerateRandom},
        {"GetKeyPolicy", &Impl::GetKeyPolicy},
        {"GetKeyRotationStatus", &Impl::GetKeyRotationStatus},
        {"ListAliases", &Impl::ListAliases},
        {"ListKeys", &Impl::ListKeys},
        {"PutKeyPolicy", &Impl::PutKeyPolicy},
        {"ReEncrypt", &Impl::ReEncrypt},
        {"RotateKeyOnDemand", &Impl::RotateKeyOnDemand},
        {"ScheduleKeyDeletion", &Impl::ScheduleKeyDeletion},
        {"UpdateAlias", &Impl::UpdateAlias},
    };
    return *ops;
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
    return KmsError("NotFoundException", absl::StrCat("Key '", arn, "' does not exist"));
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
      if (parts.size() != 5 || parts[1] != "aws" || parts[2] != "kms") {
        return KmsError("NotFoundException", absl::StrCat("Invalid arn ", id));
      }
      if (parts[3] != options_.region) {
        return KmsError("NotFoundException", absl::StrCat("Invalid arn ", id));
      }
      account = parts[4];
      rest = id.substr(start);
      if (rest.starts_with("key/")) {
        rest = rest.substr(4);
        if (!IsUuid(rest)) return KeyNotFound(id);
      } else if (!rest.starts_with("alias/")) {
        return KmsError("NotFoundException", absl::StrCat("Invalid arn ", id));
      }
    }
    if (rest.starts_with("alias/")) {
      if (!allow_alias) return Validation("Aliases must refer to keys. Not aliases");
      std::optional<AliasRecord> alias = store_->FindAlias(account, rest);
      std::optional<KeyRecord> key;
      if (alias.has_value()) key = FindLiveKey(alias->target_key_id);
      if (!key.has_value()) {
        return KmsError("NotFoundException",
                        absl::StrCat("Alias ", AliasArn(account, rest), " is not found."));
      }
      return *std::move(key);
    }
    if (!IsUuid(rest)) return KmsError("NotFoundException", absl::StrCat("Invalid keyId ", id));
    const std::string key_id = absl::AsciiStrToLower(rest);
    std::optional<KeyRecord> key = FindLiveKey(key_id);
    const std::string arn =
        absl::StrCat("arn:aws:kms:", options_.region, ":", account, ":key/", key_id);
    if (!key.has_value() || key->account != account || key->region != options_.region) {
      return KeyNotFound(arn);
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
        return KmsError("AccessDeniedException",
                        absl::StrCat("User: ", r.principal_arn, " is not authorized to perform: ",
                                     r.action, " on resource: ", r.resource_arn,
                                     " with an explicit deny in a resource-based policy"));
      case Decision::kImplicitDeny:
        break;
    }
    return KmsError("AccessDeniedException",
                    absl::StrCat("User: ", r.principal_arn, " is not authorized to perform: ",
                                 r.action, " on resource: ", r.resource_arn,
                                 " because no resource-based policy allows the ", r.action,
                                 " action"));
  }

  // ResolveAndAuthorize resolves `id` and checks the key policy for
  // `operation` with only the base condition keys.
  absl::StatusOr<KeyRecord> ResolveAndAuthorize(const Caller& caller, const std::string& id,
                                                std::string_view operation, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, id));
    info->key_arn = KeyArn(key);
    VEIL_RETURN_IF_ERROR(Authorize(key, Context(caller, key, operation)));
    return key;
  }

  absl::Status RequireUsable(const KeyRecord& key) {
    if (key.state == KeyState::kDisabled) {
      return KmsError("DisabledException", absl::StrCat(KeyArn(key), " is disabled."));
    }
    if (key.state == KeyState::kPendingDeletion) {
      return KmsError("KMSInvalidStateException",
                      absl::StrCat(KeyArn(key), " is pending deletion."));
    }
    return absl::OkStatus();
  }
  absl::Status RequireNotPendingDeletion(const KeyRecord& key) {
    if (key.state == KeyState::kPendingDeletion) {
      return KmsError("KMSInvalidStateException",
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
    if (!v.has_value()) return KmsError("InvalidCiphertextException", "");
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

  absl::StatusOr<std::optional<AttestedRecipient>> ReadRecipient(const Fields& f,
                                                                 CallInfo* info) {
    const Json* r = f.Get("Recipient");
    if (r == nullptr) return std::optional<AttestedRecipient>();
    if (!r->is_object()) return f.Serialization("Recipient");
    Fields rf(*r);
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> algorithm,
                          rf.OptString("KeyEncryptionAlgorithm"));
    if (algorithm.has_value() && *algorithm != "RSAES_OAEP_SHA_256") {
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", *algorithm,
          "' at 'recipient.keyEncryptionAlgorithm' failed to satisfy constraint: Member must "
          "satisfy enum value set: [RSAES_OAEP_SHA_256]"));
    }
    VEIL_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> doc,
                          rf.OptBlob("AttestationDocument"));
    if (!doc.has_value() || doc->empty()) return NullField("recipient.attestationDocument");
    if (doc->size() > 262144) {
      return Validation("Recipient.AttestationDocument is larger than 262144 bytes");
    }
    if (options_.recipients == nullptr) {
      return KmsError("UnsupportedOperationException",
                      "veil-kms was started without --attestation-root; Recipient is not "
                      "available");
    }
    auto verified = options_.recipients->Verify(*doc);
    if (!verified.ok()) {
      return Validation("The attestation document in the Recipient parameter is not valid.");
    }
    auto pcr0 = verified->pcrs.find(0);
    if (pcr0 != verified->pcrs.end()) info->recipient_pcr0_hex = HexEncode(pcr0->second);
    info->recipient_module_id = verified->module_id;
    info->recipient_simulated = verified->simulated;
    return std::optional<AttestedRecipient>(*std::move(verified));
  }

  // PutPlaintext sets Plaintext, or CiphertextForRecipient when a recipient
  // was given (the plaintext field is then absent, as in AWS).
  absl::Status PutPlaintext(Json& out, const SecretBytes& plaintext,
                            const std::optional<AttestedRecipient>& recipient) {
    if (recipient.has_value()) {
      VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> cms,
                            options_.recipients->Seal(*recipient, plaintext));
      out["CiphertextForRecipient"] = Base64Encode(cms);
    } else {
      out["Plaintext"] = Base64Encode(plaintext.Expose());
    }
    return absl::OkStatus();
  }

  absl::Status CheckAlgorithm(const Fields& f, std::string_view field) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> algorithm, f.OptString(field));
    if (algorithm.has_value() && *algorithm != kSymmetricDefault) {
      if (*algorithm == "RSAES_OAEP_SHA_1" || *algorithm == "RSAES_OAEP_SHA_256" ||
          *algorithm == "SM2PKE") {
        return KmsError("InvalidKeyUsageException",
                        absl::StrCat("The encryption algorithm ", *algorithm,
                                     " is not supported by a SYMMETRIC_DEFAULT key"));
      }
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", *algorithm, "' at '", LowerFirst(field),
          "' failed to satisfy constraint: Member must satisfy enum value set: "
          "[SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]"));
    }
    return absl::OkStatus();
  }

  absl::Status CheckGrantTokens(const Fields& f) {
    const Json* g = f.Get("GrantTokens");
    if (g == nullptr) return absl::OkStatus();
    if (!g->is_array()) return f.Serialization("GrantTokens");
    if (g->size() > 10) return Validation("GrantTokens has more than 10 entries");
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
      const std::optional<std::string>& expected_key, std::string_view operation,
      const AttestedRecipient* recipient, CallInfo* info) {
    if (blob.empty() || blob.size() > kMaxCiphertextBlob) {
      return Validation(
          "1 validation error detected: Value at 'ciphertextBlob' failed to satisfy constraint: "
          "Member must have length between 1 and 6144");
    }
    auto header = ParseBlobHeader(blob);
    if (!header.ok()) return KmsError("InvalidCiphertextException", "");
    std::optional<KeyRecord> key = FindLiveKey(header->key_id);
    if (!key.has_value() || key->region != options_.region) {
      return KmsError("InvalidCiphertextException", "");
    }
    info->key_arn = KeyArn(*key);
    if (expected_key.has_value()) {
      auto expected = ResolveKey(caller, *expected_key);
      if (!expected.ok() || expected->key_id != key->key_id) {
        return KmsError("IncorrectKeyException",
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
      return KmsError("InvalidCiphertextException", "");
    }
    VEIL_ASSIGN_OR_RETURN(std::shared_ptr<const SecretBytes> material,
                          Material(key->key_id, header->key_version));
    auto plaintext = OpenBlob(blob, *material, ec);
    if (!plaintext.ok()) return KmsError("InvalidCiphertextException", "");
    return std::make_pair(*std::move(key), *std::move(plaintext));
  }

  Json Metadata(const KeyRecord& k) const {
    Json m = {{"AWSAccountId", k.account},
              {"KeyId", k.key_id},
              {"Arn", KeyArn(k)},
              {"CreationDate", EpochSeconds(k.created_ms)},
              {"Enabled", k.state == KeyState::kEnabled},
              {"Description", k.description},
              {"KeyUsage", "ENCRYPT_DECRYPT"},
              {"KeyState", KeyStateName(k.state)},
              {"Origin", "AWS_KMS"},
              {"KeyManager", "CUSTOMER"},
              {"CustomerMasterKeySpec", kSymmetricDefault},
              {"KeySpec", kSymmetricDefault},
              {"EncryptionAlgorithms", Json::array({kSymmetricDefault})},
              {"MultiRegion", false}};
    if (k.state == KeyState::kPendingDeletion) {
      m["DeletionDate"] = EpochSeconds(k.deletion_ms);
      m["PendingDeletionWindowInDays"] = k.pending_window_days;
    }
    return m;
  }

  absl::Status CheckNewPolicy(const Caller& caller, const KeyRecord& key,
                              const std::string& document, bool bypass) {
    auto policy = Policy::Parse(document);
    if (!policy.ok()) {
      return KmsError("MalformedPolicyDocumentException", std::string(policy.status().message()));
    }
    if (!bypass) {
      // AWS's lockout safety check: the caller must still be able to change
      // the policy afterwards.
      RequestContext r = Context(caller, key, "PutKeyPolicy");
      if ((*policy)->Evaluate(r) != Decision::kAllow) {
        return KmsError("MalformedPolicyDocumentException",
                        "The new key policy will not allow you to update the key policy in the "
                        "future.");
      }
    }
    return absl::OkStatus();
  }

  // ---- operations

  absl::StatusOr<Json> CreateKey(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> description, f.OptString("Description"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> usage, f.OptString("KeyUsage"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> spec, f.OptString("KeySpec"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> cmk_spec,
                          f.OptString("CustomerMasterKeySpec"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> origin, f.OptString("Origin"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> policy,
                          f.OptString("Policy", kMaxPolicySize));
    VEIL_ASSIGN_OR_RETURN(bool bypass, f.Bool("BypassPolicyLockoutSafetyCheck"));
    VEIL_ASSIGN_OR_RETURN(bool multi_region, f.Bool("MultiRegion"));
    if (spec.has_value() && cmk_spec.has_value()) {
      return Validation("You cannot specify KeySpec and CustomerMasterKeySpec in the same request.");
    }
    const std::string key_spec = spec.value_or(cmk_spec.value_or(kSymmetricDefault));
    if (key_spec != kSymmetricDefault) {
      return KmsError("UnsupportedOperationException",
                      absl::StrCat("veil-kms supports only SYMMETRIC_DEFAULT keys, not ", key_spec));
    }
    if (usage.has_value() && *usage != "ENCRYPT_DECRYPT") {
      return Validation(absl::StrCat("KeyUsage ", *usage, " is not compatible with KeySpec ",
                                     key_spec));
    }
    if (origin.has_value() && *origin != "AWS_KMS") {
      return KmsError("UnsupportedOperationException",
                      absl::StrCat("veil-kms supports only Origin AWS_KMS, not ", *origin));
    }
    if (multi_region) {
      return KmsError("UnsupportedOperationException", "veil-kms has no multi-Region keys");
    }
    Json tags = Json::array();
    if (const Json* t = f.Get("Tags"); t != nullptr) {
      if (!t->is_array()) return f.Serialization("Tags");
      for (const Json& tag : *t) {
        if (!tag.is_object() || !tag.contains("TagKey") || !tag["TagKey"].is_string() ||
            !tag.contains("TagValue") || !tag["TagValue"].is_string()) {
          return KmsError("TagException", "Each tag needs a string TagKey and TagValue");
        }
        tags.push_back({{"TagKey", tag["TagKey"]}, {"TagValue", tag["TagValue"]}});
      }
    }
    KeyRecord key;
    VEIL_ASSIGN_OR_RETURN(key.key_id, NewUuid());
    key.account = caller.account;
    key.region = options_.region;
    key.description = description.value_or("");
    key.created_ms = NowMs();
    key.policy = policy.value_or(DefaultKeyPolicy(caller.account));
    key.tags_json = tags.dump();
    info->key_arn = KeyArn(key);
    if (policy.has_value()) VEIL_RETURN_IF_ERROR(CheckNewPolicy(caller, key, *policy, bypass));
    VEIL_ASSIGN_OR_RETURN(SecretBytes material, crypto::RandomSecret(kKeyMaterialSize));
    KeyVersion v{1, {}, key.created_ms};
    VEIL_ASSIGN_OR_RETURN(v.sealed_material, SealKeyMaterial(*root_key_, key.key_id, 1, material));
    VEIL_RETURN_IF_ERROR(store_->CreateKey(key, v));
    return Json{{"KeyMetadata", Metadata(key)}};
  }

  absl::StatusOr<Json> DescribeKey(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveAndAuthorize(caller, id, "DescribeKey", info));
    return Json{{"KeyMetadata", Metadata(key)}};
  }

  absl::StatusOr<std::pair<size_t, std::string>> Paging(const Fields& f) {
    VEIL_ASSIGN_OR_RETURN(std::optional<int64_t> limit, f.OptInt("Limit"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> marker, f.OptString("Marker", 1024));
    if (limit.has_value() && (*limit < 1 || *limit > 1000)) {
      return Validation(absl::StrCat("1 validation error detected: Value '", *limit,
                                     "' at 'limit' failed to satisfy constraint: Member must have "
                                     "value between 1 and 1000"));
    }
    return std::make_pair(static_cast<size_t>(limit.value_or(100)), marker.value_or(""));
  }

  absl::StatusOr<Json> ListKeys(const Caller& caller, const Fields& f, CallInfo*) {
    VEIL_ASSIGN_OR_RETURN(auto paging, Paging(f));
    Json keys = Json::array();
    bool truncated = false;
    std::string last;
    for (const KeyRecord& k : store_->ListKeys(caller.account, options_.region)) {
      if (!paging.second.empty() && k.key_id <= paging.second) continue;
      if (k.state == KeyState::kPendingDeletion && NowMs() >= k.deletion_ms) continue;
      if (keys.size() == paging.first) {
        truncated = true;
        break;
      }
      keys.push_back({{"KeyId", k.key_id}, {"KeyArn", KeyArn(k)}});
      last = k.key_id;
    }
    Json out = {{"Keys", keys}, {"Truncated", truncated}};
    if (truncated) out["NextMarker"] = last;
    return out;
  }

  absl::StatusOr<Json> Encrypt(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> plaintext, f.OptBlob("Plaintext"));
    VEIL_ASSIGN_OR_RETURN(EncryptionContext ec, f.Context("EncryptionContext"));
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(f, "EncryptionAlgorithm"));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(f));
    if (!plaintext.has_value()) return NullField("plaintext");
    if (plaintext->empty() || plaintext->size() > kMaxEncryptPlaintext) {
      return Validation(
          "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
          "Member must have length between 1 and 4096");
    }
    SecretBytes secret = SecretBytes::Copy(*plaintext);
    std::fill(plaintext->begin(), plaintext->end(), 0);
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, id));
    info->key_arn = KeyArn(key);
    RequestContext r = Context(caller, key, "Encrypt");
    AddEncryptionContext(r, ec);
    VEIL_RETURN_IF_ERROR(Authorize(key, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    VEIL_ASSIGN_OR_RETURN(key, MaybeRotate(std::move(key)));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> blob, Seal(key, ec, secret.Expose()));
    return Json{{"CiphertextBlob", Base64Encode(blob)},
                {"KeyId", KeyArn(key)},
                {"EncryptionAlgorithm", kSymmetricDefault}};
  }

  absl::StatusOr<Json> Decrypt(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> blob, f.OptBlob("CiphertextBlob"));
    VEIL_ASSIGN_OR_RETURN(EncryptionContext ec, f.Context("EncryptionContext"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> key_id, f.OptString("KeyId", 2048));
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(f, "EncryptionAlgorithm"));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(f));
    if (!blob.has_value()) return NullField("ciphertextBlob");
    VEIL_ASSIGN_OR_RETURN(std::optional<AttestedRecipient> recipient, ReadRecipient(f, info));
    VEIL_ASSIGN_OR_RETURN(auto opened, OpenCiphertext(caller, *blob, ec, key_id, "Decrypt",
                                                      recipient ? &*recipient : nullptr, info));
    Json out = {{"KeyId", KeyArn(opened.first)}, {"EncryptionAlgorithm", kSymmetricDefault}};
    VEIL_RETURN_IF_ERROR(PutPlaintext(out, opened.second, recipient));
    return out;
  }

  absl::StatusOr<Json> ReEncrypt(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::vector<uint8_t>> blob, f.OptBlob("CiphertextBlob"));
    VEIL_ASSIGN_OR_RETURN(EncryptionContext source_ec, f.Context("SourceEncryptionContext"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> source_key, f.OptString("SourceKeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(EncryptionContext dest_ec, f.Context("DestinationEncryptionContext"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> dest_id,
                          f.OptString("DestinationKeyId", 2048));
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(f, "SourceEncryptionAlgorithm"));
    VEIL_RETURN_IF_ERROR(CheckAlgorithm(f, "DestinationEncryptionAlgorithm"));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(f));
    if (!blob.has_value()) return NullField("ciphertextBlob");
    if (!dest_id.has_value() || dest_id->empty()) return NullField("destinationKeyId");
    VEIL_ASSIGN_OR_RETURN(auto opened, OpenCiphertext(caller, *blob, source_ec, source_key,
                                                      "ReEncryptFrom", nullptr, info));
    VEIL_ASSIGN_OR_RETURN(KeyRecord dest, ResolveKey(caller, *dest_id));
    RequestContext r = Context(caller, dest, "ReEncryptTo");
    AddEncryptionContext(r, dest_ec);
    VEIL_RETURN_IF_ERROR(Authorize(dest, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(dest));
    VEIL_ASSIGN_OR_RETURN(dest, MaybeRotate(std::move(dest)));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> out_blob,
                          Seal(dest, dest_ec, opened.second.Expose()));
    info->key_arn = KeyArn(dest);
    return Json{{"CiphertextBlob", Base64Encode(out_blob)},
                {"SourceKeyId", KeyArn(opened.first)},
                {"KeyId", KeyArn(dest)},
                {"SourceEncryptionAlgorithm", kSymmetricDefault},
                {"DestinationEncryptionAlgorithm", kSymmetricDefault}};
  }

  absl::StatusOr<size_t> DataKeySize(const Fields& f) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> spec, f.OptString("KeySpec"));
    VEIL_ASSIGN_OR_RETURN(std::optional<int64_t> n, f.OptInt("NumberOfBytes"));
    if (spec.has_value() == n.has_value()) {
      return Validation("Please specify either number of bytes or key spec.");
    }
    if (spec.has_value()) {
      if (*spec == "AES_256") return 32;
      if (*spec == "AES_128") return 16;
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", *spec,
          "' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: "
          "[AES_256, AES_128]"));
    }
    return NumberOfBytes(*n);
  }

  static absl::StatusOr<size_t> NumberOfBytes(int64_t n) {
    if (n < 1 || n > 1024) {
      return Validation(absl::StrCat("1 validation error detected: Value '", n,
                                     "' at 'numberOfBytes' failed to satisfy constraint: Member "
                                     "must have value ",
                                     n < 1 ? "greater than or equal to 1"
                                           : "less than or equal to 1024"));
    }
    return static_cast<size_t>(n);
  }

  absl::StatusOr<Json> DataKey(const Caller& caller, const Fields& f, CallInfo* info,
                               bool with_plaintext) {
    const char* op = with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext";
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(EncryptionContext ec, f.Context("EncryptionContext"));
    VEIL_ASSIGN_OR_RETURN(size_t size, DataKeySize(f));
    VEIL_RETURN_IF_ERROR(CheckGrantTokens(f));
    std::optional<AttestedRecipient> recipient;
    if (with_plaintext) {
      VEIL_ASSIGN_OR_RETURN(recipient, ReadRecipient(f, info));
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveKey(caller, id));
    info->key_arn = KeyArn(key);
    RequestContext r = Context(caller, key, op);
    AddEncryptionContext(r, ec);
    AddRecipient(r, recipient ? &*recipient : nullptr);
    VEIL_RETURN_IF_ERROR(Authorize(key, r));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    VEIL_ASSIGN_OR_RETURN(key, MaybeRotate(std::move(key)));
    VEIL_ASSIGN_OR_RETURN(SecretBytes data_key, crypto::RandomSecret(size));
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> blob, Seal(key, ec, data_key.Expose()));
    Json out = {{"CiphertextBlob", Base64Encode(blob)}, {"KeyId", KeyArn(key)}};
    if (with_plaintext) VEIL_RETURN_IF_ERROR(PutPlaintext(out, data_key, recipient));
    return out;
  }
  absl::StatusOr<Json> GenerateDataKey(const Caller& caller, const Fields& f, CallInfo* info) {
    return DataKey(caller, f, info, true);
  }
  absl::StatusOr<Json> GenerateDataKeyWithoutPlaintext(const Caller& caller, const Fields& f,
                                                       CallInfo* info) {
    return DataKey(caller, f, info, false);
  }

  absl::StatusOr<Json> GenerateRandom(const Caller&, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::optional<int64_t> n, f.OptInt("NumberOfBytes"));
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> store, f.OptString("CustomKeyStoreId"));
    if (store.has_value()) {
      return KmsError("CustomKeyStoreNotFoundException", "veil-kms has no custom key stores");
    }
    if (!n.has_value()) return NullField("numberOfBytes");
    VEIL_ASSIGN_OR_RETURN(size_t size, NumberOfBytes(*n));
    VEIL_ASSIGN_OR_RETURN(std::optional<AttestedRecipient> recipient, ReadRecipient(f, info));
    VEIL_ASSIGN_OR_RETURN(SecretBytes random, crypto::RandomSecret(size));
    Json out = Json::object();
    VEIL_RETURN_IF_ERROR(PutPlaintext(out, random, recipient));
    return out;
  }

  absl::StatusOr<std::string> AliasName(const Fields& f) {
    VEIL_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 256));
    if (!name.starts_with("alias/")) return Validation("Invalid identifier");
    if (name.starts_with("alias/aws/")) return KmsError("NotAuthorizedException", "");
    if (!ValidAliasName(name)) {
      return Validation(absl::StrCat(
          "1 validation error detected: Value '", name,
          "' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
          "expression pattern: ^[a-zA-Z0-9:/_-]+$"));
    }
    return name;
  }

  // AliasTarget resolves TargetKeyId (a key id or key ARN, never an alias)
  // in the caller's account and checks `operation` on it.
  absl::StatusOr<KeyRecord> AliasTarget(const Caller& caller, const Fields& f,
                                        std::string_view operation, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string target, f.String("TargetKeyId", 2048));
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

  absl::StatusOr<Json> CreateAlias(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string name, AliasName(f));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, AliasTarget(caller, f, "CreateAlias", info));
    const int64_t now = NowMs();
    absl::Status status = store_->CreateAlias({caller.account, name, key.key_id, now, now});
    if (absl::IsAlreadyExists(status)) {
      return KmsError("AlreadyExistsException",
                      absl::StrCat("An alias with the name ", AliasArn(caller.account, name),
                                   " already exists"));
    }
    VEIL_RETURN_IF_ERROR(status);
    return Json::object();
  }

  absl::StatusOr<Json> UpdateAlias(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string name, AliasName(f));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, AliasTarget(caller, f, "UpdateAlias", info));
    std::optional<AliasRecord> alias = store_->FindAlias(caller.account, name);
    if (!alias.has_value()) {
      return KmsError("NotFoundException",
                      absl::StrCat("Alias ", AliasArn(caller.account, name), " is not found."));
    }
    if (std::optional<KeyRecord> old = store_->FindKey(alias->target_key_id); old.has_value()) {
      VEIL_RETURN_IF_ERROR(Authorize(*old, Context(caller, *old, "UpdateAlias")));
    }
    VEIL_RETURN_IF_ERROR(store_->UpdateAlias(caller.account, name, key.key_id, NowMs()));
    return Json::object();
  }

  absl::StatusOr<Json> DeleteAlias(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 256));
    if (!name.starts_with("alias/")) return Validation("Invalid identifier");
    std::optional<AliasRecord> alias = store_->FindAlias(caller.account, name);
    if (!alias.has_value()) {
      return KmsError("NotFoundException",
                      absl::StrCat("Alias ", AliasArn(caller.account, name), " is not found."));
    }
    if (std::optional<KeyRecord> key = store_->FindKey(alias->target_key_id); key.has_value()) {
      info->key_arn = KeyArn(*key);
      VEIL_RETURN_IF_ERROR(Authorize(*key, Context(caller, *key, "DeleteAlias")));
    }
    VEIL_RETURN_IF_ERROR(store_->DeleteAlias(caller.account, name));
    return Json::object();
  }

  absl::StatusOr<Json> ListAliases(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> key_id, f.OptString("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(auto paging, Paging(f));
    std::string filter;
    if (key_id.has_value()) {
      VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                            ResolveAndAuthorize(caller, *key_id, "ListAliases", info));
      filter = key.key_id;
    }
    Json aliases = Json::array();
    bool truncated = false;
    std::string last;
    for (const AliasRecord& a : store_->ListAliases(caller.account, filter)) {
      if (!paging.second.empty() && a.alias_name <= paging.second) continue;
      if (aliases.size() == paging.first) {
        truncated = true;
        break;
      }
      aliases.push_back({{"AliasName", a.alias_name},
                         {"AliasArn", AliasArn(caller.account, a.alias_name)},
                         {"TargetKeyId", a.target_key_id},
                         {"CreationDate", EpochSeconds(a.created_ms)},
                         {"LastUpdatedDate", EpochSeconds(a.updated_ms)}});
      last = a.alias_name;
    }
    Json out = {{"Aliases", aliases}, {"Truncated", truncated}};
    if (truncated) out["NextMarker"] = last;
    return out;
  }

  absl::Status CheckPolicyName(const Fields& f, bool required) {
    VEIL_ASSIGN_OR_RETURN(std::optional<std::string> name, f.OptString("PolicyName", 128));
    if (!name.has_value()) {
      return required ? NullField("policyName") : absl::OkStatus();
    }
    if (*name != "default") return KmsError("NotFoundException", "No such policy exists");
    return absl::OkStatus();
  }

  absl::StatusOr<Json> GetKeyPolicy(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveAndAuthorize(caller, id, "GetKeyPolicy", info));
    VEIL_RETURN_IF_ERROR(CheckPolicyName(f, false));
    return Json{{"Policy", key.policy}, {"PolicyName", "default"}};
  }

  absl::StatusOr<Json> PutKeyPolicy(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(std::string policy, f.String("Policy", kMaxPolicySize));
    VEIL_ASSIGN_OR_RETURN(bool bypass, f.Bool("BypassPolicyLockoutSafetyCheck"));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key, ResolveAndAuthorize(caller, id, "PutKeyPolicy", info));
    VEIL_RETURN_IF_ERROR(CheckPolicyName(f, false));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    VEIL_RETURN_IF_ERROR(CheckNewPolicy(caller, key, policy, bypass));
    key.policy = policy;
    VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    return Json::object();
  }

  absl::StatusOr<Json> SetEnabled(const Caller& caller, const Fields& f, CallInfo* info,
                                  bool enabled) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(
        KeyRecord key,
        ResolveAndAuthorize(caller, id, enabled ? "EnableKey" : "DisableKey", info));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    const KeyState want = enabled ? KeyState::kEnabled : KeyState::kDisabled;
    if (key.state != want) {
      key.state = want;
      VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    }
    return Json::object();
  }
  absl::StatusOr<Json> EnableKey(const Caller& caller, const Fields& f, CallInfo* info) {
    return SetEnabled(caller, f, info, true);
  }
  absl::StatusOr<Json> DisableKey(const Caller& caller, const Fields& f, CallInfo* info) {
    return SetEnabled(caller, f, info, false);
  }

  absl::StatusOr<Json> ScheduleKeyDeletion(const Caller& caller, const Fields& f,
                                           CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(std::optional<int64_t> days, f.OptInt("PendingWindowInDays"));
    if (days.has_value() && (*days < 7 || *days > 30)) {
      return Validation(absl::StrCat("1 validation error detected: Value '", *days,
                                     "' at 'pendingWindowInDays' failed to satisfy constraint: "
                                     "Member must have value between 7 and 30"));
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, id, "ScheduleKeyDeletion", info));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    key.state = KeyState::kPendingDeletion;
    key.pending_window_days = static_cast<int>(days.value_or(30));
    key.deletion_ms = NowMs() + key.pending_window_days * kMsPerDay;
    VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    return Json{{"KeyId", KeyArn(key)},
                {"DeletionDate", EpochSeconds(key.deletion_ms)},
                {"KeyState", "PendingDeletion"},
                {"PendingWindowInDays", key.pending_window_days}};
  }

  absl::StatusOr<Json> CancelKeyDeletion(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, id, "CancelKeyDeletion", info));
    if (key.state != KeyState::kPendingDeletion) {
      return KmsError("KMSInvalidStateException",
                      absl::StrCat(KeyArn(key), " is not pending deletion."));
    }
    // As in AWS, a key whose deletion is cancelled comes back Disabled.
    key.state = KeyState::kDisabled;
    key.deletion_ms = 0;
    key.pending_window_days = 0;
    VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    return Json{{"KeyId", KeyArn(key)}};
  }

  absl::StatusOr<Json> EnableKeyRotation(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(std::optional<int64_t> period, f.OptInt("RotationPeriodInDays"));
    if (period.has_value() && (*period < 90 || *period > 2560)) {
      return Validation(absl::StrCat("1 validation error detected: Value '", *period,
                                     "' at 'rotationPeriodInDays' failed to satisfy constraint: "
                                     "Member must have value between 90 and 2560"));
    }
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, id, "EnableKeyRotation", info));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    if (!key.rotation_enabled || period.has_value()) {
      key.rotation_enabled = true;
      key.rotation_period_days = static_cast<int>(period.value_or(key.rotation_period_days));
      key.next_rotation_ms = NowMs() + int64_t{key.rotation_period_days} * kMsPerDay;
      VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    }
    return Json::object();
  }

  absl::StatusOr<Json> DisableKeyRotation(const Caller& caller, const Fields& f,
                                          CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, id, "DisableKeyRotation", info));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    if (key.rotation_enabled) {
      key.rotation_enabled = false;
      key.next_rotation_ms = 0;
      VEIL_RETURN_IF_ERROR(store_->UpdateKey(key));
    }
    return Json::object();
  }

  absl::StatusOr<Json> GetKeyRotationStatus(const Caller& caller, const Fields& f,
                                            CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, id, "GetKeyRotationStatus", info));
    VEIL_RETURN_IF_ERROR(RequireNotPendingDeletion(key));
    VEIL_ASSIGN_OR_RETURN(key, MaybeRotate(std::move(key)));
    Json out = {{"KeyId", KeyArn(key)}, {"KeyRotationEnabled", key.rotation_enabled}};
    if (key.rotation_enabled) {
      out["RotationPeriodInDays"] = key.rotation_period_days;
      out["NextRotationDate"] = EpochSeconds(key.next_rotation_ms);
    }
    return out;
  }

  absl::StatusOr<Json> RotateKeyOnDemand(const Caller& caller, const Fields& f, CallInfo* info) {
    VEIL_ASSIGN_OR_RETURN(std::string id, f.String("KeyId", 2048));
    VEIL_ASSIGN_OR_RETURN(KeyRecord key,
                          ResolveAndAuthorize(caller, id, "RotateKeyOnDemand", info));
    VEIL_RETURN_IF_ERROR(RequireUsable(key));
    absl::MutexLock lock(&rotate_mu_);
    std::optional<KeyRecord> fresh = store_->FindKey(key.key_id);
    if (!fresh.has_value()) return KeyNotFound(KeyArn(key));
    VEIL_ASSIGN_OR_RETURN(key, RotateNow(*fresh, NowMs()));
    return Json{{"KeyId", KeyArn(key)}};
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

 public:
  absl::StatusOr<Json> Dispatch(const Caller& caller, std::string_view operation,
                                const Json& request, CallInfo* info) {
    auto it = Operations().find(operation);
    if (it == Operations().end()) {
      return KmsError("UnknownOperationException", "");
    }
    if (!request.is_object()) {
      return KmsError("SerializationException", "The request body is not a JSON object");
    }
    Fields fields(request);
    return (this->*(it->second))(caller, fields, info);
  }
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

absl::StatusOr<Json> KeyService::Call(const Caller& caller, std::string_view operation,
                                      const Json& request, CallInfo* info) {
  return impl_->Dispatch(caller, operation, request, info);
}

}  // namespace veil::kms_server
