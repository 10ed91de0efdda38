#include "veil/esdk/encryptor.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/ecdsa.h"
#include "veil/crypto/random.h"
#include "veil/esdk/internal/body.h"
#include "veil/esdk/internal/header.h"
#include "veil/esdk/internal/key_derivation.h"

namespace veil::esdk {

using internal::BodyAad;
using internal::FrameIv;

struct MessageEncryptor::State {
  EncryptionMaterials materials;
  uint32_t frame_length = 0;
  std::vector<uint8_t> message_id;
  std::unique_ptr<crypto::AesGcm> aead;
  std::unique_ptr<crypto::EcdsaSigner> signer;
  std::vector<uint8_t> header;  // written on the first Update/Finish
  bool header_written = false;
  bool failed = false;
  bool finished = false;
  uint32_t next_sequence = 1;
  SecretBytes pending;  // plaintext of the frame being filled
  std::optional<uint64_t> declared_length;
  uint64_t consumed = 0;

  void WriteHeader(std::vector<uint8_t>* out) {
    if (header_written) return;
    out->insert(out->end(), header.begin(), header.end());
    header_written = true;
  }

  // SealFrame appends one frame (regular or final) holding `plaintext`.
  absl::Status SealFrame(absl::Span<const uint8_t> plaintext, bool final,
                         std::vector<uint8_t>* out) {
    const uint32_t seq = next_sequence;
    if (seq == internal::kFinalFrameMarker) {
      return absl::OutOfRangeError("message would exceed 2^32 - 1 frames");
    }
    ++next_sequence;
    const auto iv = FrameIv(seq);
    uint8_t aad_buf[internal::kBodyAadMax];
    auto aad = BodyAad(message_id,
                       final ? internal::kFinalFrameString : internal::kFrameString, seq,
                       plaintext.size(), aad_buf);
    const size_t start = out->size();
    const size_t prefix = final ? 4 + 4 + 12 + 4 : 4 + 12;
    out->resize(start + prefix + plaintext.size() + crypto::kGcmTagSize);
    uint8_t* p = out->data() + start;
    auto put32 = [&p](uint32_t v) {
      for (int i = 3; i >= 0; --i) *p++ = static_cast<uint8_t>(v >> (8 * i));
    };
    if (final) put32(internal::kFinalFrameMarker);
    put32(seq);
    std::copy(iv.begin(), iv.end(), p);
    p += iv.size();
    if (final) put32(static_cast<uint32_t>(plaintext.size()));
    VEIL_RETURN_IF_ERROR(aead->Seal(iv, aad, plaintext, absl::MakeSpan(p, plaintext.size()),
                                    absl::MakeSpan(p + plaintext.size(), crypto::kGcmTagSize)));
    if (signer) {
      VEIL_RETURN_IF_ERROR(signer->Update(absl::MakeConstSpan(*out).subspan(start)));
    }
    return absl::OkStatus();
  }

  absl::Status Update(absl::Span<const uint8_t> in, std::vector<uint8_t>* out) {
    consumed += in.size();
    if (declared_length && consumed > *declared_length) {
      return absl::InvalidArgumentError("more plaintext than the declared length");
    }
    WriteHeader(out);
    // A frame is sealed as a regular frame only when more plaintext is known
    // to follow; the last (possibly full-length) frame waits for Finish.
    while (true) {
      if (pending.empty()) {
        while (in.size() > frame_length) {  // zero-copy path for large inputs
          VEIL_RETURN_IF_ERROR(SealFrame(in.first(frame_length), false, out));
          in.remove_prefix(frame_length);
        }
        pending.Append(in);
        return absl::OkStatus();
      }
      const size_t take = std::min<size_t>(frame_length - pending.size(), in.size());
      pending.Append(in.first(take));
      in.remove_prefix(take);
      if (pending.size() < frame_length || in.empty()) return absl::OkStatus();
      VEIL_RETURN_IF_ERROR(SealFrame(pending.Expose(), false, out));
      pending.Clear();
    }
  }

  absl::Status Finish(std::vector<uint8_t>* out) {
    if (declared_length && consumed != *declared_length) {
      return absl::InvalidArgumentError("less plaintext than the declared length");
    }
    WriteHeader(out);
    VEIL_RETURN_IF_ERROR(SealFrame(pending.Expose(), true, out));
    pending.Clear();
    if (signer) {
      // Spec: data-format/message-footer.md
      VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> sig, signer->Finish(/*fixed_length=*/true));
      out->push_back(static_cast<uint8_t>(sig.size() >> 8));
      out->push_back(static_cast<uint8_t>(sig.size()));
      out->insert(out->end(), sig.begin(), sig.end());
    }
    return absl::OkStatus();
  }
};

MessageEncryptor::MessageEncryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
MessageEncryptor::~MessageEncryptor() = default;

absl::StatusOr<std::unique_ptr<MessageEncryptor>> MessageEncryptor::Create(
    CryptoMaterialsManager& cmm, const EncryptOptions& options,
    std::optional<uint64_t> plaintext_length) {
  if (options.frame_length == 0) {
    return absl::InvalidArgumentError("frame length must be between 1 and 2^32 - 1");
  }
  if (options.max_encrypted_data_keys && *options.max_encrypted_data_keys == 0) {
    return absl::InvalidArgumentError("the maximum number of encrypted data keys must be >= 1");
  }
  if (options.suite_id) {
    const AlgorithmSuite* requested = FindSuite(*options.suite_id);
    if (requested == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown algorithm suite ", SuiteIdString(*options.suite_id)));
    }
    if (!SuiteAllowedForEncrypt(options.commitment_policy, *requested)) {
      return absl::InvalidArgumentError(absl::StrCat("algorithm suite ",
                                                     SuiteIdString(*options.suite_id),
                                                     " is not allowed by the commitment policy"));
    }
  }

  EncryptionMaterialsRequest request;
  request.encryption_context = options.encryption_context;
  request.commitment_policy = options.commitment_policy;
  request.suite_id = options.suite_id;
  request.max_plaintext_length = plaintext_length;
  VEIL_ASSIGN_OR_RETURN(EncryptionMaterials materials, cmm.GetEncryptionMaterials(request));

  // Never trust the CMM blindly (brief section 8 step 3).
  const AlgorithmSuite* suite = materials.suite;
  if (suite == nullptr || !SuiteAllowedForEncrypt(options.commitment_policy, *suite) ||
      (options.suite_id && suite->id != *options.suite_id)) {
    return absl::InternalError("materials manager returned a suite the request does not allow");
  }
  if (materials.encrypted_data_keys.empty()) {
    return absl::InternalError("materials manager returned no encrypted data keys");
  }
  if (options.max_encrypted_data_keys &&
      materials.encrypted_data_keys.size() > *options.max_encrypted_data_keys) {
    return absl::InvalidArgumentError(
        absl::StrCat("materials have ", materials.encrypted_data_keys.size(),
                     " encrypted data keys; the limit is ", *options.max_encrypted_data_keys));
  }
  if (!materials.plaintext_data_key ||
      materials.plaintext_data_key->size() != suite->key_length) {
    return absl::InternalError("materials manager returned a data key of the wrong length");
  }
  if (suite->signed_suite() != materials.signing_key.has_value()) {
    return absl::InternalError("materials manager returned inconsistent signing materials");
  }

  auto state = std::make_unique<State>();
  state->frame_length = options.frame_length;
  state->declared_length = plaintext_length;
  VEIL_ASSIGN_OR_RETURN(state->message_id, crypto::RandomBytes(suite->message_id_length()));
  VEIL_ASSIGN_OR_RETURN(internal::DerivedKeys keys,
                        internal::DeriveKeys(*suite, materials.plaintext_data_key->Expose(),
                                             state->message_id));
  VEIL_ASSIGN_OR_RETURN(state->aead, crypto::AesGcm::New(keys.data_key.Expose()));

  // Stored context = full context minus the required (authenticate-only) keys.
  EncryptionContext stored, auth_only;
  for (const auto& [k, v] : materials.encryption_context) {
    (materials.required_encryption_context_keys.contains(k) ? auth_only : stored).emplace(k, v);
  }
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> stored_bytes, SerializeEncryptionContext(stored));
  VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> auth_bytes, SerializeEncryptionContext(auth_only));
  VEIL_ASSIGN_OR_RETURN(
      std::vector<uint8_t> body,
      internal::SerializeHeaderBody(*suite, state->message_id, stored_bytes,
                                    materials.encrypted_data_keys, options.frame_length,
                                    keys.commit_key));

  // Spec: data-format/message-header.md#header-authentication (brief section 5).
  std::vector<uint8_t> aad = body;
  aad.insert(aad.end(), auth_bytes.begin(), auth_bytes.end());
  const std::array<uint8_t, crypto::kGcmIvSize> zero_iv{};
  uint8_t tag[crypto::kGcmTagSize];
  VEIL_RETURN_IF_ERROR(state->aead->Seal(zero_iv, aad, {}, {}, absl::MakeSpan(tag)));
  state->header = std::move(body);
  if (suite->message_format_version == 1) {
    state->header.insert(state->header.end(), zero_iv.begin(), zero_iv.end());
  }
  state->header.insert(state->header.end(), std::begin(tag), std::end(tag));

  if (suite->signed_suite()) {
    VEIL_ASSIGN_OR_RETURN(state->signer,
                          crypto::EcdsaSigner::FromPrivateKeyDer(*suite->signature_curve,
                                                                 materials.signing_key->Expose()));
    VEIL_RETURN_IF_ERROR(state->signer->Update(state->header));
  }
  state->pending.Reserve(options.frame_length);
  // The data key has done its work; keep only what the message needs.
  materials.plaintext_data_key.reset();
  materials.signing_key.reset();
  state->materials = std::move(materials);
  return std::unique_ptr<MessageEncryptor>(new MessageEncryptor(std::move(state)));
}

absl::Status MessageEncryptor::Update(absl::Span<const uint8_t> plaintext,
                                      std::vector<uint8_t>* out) {
  if (state_->failed || state_->finished) {
    return absl::FailedPreconditionError("encryptor is finished or has failed");
  }
  absl::Status s = state_->Update(plaintext, out);
  if (!s.ok()) state_->failed = true;
  return s;
}

absl::Status MessageEncryptor::Finish(std::vector<uint8_t>* out) {
  if (state_->failed || state_->finished) {
    return absl::FailedPreconditionError("encryptor is finished or has failed");
  }
  state_->finished = true;
  absl::Status s = state_->Finish(out);
  if (!s.ok()) state_->failed = true;
  return s;
}

const AlgorithmSuite& MessageEncryptor::suite() const { return *state_->materials.suite; }

const EncryptionContext& MessageEncryptor::encryption_context() const {
  return state_->materials.encryption_context;
}

uint64_t MessageEncryptor::CiphertextLength(uint64_t plaintext_length) const {
  const uint64_t L = state_->frame_length;
  // Regular frames hold L bytes; the final frame holds 1..L (0 only when the
  // plaintext is empty).
  const uint64_t regular = plaintext_length == 0 ? 0 : (plaintext_length - 1) / L;
  const uint64_t final_len = plaintext_length - regular * L;
  uint64_t n = state_->header.size();
  n += regular * (4 + crypto::kGcmIvSize + L + crypto::kGcmTagSize);
  n += 4 + 4 + crypto::kGcmIvSize + 4 + final_len + crypto::kGcmTagSize;
  if (state_->signer) {
    n += 2 + (*state_->materials.suite->signature_curve == crypto::EcCurve::kP256 ? 71 : 103);
  }
  return n;
}

}  // namespace veil::esdk
