#include "veil/esdk/decryptor.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/status_macros.h"
#include "veil/crypto/aes_gcm.h"
#include "veil/crypto/constant_time.h"
#include "veil/crypto/ecdsa.h"
#include "veil/esdk/internal/body.h"
#include "veil/esdk/internal/header.h"
#include "veil/esdk/internal/key_derivation.h"

namespace veil::esdk {
namespace {

using internal::BodyAad;
using internal::FrameIv;

absl::Status AuthFailure() { return absl::UnauthenticatedError(kAuthenticationFailedMessage); }

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed message body: ", std::string(what)));
}

enum class Stage { kHeader, kBody, kFooter, kDone };

}  // namespace

struct MessageDecryptor::State {
  CryptoMaterialsManager* cmm;
  DecryptOptions options;
  Stage stage = Stage::kHeader;
  bool failed = false;
  std::optional<MessageInfo> info;
  internal::MessageHeader header;
  std::unique_ptr<crypto::AesGcm> aead;
  std::unique_ptr<crypto::EcdsaVerifier> verifier;
  uint32_t next_sequence = 1;
  // Bytes received but not yet consumed (a partial header, frame or footer).
  std::vector<uint8_t> buffer;
  // The header parse is retried only once this many bytes are available, so
  // feeding a large header byte by byte stays linear.
  size_t header_retry_at = 0;
  // Signed suites: the final plaintext, held until the signature verifies.
  SecretBytes held;

  // Process consumes as many complete units from `in` as it can and returns
  // the number of bytes consumed.
  absl::StatusOr<size_t> Process(absl::Span<const uint8_t> in, SecretBytes* out) {
    size_t pos = 0;
    while (stage != Stage::kDone) {
      absl::Span<const uint8_t> rest = in.subspan(pos);
      absl::StatusOr<size_t> used = 0;
      switch (stage) {
        case Stage::kHeader:
          used = ProcessHeader(rest);
          break;
        case Stage::kBody:
          used = header.content_type == internal::kContentTypeFramed ? ProcessFrame(rest, out)
                                                                      : ProcessSingleBlock(rest);
          break;
        case Stage::kFooter:
          used = ProcessFooter(rest);
          break;
        case Stage::kDone:
          break;
      }
      if (!used.ok()) return used.status();
      if (*used == 0) break;  // need more bytes
      pos += *used;
    }
    if (stage == Stage::kDone && pos < in.size()) {
      //= client-apis/decrypt.md#decrypt
      //# If the input contains bytes after the end of the message, decrypt MUST fail.
      return absl::InvalidArgumentError("bytes follow the end of the message");
    }
    return pos;
  }

  absl::StatusOr<size_t> ProcessHeader(absl::Span<const uint8_t> in) {
    if (in.size() < header_retry_at) return 0;
    auto parsed = internal::ParseHeader(in, options.max_encrypted_data_keys);
    if (absl::IsOutOfRange(parsed.status())) {
      if (in.size() > options.max_header_size) {
        return absl::InvalidArgumentError("message header exceeds the maximum header size");
      }
      header_retry_at = std::max<size_t>(in.size() * 2, 64);
      return 0;
    }
    if (!parsed.ok()) return parsed.status();
    header = std::move(*parsed);
    const AlgorithmSuite& suite = *header.suite;

    //= client-apis/decrypt.md#parse-the-header
    //# the algorithm suite MUST be allowed by the commitment policy before any
    //# materials are requested.
    if (!SuiteAllowedForDecrypt(options.commitment_policy, suite)) {
      return absl::PermissionDeniedError(
          absl::StrCat("algorithm suite ", SuiteIdString(suite.id),
                       " is not allowed by the commitment policy (it has no key commitment)"));
    }
    if (options.refuse_signed_suites && suite.signed_suite()) {
      return absl::PermissionDeniedError("signed messages are refused by configuration");
    }

    DecryptionMaterialsRequest request;
    request.suite_id = suite.id;
    request.commitment_policy = options.commitment_policy;
    request.encrypted_data_keys = header.encrypted_data_keys;
    request.encryption_context = header.stored_encryption_context;
    request.reproduced_encryption_context = options.reproduced_encryption_context;
    VEIL_ASSIGN_OR_RETURN(DecryptionMaterials materials, cmm->DecryptMaterials(request));
    if (materials.suite != header.suite || !materials.plaintext_data_key ||
        materials.plaintext_data_key->size() != suite.key_length) {
      return absl::InternalError("materials manager returned inconsistent materials");
    }

    VEIL_ASSIGN_OR_RETURN(internal::DerivedKeys keys,
                          internal::DeriveKeys(suite, materials.plaintext_data_key->Expose(),
                                               header.message_id));
    materials.plaintext_data_key.reset();
    if (suite.committing &&
        !crypto::ConstantTimeEquals(keys.commit_key, header.commit_key)) {
      return AuthFailure();  // key commitment mismatch
    }
    VEIL_ASSIGN_OR_RETURN(aead, crypto::AesGcm::New(keys.data_key.Expose()));

    // Header tag: AAD = header body ‖ serialized authenticate-only pairs.
    EncryptionContext auth_only;
    for (const std::string& key : materials.required_encryption_context_keys) {
      if (header.stored_encryption_context.contains(key)) continue;
      auto it = materials.encryption_context.find(key);
      if (it != materials.encryption_context.end()) auth_only.emplace(key, it->second);
    }
    VEIL_ASSIGN_OR_RETURN(std::vector<uint8_t> auth_bytes, SerializeEncryptionContext(auth_only));
    std::vector<uint8_t> aad = header.body;
    aad.insert(aad.end(), auth_bytes.begin(), auth_bytes.end());
    if (!aead->Open(header.header_iv, aad, {}, header.header_tag, {}).ok()) return AuthFailure();

    if (suite.signed_suite()) {
      if (!materials.verification_key) return AuthFailure();
      auto v = crypto::EcdsaVerifier::FromPoint(*suite.signature_curve, *materials.verification_key);
      if (!v.ok()) return AuthFailure();
      verifier = std::move(*v);
      VEIL_RETURN_IF_ERROR(verifier->Update(in.first(header.total_length)));
    }

    info = MessageInfo{suite.id, header.message_id, std::move(materials.encryption_context),
                       header.frame_length, header.encrypted_data_keys.size()};
    header.encrypted_data_keys.clear();
    stage = Stage::kBody;
    return header.total_length;
  }

  // OpenInto decrypts `ct` ‖ `tag` and appends the plaintext to `out`; on
  // failure nothing is appended.
  absl::Status OpenInto(absl::Span<const uint8_t> iv, absl::Span<const uint8_t> aad,
                        absl::Span<const uint8_t> ct, absl::Span<const uint8_t> tag,
                        SecretBytes* out) {
    const size_t start = out->size();
    out->Resize(start + ct.size());
    if (!aead->Open(iv, aad, ct, tag, out->MutableExpose().subspan(start)).ok()) {
      out->Resize(start);
      return AuthFailure();
    }
    return absl::OkStatus();
  }

  // Frame IVs: v2 (all modern writers) must use the deterministic IV; v1
  // decrypts with the IV as stored, as the C and Python SDKs do.
  absl::Status CheckIv(absl::Span<const uint8_t> iv, uint32_t seq) {
    if (header.version == 2) {
      const auto expected = FrameIv(seq);
      if (!std::equal(iv.begin(), iv.end(), expected.begin())) return AuthFailure();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ProcessFrame(absl::Span<const uint8_t> in, SecretBytes* out) {
    // Spec: data-format/message-body.md#framed-data
    ByteReader r(in);
    uint32_t first;
    if (!r.ReadU32(&first)) return 0;
    const bool final = first == internal::kFinalFrameMarker;
    uint32_t seq = first;
    if (final && !r.ReadU32(&seq)) return 0;
    if (seq != next_sequence) return Malformed("frame sequence number out of order");
    absl::Span<const uint8_t> iv, ct, tag;
    if (!r.ReadBytes(crypto::kGcmIvSize, &iv)) return 0;
    uint32_t length = header.frame_length;
    if (final) {
      if (!r.ReadU32(&length)) return 0;
      if (length > header.frame_length) {
        return Malformed("final frame is longer than the frame length");
      }
    }
    if (!r.ReadBytes(length, &ct) || !r.ReadBytes(crypto::kGcmTagSize, &tag)) return 0;
    VEIL_RETURN_IF_ERROR(CheckIv(iv, seq));

    uint8_t aad_buf[internal::kBodyAadMax];
    auto aad = BodyAad(header.message_id,
                       final ? internal::kFinalFrameString : internal::kFrameString, seq, length,
                       aad_buf);
    // For signed suites the final frame is held until the signature verifies.
    VEIL_RETURN_IF_ERROR(OpenInto(iv, aad, ct, tag, (final && verifier) ? &held : out));
    if (verifier) VEIL_RETURN_IF_ERROR(verifier->Update(in.first(r.offset())));
    if (final) {
      stage = verifier ? Stage::kFooter : Stage::kDone;
    } else {
      if (next_sequence == internal::kFinalFrameMarker - 1) {
        return Malformed("too many frames");
      }
    }
    ++next_sequence;
    return r.offset();
  }

  absl::StatusOr<size_t> ProcessSingleBlock(absl::Span<const uint8_t> in) {
    // Spec: data-format/message-body.md#non-framed-data
    ByteReader r(in);
    absl::Span<const uint8_t> iv, ct, tag;
    uint64_t length;
    if (!r.ReadBytes(crypto::kGcmIvSize, &iv) || !r.ReadU64(&length)) return 0;
    if (length > internal::kMaxNonFramedLength) {
      return Malformed("non-framed content is longer than 2^36 - 32 bytes");
    }
    if (!r.ReadBytes(length, &ct) || !r.ReadBytes(crypto::kGcmTagSize, &tag)) return 0;
    VEIL_RETURN_IF_ERROR(CheckIv(iv, 1));
    uint8_t aad_buf[internal::kBodyAadMax];
    auto aad = BodyAad(header.message_id, internal::kSingleBlockString, 1, length, aad_buf);
    // A single block is the whole message: hold it until Finish either way.
    VEIL_RETURN_IF_ERROR(OpenInto(iv, aad, ct, tag, &held));
    if (verifier) VEIL_RETURN_IF_ERROR(verifier->Update(in.first(r.offset())));
    stage = verifier ? Stage::kFooter : Stage::kDone;
    return r.offset();
  }

  absl::StatusOr<size_t> ProcessFooter(absl::Span<const uint8_t> in) {
    // Spec: data-format/message-footer.md. Any DER length is accepted.
    ByteReader r(in);
    absl::Span<const uint8_t> sig;
    if (!r.ReadLengthPrefixed16(&sig)) return 0;
    absl::Status s = verifier->Finish(sig);
    verifier.reset();
    if (!s.ok()) return AuthFailure();
    stage = Stage::kDone;
    return r.offset();
  }

  absl::Status Update(absl::Span<const uint8_t> in, SecretBytes* out) {
    if (buffer.empty()) {
      // Fast path: decrypt straight from the caller's bytes.
      VEIL_ASSIGN_OR_RETURN(size_t used, Process(in, out));
      buffer.assign(in.begin() + used, in.end());
      return absl::OkStatus();
    }
    buffer.insert(buffer.end(), in.begin(), in.end());
    VEIL_ASSIGN_OR_RETURN(size_t used, Process(buffer, out));
    buffer.erase(buffer.begin(), buffer.begin() + used);
    return absl::OkStatus();
  }

  absl::Status Finish(SecretBytes* out) {
    if (stage == Stage::kHeader && !buffer.empty()) {
      header_retry_at = 0;  // the last chance to parse what we have
      VEIL_ASSIGN_OR_RETURN(size_t used, Process(buffer, out));
      buffer.erase(buffer.begin(), buffer.begin() + used);
    }
    if (stage != Stage::kDone) {
      return absl::InvalidArgumentError(
          stage == Stage::kHeader && buffer.empty() && !info ? "empty or truncated message"
                                                             : "message is truncated");
    }
    if (!buffer.empty()) return absl::InvalidArgumentError("bytes follow the end of the message");
    out->Append(held.Expose());
    held.Clear();
    return absl::OkStatus();
  }
};

MessageDecryptor::MessageDecryptor(std::unique_ptr<State> state) : state_(std::move(state)) {}
MessageDecryptor::~MessageDecryptor() = default;

std::unique_ptr<MessageDecryptor> MessageDecryptor::Create(CryptoMaterialsManager& cmm,
                                                           DecryptOptions options) {
  auto state = std::make_unique<State>();
  state->cmm = &cmm;
  state->options = std::move(options);
  return std::unique_ptr<MessageDecryptor>(new MessageDecryptor(std::move(state)));
}

absl::Status MessageDecryptor::Update(absl::Span<const uint8_t> ciphertext, SecretBytes* out) {
  if (state_->failed) return absl::FailedPreconditionError("decryptor has failed");
  absl::Status s = state_->Update(ciphertext, out);
  if (!s.ok()) {
    state_->failed = true;
    state_->held.Clear();
  }
  return s;
}

absl::Status MessageDecryptor::Finish(SecretBytes* out) {
  if (state_->failed) return absl::FailedPreconditionError("decryptor has failed");
  absl::Status s = state_->Finish(out);
  state_->failed = true;  // nothing may follow Finish
  state_->held.Clear();
  return s;
}

const MessageInfo* MessageDecryptor::info() const {
  return state_->info ? &*state_->info : nullptr;
}

}  // namespace veil::esdk
