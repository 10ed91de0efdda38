#include "veil/enclave/pipeline.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "veil/common/secret_bytes.h"
#include "veil/common/status_macros.h"
#include "veil/esdk/cmm.h"
#include "veil/esdk/decryptor.h"
#include "veil/esdk/default_cmm.h"
#include "veil/esdk/esdk.h"

namespace veil::enclave {
namespace {

using wire::ErrorCode;

// RequestPolicyCmm checks the message's encryption context against the
// request before the wrapped CMM unwraps any data key, and reserves the
// request id. It remembers why it refused, so the pipeline can report the
// exact code whatever the decryptor makes of the error. One per request.
class RequestPolicyCmm final : public esdk::CryptoMaterialsManager {
 public:
  RequestPolicyCmm(std::shared_ptr<const esdk::Keyring> keyring, const wire::InferRequest& request,
                   ReplayCache* replay, absl::Time now, absl::Duration max_ttl)
      : inner_(esdk::DefaultCmm::Create(std::move(keyring))),
        request_(request),
        replay_(replay),
        now_(now),
        max_ttl_(max_ttl) {}

  absl::StatusOr<esdk::EncryptionMaterials> GetEncryptionMaterials(
      const esdk::EncryptionMaterialsRequest&) override {
    return absl::InternalError("RequestPolicyCmm only decrypts");
  }

  absl::StatusOr<esdk::DecryptionMaterials> DecryptMaterials(
      const esdk::DecryptionMaterialsRequest& request) override {
    const esdk::EncryptionContext& ec = request.encryption_context;
    const auto get = [&ec](const char* key) -> std::optional<std::string> {
      auto it = ec.find(key);
      return it == ec.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    if (get(kContextTenant) != request_.tenant) return Refuse(ErrorCode::kPermissionDenied);
    if (get(kContextPurpose) != std::string(kPurposeInference)) {
      return Refuse(ErrorCode::kPermissionDenied);
    }
    if (get(kContextRequest) != request_.request_id) return Refuse(ErrorCode::kBadRequest);
    const std::optional<std::string> expires_text = get(kContextExpires);
    if (!expires_text) return Refuse(ErrorCode::kBadRequest);
    auto expires = ParseExpiry(*expires_text);
    if (!expires.ok()) return Refuse(ErrorCode::kBadRequest);
    if (*expires <= now_) return Refuse(ErrorCode::kExpired);
    if (*expires > now_ + max_ttl_) return Refuse(ErrorCode::kBadRequest);
    const absl::Status reserved = replay_->Reserve(request_.tenant, request_.request_id, *expires);
    if (absl::IsAlreadyExists(reserved)) return Refuse(ErrorCode::kReplayed);
    if (!reserved.ok()) return Refuse(ErrorCode::kBusy);
    reserved_ = true;
    return inner_->DecryptMaterials(request);
  }

  std::optional<ErrorCode> refusal() const { return refusal_; }
  bool reserved() const { return reserved_; }

 private:
  absl::Status Refuse(ErrorCode code) {
    refusal_ = code;
    return wire::StatusFromErrorCode(code);
  }

  std::unique_ptr<esdk::CryptoMaterialsManager> inner_;
  const wire::InferRequest& request_;
  ReplayCache* replay_;
  const absl::Time now_;
  const absl::Duration max_ttl_;
  std::optional<ErrorCode> refusal_;
  bool reserved_ = false;
};

// CodeForDecryptFailure maps a decryption failure that the policy did not
// cause: every authentication failure is the one generic code.
ErrorCode CodeForDecryptFailure(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated: return ErrorCode::kUnauthenticated;
    case absl::StatusCode::kPermissionDenied: return ErrorCode::kPermissionDenied;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded: return ErrorCode::kUnavailable;
    case absl::StatusCode::kInvalidArgument: return ErrorCode::kBadRequest;
    case absl::StatusCode::kResourceExhausted: return ErrorCode::kTooLarge;
    default: return ErrorCode::kInternal;
  }
}

}  // namespace

absl::StatusOr<absl::Time> ParseExpiry(const std::string& text) {
  absl::Time t;
  std::string error;
  if (text.size() > 64 || !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError("expires must be an RFC 3339 time");
  }
  return t;
}

InferencePipeline::InferencePipeline(const KeyProvider* keys, const inference::Detector* detector,
                                     ReplayCache* replay, PipelineOptions options)
    : keys_(keys), detector_(detector), replay_(replay), options_(std::move(options)) {}

void InferencePipeline::WipeAndObserve(SecretBytes& buffer) const {
  const absl::Span<uint8_t> bytes = buffer.MutableExpose();
  SecureWipe(bytes.data(), bytes.size());
  if (observer_) observer_(bytes.data(), bytes.size());
  buffer.Clear();
}

Outcome InferencePipeline::Handle(const wire::InferRequest& request) const {
  auto keyring = keys_->KeyringFor(request.tenant);
  if (!keyring.ok()) return ErrorCode::kPermissionDenied;
  const absl::Time now = options_.clock ? options_.clock() : absl::Now();

  // Steps 2 and 3: policy, replay reservation, all-or-nothing decryption.
  RequestPolicyCmm cmm(*keyring, request, replay_, now, options_.max_ttl);
  esdk::DecryptOptions decrypt_options;
  decrypt_options.max_encrypted_data_keys = 8;
  decrypt_options.reproduced_encryption_context = {{kContextTenant, request.tenant},
                                                   {kContextPurpose, kPurposeInference},
                                                   {kContextRequest, request.request_id}};
  absl::StatusOr<esdk::DecryptResult> decrypted =
      esdk::Decrypt(cmm, request.body, decrypt_options);
  if (!decrypted.ok()) {
    if (cmm.reserved()) replay_->Release(request.tenant, request.request_id);
    return cmm.refusal().value_or(CodeForDecryptFailure(decrypted.status()));
  }
  replay_->Commit(request.tenant, request.request_id);
  SecretBytes image = std::move(decrypted->plaintext);
  absl::Cleanup wipe_image = [&] { WipeAndObserve(image); };

  // Step 4: detection. A refused image is the tenant's business: it goes
  // back encrypted, with the reason.
  SecretBytes result;
  {
    absl::StatusOr<inference::DetectionResult> detected =
        detector_->Detect(image.Expose(), options_.detect);
    std::string json;
    if (detected.ok()) {
      json = inference::ToJson(*detected);
    } else {
      json = nlohmann::json{{"error",
                             {{"code", absl::StatusCodeToString(detected.status().code())},
                              {"message", std::string(detected.status().message())}}}}
                 .dump();
    }
    result = SecretBytes::Copy(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(json.data()),
                                             json.size()));
    SecureWipe(json.data(), json.size());
  }
  absl::Cleanup wipe_result = [&] { WipeAndObserve(result); };

  // Step 5: the result, under the tenant's key.
  esdk::EncryptOptions encrypt_options;
  encrypt_options.suite_id = options_.result_suite;
  encrypt_options.encryption_context = {{kContextTenant, request.tenant},
                                        {kContextPurpose, kPurposeResult},
                                        {kContextRequest, request.request_id}};
  absl::StatusOr<std::vector<uint8_t>> sealed =
      esdk::Encrypt(*keyring, result.Expose(), encrypt_options);
  if (!sealed.ok()) return CodeForDecryptFailure(sealed.status());
  return *std::move(sealed);
}

}  // namespace veil::enclave
