#include "veil/kms/json_codec.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <utility>

#include "nlohmann/json.hpp"
#include "veil/common/encoding.h"
#include "veil/common/secret_bytes.h"

// Decoding goes through nlohmann::json's no-throw parse and only
// non-throwing accessors (type checks before get_ref), so no exception
// leaves this file. Encoding uses a small writer of its own instead of
// nlohmann's dump(), which throws on invalid UTF-8 and would copy plaintext
// fields into a DOM that is not wiped.
namespace veil::kms {
namespace {

using ::nlohmann::json;

// ---------------------------------------------------------------------------
// Encoding.

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Writer builds one JSON object. Fields that are absent (empty strings,
// blobs, lists and maps; unset optionals) are not written.
class Writer {
 public:
  Writer() { out_.push_back('{'); }

  void String(const char* name, std::string_view value) {
    if (value.empty()) return;
    Key(name);
    Quoted(value);
  }
  void Blob(const char* name, absl::Span<const uint8_t> value) {
    if (value.empty()) return;
    Key(name);
    out_.push_back('"');
    std::string b64 = Base64Encode(value);
    out_ += b64;
    SecureWipe(b64.data(), b64.size());  // may be plaintext key material
    out_.push_back('"');
  }
  void Int(const char* name, std::optional<int32_t> value) {
    if (!value.has_value()) return;
    Key(name);
    out_ += std::to_string(*value);
  }
  void Bool(const char* name, std::optional<bool> value) {
    if (!value.has_value()) return;
    Key(name);
    out_ += *value ? "true" : "false";
  }
  void Time(const char* name, std::optional<absl::Time> value) {
    if (!value.has_value()) return;
    Key(name);
    const int64_t ms = absl::ToUnixMillis(*value);
    const int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    const int64_t frac = ms - secs * 1000;
    out_ += std::to_string(secs);
    if (frac != 0) {
      const int f = static_cast<int>(frac);  // 1..999
      out_ += '.';
      out_ += static_cast<char>('0' + f / 100);
      if (f % 100 != 0) out_ += static_cast<char>('0' + f / 10 % 10);
      if (f % 10 != 0) out_ += static_cast<char>('0' + f % 10);
    }
  }
  void Map(const char* name, const EncryptionContext& map) {
    if (map.empty()) return;
    Key(name);
    out_.push_back('{');
    bool first = true;
    for (const auto& [k, v] : map) {
      if (!first) out_.push_back(',');
      first = false;
      Quoted(k);
      out_.push_back(':');
      Quoted(v);
    }
    out_.push_back('}');
  }
  void StringList(const char* name, const std::vector<std::string>& list) {
    if (list.empty()) return;
    Key(name);
    out_.push_back('[');
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) out_.push_back(',');
      Quoted(list[i]);
    }
    out_.push_back(']');
  }
  // Object writes a nested object produced by `fill(Writer&)`.
  template <typename F>
  void Object(const char* name, F&& fill) {
    Key(name);
    Writer inner;
    fill(inner);
    Append(std::move(inner));
  }
  // ObjectList writes an array of objects, one per element of `items`.
  template <typename T, typename F>
  void ObjectList(const char* name, const std::vector<T>& items, F&& fill,
                  bool write_empty = false) {
    if (items.empty() && !write_empty) return;
    Key(name);
    out_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_.push_back(',');
      Writer inner;
      fill(inner, items[i]);
      Append(std::move(inner));
    }
    out_.push_back(']');
  }

  absl::StatusOr<std::string> Finish() {
    if (!utf8_ok_) {
      SecureWipe(out_.data(), out_.size());
      return KmsError(ErrorType::kSerialization, "a string field is not valid UTF-8");
    }
    out_.push_back('}');
    return std::move(out_);
  }

 private:
  void Append(Writer&& inner) {
    utf8_ok_ = utf8_ok_ && inner.utf8_ok_;
    out_ += inner.out_;
    out_.push_back('}');
    SecureWipe(inner.out_.data(), inner.out_.size());
  }
  void Key(const char* name) {
    if (out_.size() > 1) out_.push_back(',');
    Quoted(name);
    out_.push_back(':');
  }
  void Quoted(std::string_view s) {
    if (!IsValidUtf8(s)) utf8_ok_ = false;
    out_.push_back('"');
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out_ += buf;
          } else {
            out_.push_back(ch);
          }
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  bool utf8_ok_ = true;
};

void WriteRecipient(Writer& w, const std::optional<Recipient>& r) {
  if (!r.has_value()) return;
  w.Object("Recipient", [&](Writer& o) {
    o.String("KeyEncryptionAlgorithm", r->key_encryption_algorithm);
    o.Blob("AttestationDocument", r->attestation_document);
  });
}

void WriteKeyMetadata(Writer& w, const KeyMetadata& m) {
  w.Object("KeyMetadata", [&](Writer& o) {
    o.String("AWSAccountId", m.aws_account_id);
    o.String("KeyId", m.key_id);
    o.String("Arn", m.arn);
    o.Time("CreationDate", m.creation_date);
    o.Bool("Enabled", m.enabled);
    o.String("Description", m.description);
    o.String("KeyUsage", m.key_usage);
    o.String("KeyState", m.key_state);
    o.Time("DeletionDate", m.deletion_date);
    o.Time("ValidTo", m.valid_to);
    o.String("Origin", m.origin);
    o.String("KeyManager", m.key_manager);
    o.String("CustomerMasterKeySpec", m.customer_master_key_spec);
    o.String("KeySpec", m.key_spec);
    o.StringList("EncryptionAlgorithms", m.encryption_algorithms);
    o.StringList("SigningAlgorithms", m.signing_algorithms);
    o.StringList("MacAlgorithms", m.mac_algorithms);
    o.Bool("MultiRegion", m.multi_region);
    o.Int("PendingDeletionWindowInDays", m.pending_deletion_window_in_days);
    o.String("ExpirationModel", m.expiration_model);
  });
}

// ---------------------------------------------------------------------------
// Decoding.

// The enum value sets of the KMS API reference, checked on requests only.
const std::initializer_list<const char*> kEncryptionAlgorithms = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"};
const std::initializer_list<const char*> kDataKeySpecs = {"AES_256", "AES_128"};
const std::initializer_list<const char*> kKeySpecs = {
    "RSA_2048",     "RSA_3072",      "RSA_4096",        "ECC_NIST_P256",     "ECC_NIST_P384",
    "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256",
    "HMAC_384",     "HMAC_512",      "SM2",             "ML_DSA_44",         "ML_DSA_65",
    "ML_DSA_87"};
const std::initializer_list<const char*> kKeyUsages = {"SIGN_VERIFY", "ENCRYPT_DECRYPT",
                                                       "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"};
const std::initializer_list<const char*> kOrigins = {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM",
                                                     "EXTERNAL_KEY_STORE"};
const std::initializer_list<const char*> kKeyEncryptionAlgorithms = {"RSAES_OAEP_SHA_256"};

// MemberName is AWS's name for a field in validation messages: the field
// with its first letter in lower case ("KeyId" -> "keyId").
std::string MemberName(std::string_view prefix, const char* field) {
  std::string out(prefix);
  if (!out.empty()) out += '.';
  std::string f = field;
  if (!f.empty() && f[0] >= 'A' && f[0] <= 'Z') f[0] = static_cast<char>(f[0] - 'A' + 'a');
  out += f;
  return out;
}

// Reader reads fields of one JSON object, recording the first error. Every
// accessor returns an empty value after an error, so a decoder reads all
// fields and checks status() once.
class Reader {
 public:
  // `strict_enums` is set for requests.
  Reader(json* obj, bool strict_enums, std::string prefix, absl::Status* status)
      : obj_(obj), strict_(strict_enums), prefix_(std::move(prefix)), status_(status) {}

  std::string String(const char* name, bool required = false) {
    json* v = Find(name, required);
    if (v == nullptr) return "";
    if (!v->is_string()) return TypeError(name, "a string"), "";
    const std::string& text = v->get_ref<const std::string&>();
    if (text.empty() && required) {
      Fail(ErrorType::kValidation,
           "1 validation error detected: Value '' at '" + MemberName(prefix_, name) +
               "' failed to satisfy constraint: Member must have length greater than or equal "
               "to 1");
    }
    return text;
  }
  // Enum reads a string and, for requests, checks it against AWS's set.
  std::string Enum(const char* name, std::initializer_list<const char*> allowed,
                   bool required = false) {
    std::string v = String(name, required);
    if (v.empty() || !strict_) return v;
    for (const char* a : allowed) {
      if (v == a) return v;
    }
    std::string set;
    for (const char* a : allowed) {
      if (!set.empty()) set += ", ";
      set += a;
    }
    Fail(ErrorType::kValidation, "1 validation error detected: Value '" + v + "' at '" +
                                     MemberName(prefix_, name) +
                                     "' failed to satisfy constraint: Member must satisfy enum "
                                     "value set: [" + set + "]");
    return "";
  }
  std::vector<uint8_t> Blob(const char* name, bool required = false) {
    json* v = Find(name, required);
    if (v == nullptr) return {};
    if (!v->is_string()) return TypeError(name, "a Base64 string"), std::vector<uint8_t>();
    auto bytes = Base64Decode(v->get_ref<const std::string&>());
    if (!bytes.ok()) {
      Fail(ErrorType::kSerialization, "field '" + MemberName(prefix_, name) +
                                          "' is not valid Base64");
      return {};
    }
    if (bytes->empty() && required) Missing(name);
    return std::move(bytes).value();
  }
  // SecretBlob reads a Base64 blob into SecretBytes and wipes both the
  // decoded temporary and the parser's copy of the Base64 text.
  SecretBytes SecretBlob(const char* name, bool required = false) {
    json* v = Find(name, required);
    if (v == nullptr) return SecretBytes();
    if (!v->is_string()) return TypeError(name, "a Base64 string"), SecretBytes();
    std::string& text = v->get_ref<std::string&>();
    auto bytes = Base64Decode(text);
    SecureWipe(text.data(), text.size());
    if (!bytes.ok()) {
      Fail(ErrorType::kSerialization, "field '" + MemberName(prefix_, name) +
                                          "' is not valid Base64");
      return SecretBytes();
    }
    SecretBytes out = SecretBytes::Copy(*bytes);
    SecureWipe(bytes->data(), bytes->size());
    if (out.empty() && required) Missing(name);
    return out;
  }
  std::optional<int32_t> Int(const char* name, bool required = false) {
    json* v = Find(name, required);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer() && !v->is_number_unsigned()) {
      const int64_t x = v->get<int64_t>();
      if (x >= std::numeric_limits<int32_t>::min() && x <= std::numeric_limits<int32_t>::max()) {
        return static_cast<int32_t>(x);
      }
    } else if (v->is_number_unsigned()) {
      const uint64_t x = v->get<uint64_t>();
      if (x <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
        return static_cast<int32_t>(x);
      }
    }
    TypeError(name, "a 32-bit integer");
    return std::nullopt;
  }
  std::optional<bool> Bool(const char* name) {
    json* v = Find(name, false);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) return TypeError(name, "a boolean"), std::nullopt;
    return v->get<bool>();
  }
  std::optional<absl::Time> Time(const char* name) {
    json* v = Find(name, false);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer() || v->is_number_unsigned()) {
      if (v->is_number_unsigned() && v->get<uint64_t>() > (uint64_t{1} << 40)) {
        return TypeError(name, "epoch seconds"), std::nullopt;
      }
      return absl::FromUnixSeconds(v->get<int64_t>());
    }
    if (v->is_number_float()) {
      const double d = v->get<double>();
      if (!std::isfinite(d) || std::fabs(d) > 1e12) {
        return TypeError(name, "epoch seconds"), std::nullopt;
      }
      return absl::FromUnixMillis(std::llround(d * 1000.0));
    }
    TypeError(name, "epoch seconds (a number)");
    return std::nullopt;
  }
  EncryptionContext Map(const char* name) {
    json* v = Find(name, false);
    EncryptionContext out;
    if (v == nullptr) return out;
    if (!v->is_object()) return TypeError(name, "an object of strings"), out;
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it.value().is_string()) return TypeError(name, "an object of strings"), out;
      out.emplace(it.key(), it.value().get_ref<const std::string&>());
    }
    return out;
  }
  std::vector<std::string> StringList(const char* name) {
    json* v = Find(name, false);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array()) return TypeError(name, "a list of strings"), out;
    for (const json& e : *v) {
      if (!e.is_string()) return TypeError(name, "a list of strings"), out;
      out.push_back(e.get_ref<const std::string&>());
    }
    return out;
  }
  // Object returns a reader for a nested object, or nullopt when absent.
  std::optional<Reader> Object(const char* name, bool required = false) {
    json* v = Find(name, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_object()) return TypeError(name, "an object"), std::nullopt;
    return Reader(v, strict_, MemberName(prefix_, name), status_);
  }
  // ObjectList calls `read(Reader&)` for each element of an array of objects.
  template <typename F>
  void ObjectList(const char* name, F&& read) {
    json* v = Find(name, false);
    if (v == nullptr) return;
    if (!v->is_array()) return TypeError(name, "a list of objects");
    for (json& e : *v) {
      if (!e.is_object()) return TypeError(name, "a list of objects");
      Reader r(&e, strict_, MemberName(prefix_, name) + ".member", status_);
      read(r);
    }
  }

  bool ok() const { return status_->ok(); }

 private:
  json* Find(const char* name, bool required) {
    if (!status_->ok()) return nullptr;
    auto it = obj_->find(name);
    if (it == obj_->end() || it->is_null()) {
      if (required) Missing(name);
      return nullptr;
    }
    return &*it;
  }
  void Missing(const char* name) {
    Fail(ErrorType::kValidation, "1 validation error detected: Value null at '" +
                                     MemberName(prefix_, name) +
                                     "' failed to satisfy constraint: Member must not be null");
  }
  void TypeError(const char* name, const char* expected) {
    Fail(ErrorType::kSerialization,
         "field '" + MemberName(prefix_, name) + "' must be " + expected);
  }
  void Fail(ErrorType type, const std::string& message) {
    if (status_->ok()) *status_ = KmsError(type, message);
  }

  json* obj_;
  bool strict_;
  std::string prefix_;
  absl::Status* status_;
};

// Decode parses `text` as a JSON object and runs `read(Reader&)` over it.
template <typename T, typename F>
absl::StatusOr<T> Decode(std::string_view text, bool strict_enums, F&& read) {
  json root = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return KmsError(ErrorType::kSerialization, "the request body is not valid JSON");
  }
  if (!root.is_object()) {
    return KmsError(ErrorType::kSerialization, "the body must be a JSON object");
  }
  absl::Status status;
  Reader r(&root, strict_enums, "", &status);
  T out;
  read(r, out);
  if (!status.ok()) return status;
  return out;
}

constexpr bool kRequest = true;
constexpr bool kResponse = false;

std::optional<Recipient> ReadRecipient(Reader& r) {
  std::optional<Reader> o = r.Object("Recipient");
  if (!o.has_value()) return std::nullopt;
  Recipient out;
  out.key_encryption_algorithm = o->Enum("KeyEncryptionAlgorithm", kKeyEncryptionAlgorithms);
  out.attestation_document = o->Blob("AttestationDocument");
  return out;
}

KeyMetadata ReadKeyMetadata(Reader& r) {
  KeyMetadata m;
  std::optional<Reader> o = r.Object("KeyMetadata", /*required=*/true);
  if (!o.has_value()) return m;
  m.aws_account_id = o->String("AWSAccountId");
  m.key_id = o->String("KeyId", /*required=*/true);
  m.arn = o->String("Arn");
  m.creation_date = o->Time("CreationDate");
  m.enabled = o->Bool("Enabled");
  m.description = o->String("Description");
  m.key_usage = o->String("KeyUsage");
  m.key_state = o->String("KeyState");
  m.deletion_date = o->Time("DeletionDate");
  m.valid_to = o->Time("ValidTo");
  m.origin = o->String("Origin");
  m.key_manager = o->String("KeyManager");
  m.customer_master_key_spec = o->String("CustomerMasterKeySpec");
  m.key_spec = o->String("KeySpec");
  m.encryption_algorithms = o->StringList("EncryptionAlgorithms");
  m.signing_algorithms = o->StringList("SigningAlgorithms");
  m.mac_algorithms = o->StringList("MacAlgorithms");
  m.multi_region = o->Bool("MultiRegion");
  m.pending_deletion_window_in_days = o->Int("PendingDeletionWindowInDays");
  m.expiration_model = o->String("ExpirationModel");
  return m;
}

}  // namespace

// ---------------------------------------------------------------------------
// Encrypt

absl::StatusOr<std::string> EncodeJson(const EncryptRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Blob("Plaintext", v.plaintext.Expose());
  w.Map("EncryptionContext", v.encryption_context);
  w.StringList("GrantTokens", v.grant_tokens);
  w.String("EncryptionAlgorithm", v.encryption_algorithm);
  w.Bool("DryRun", v.dry_run);
  return w.Finish();
}
template <>
absl::StatusOr<EncryptRequest> DecodeJson<EncryptRequest>(std::string_view json) {
  return Decode<EncryptRequest>(json, kRequest, [](Reader& r, EncryptRequest& v) {
    v.key_id = r.String("KeyId", true);
    v.plaintext = r.SecretBlob("Plaintext", true);
    v.encryption_context = r.Map("EncryptionContext");
    v.grant_tokens = r.StringList("GrantTokens");
    v.encryption_algorithm = r.Enum("EncryptionAlgorithm", kEncryptionAlgorithms);
    v.dry_run = r.Bool("DryRun");
  });
}

absl::StatusOr<std::string> EncodeJson(const EncryptResponse& v) {
  Writer w;
  w.Blob("CiphertextBlob", v.ciphertext_blob);
  w.String("KeyId", v.key_id);
  w.String("EncryptionAlgorithm", v.encryption_algorithm);
  return w.Finish();
}
template <>
absl::StatusOr<EncryptResponse> DecodeJson<EncryptResponse>(std::string_view json) {
  return Decode<EncryptResponse>(json, kResponse, [](Reader& r, EncryptResponse& v) {
    v.ciphertext_blob = r.Blob("CiphertextBlob");
    v.key_id = r.String("KeyId");
    v.encryption_algorithm = r.String("EncryptionAlgorithm");
  });
}

// ---------------------------------------------------------------------------
// Decrypt

absl::StatusOr<std::string> EncodeJson(const DecryptRequest& v) {
  Writer w;
  w.Blob("CiphertextBlob", v.ciphertext_blob);
  w.Map("EncryptionContext", v.encryption_context);
  w.StringList("GrantTokens", v.grant_tokens);
  w.String("KeyId", v.key_id);
  w.String("EncryptionAlgorithm", v.encryption_algorithm);
  WriteRecipient(w, v.recipient);
  w.Bool("DryRun", v.dry_run);
  return w.Finish();
}
template <>
absl::StatusOr<DecryptRequest> DecodeJson<DecryptRequest>(std::string_view json) {
  return Decode<DecryptRequest>(json, kRequest, [](Reader& r, DecryptRequest& v) {
    v.ciphertext_blob = r.Blob("CiphertextBlob", true);
    v.encryption_context = r.Map("EncryptionContext");
    v.grant_tokens = r.StringList("GrantTokens");
    v.key_id = r.String("KeyId");
    v.encryption_algorithm = r.Enum("EncryptionAlgorithm", kEncryptionAlgorithms);
    v.recipient = ReadRecipient(r);
    v.dry_run = r.Bool("DryRun");
  });
}

absl::StatusOr<std::string> EncodeJson(const DecryptResponse& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Blob("Plaintext", v.plaintext.Expose());
  w.String("EncryptionAlgorithm", v.encryption_algorithm);
  w.Blob("CiphertextForRecipient", v.ciphertext_for_recipient);
  return w.Finish();
}
template <>
absl::StatusOr<DecryptResponse> DecodeJson<DecryptResponse>(std::string_view json) {
  return Decode<DecryptResponse>(json, kResponse, [](Reader& r, DecryptResponse& v) {
    v.key_id = r.String("KeyId");
    v.plaintext = r.SecretBlob("Plaintext");
    v.encryption_algorithm = r.String("EncryptionAlgorithm");
    v.ciphertext_for_recipient = r.Blob("CiphertextForRecipient");
  });
}

// ---------------------------------------------------------------------------
// ReEncrypt

absl::StatusOr<std::string> EncodeJson(const ReEncryptRequest& v) {
  Writer w;
  w.Blob("CiphertextBlob", v.ciphertext_blob);
  w.Map("SourceEncryptionContext", v.source_encryption_context);
  w.String("SourceKeyId", v.source_key_id);
  w.String("DestinationKeyId", v.destination_key_id);
  w.Map("DestinationEncryptionContext", v.destination_encryption_context);
  w.String("SourceEncryptionAlgorithm", v.source_encryption_algorithm);
  w.String("DestinationEncryptionAlgorithm", v.destination_encryption_algorithm);
  w.StringList("GrantTokens", v.grant_tokens);
  w.Bool("DryRun", v.dry_run);
  return w.Finish();
}
template <>
absl::StatusOr<ReEncryptRequest> DecodeJson<ReEncryptRequest>(std::string_view json) {
  return Decode<ReEncryptRequest>(json, kRequest, [](Reader& r, ReEncryptRequest& v) {
    v.ciphertext_blob = r.Blob("CiphertextBlob", true);
    v.source_encryption_context = r.Map("SourceEncryptionContext");
    v.source_key_id = r.String("SourceKeyId");
    v.destination_key_id = r.String("DestinationKeyId", true);
    v.destination_encryption_context = r.Map("DestinationEncryptionContext");
    v.source_encryption_algorithm = r.Enum("SourceEncryptionAlgorithm", kEncryptionAlgorithms);
    v.destination_encryption_algorithm =
        r.Enum("DestinationEncryptionAlgorithm", kEncryptionAlgorithms);
    v.grant_tokens = r.StringList("GrantTokens");
    v.dry_run = r.Bool("DryRun");
  });
}

absl::StatusOr<std::string> EncodeJson(const ReEncryptResponse& v) {
  Writer w;
  w.Blob("CiphertextBlob", v.ciphertext_blob);
  w.String("SourceKeyId", v.source_key_id);
  w.String("KeyId", v.key_id);
  w.String("SourceEncryptionAlgorithm", v.source_encryption_algorithm);
  w.String("DestinationEncryptionAlgorithm", v.destination_encryption_algorithm);
  return w.Finish();
}
template <>
absl::StatusOr<ReEncryptResponse> DecodeJson<ReEncryptResponse>(std::string_view json) {
  return Decode<ReEncryptResponse>(json, kResponse, [](Reader& r, ReEncryptResponse& v) {
    v.ciphertext_blob = r.Blob("CiphertextBlob");
    v.source_key_id = r.String("SourceKeyId");
    v.key_id = r.String("KeyId");
    v.source_encryption_algorithm = r.String("SourceEncryptionAlgorithm");
    v.destination_encryption_algorithm = r.String("DestinationEncryptionAlgorithm");
  });
}

// ---------------------------------------------------------------------------
// GenerateDataKey

absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Map("EncryptionContext", v.encryption_context);
  w.Int("NumberOfBytes", v.number_of_bytes);
  w.String("KeySpec", v.key_spec);
  w.StringList("GrantTokens", v.grant_tokens);
  WriteRecipient(w, v.recipient);
  w.Bool("DryRun", v.dry_run);
  return w.Finish();
}
template <>
absl::StatusOr<GenerateDataKeyRequest> DecodeJson<GenerateDataKeyRequest>(std::string_view json) {
  return Decode<GenerateDataKeyRequest>(json, kRequest, [](Reader& r, GenerateDataKeyRequest& v) {
    v.key_id = r.String("KeyId", true);
    v.encryption_context = r.Map("EncryptionContext");
    v.number_of_bytes = r.Int("NumberOfBytes");
    v.key_spec = r.Enum("KeySpec", kDataKeySpecs);
    v.grant_tokens = r.StringList("GrantTokens");
    v.recipient = ReadRecipient(r);
    v.dry_run = r.Bool("DryRun");
  });
}

absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyResponse& v) {
  Writer w;
  w.Blob("CiphertextBlob", v.ciphertext_blob);
  w.Blob("Plaintext", v.plaintext.Expose());
  w.String("KeyId", v.key_id);
  w.Blob("CiphertextForRecipient", v.ciphertext_for_recipient);
  return w.Finish();
}
template <>
absl::StatusOr<GenerateDataKeyResponse> DecodeJson<GenerateDataKeyResponse>(
    std::string_view json) {
  return Decode<GenerateDataKeyResponse>(json, kResponse,
                                         [](Reader& r, GenerateDataKeyResponse& v) {
                                           v.ciphertext_blob = r.Blob("CiphertextBlob");
                                           v.plaintext = r.SecretBlob("Plaintext");
                                           v.key_id = r.String("KeyId");
                                           v.ciphertext_for_recipient =
                                               r.Blob("CiphertextForRecipient");
                                         });
}

// ---------------------------------------------------------------------------
// GenerateDataKeyWithoutPlaintext

absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyWithoutPlaintextRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Map("EncryptionContext", v.encryption_context);
  w.String("KeySpec", v.key_spec);
  w.Int("NumberOfBytes", v.number_of_bytes);
  w.StringList("GrantTokens", v.grant_tokens);
  w.Bool("DryRun", v.dry_run);
  return w.Finish();
}
template <>
absl::StatusOr<GenerateDataKeyWithoutPlaintextRequest>
DecodeJson<GenerateDataKeyWithoutPlaintextRequest>(std::string_view json) {
  return Decode<GenerateDataKeyWithoutPlaintextRequest>(
      json, kRequest, [](Reader& r, GenerateDataKeyWithoutPlaintextRequest& v) {
        v.key_id = r.String("KeyId", true);
        v.encryption_context = r.Map("EncryptionContext");
        v.key_spec = r.Enum("KeySpec", kDataKeySpecs);
        v.number_of_bytes = r.Int("NumberOfBytes");
        v.grant_tokens = r.StringList("GrantTokens");
        v.dry_run = r.Bool("DryRun");
      });
}

absl::StatusOr<std::string> EncodeJson(const GenerateDataKeyWithoutPlaintextResponse& v) {
  Writer w;
  w.Blob("CiphertextBlob", v.ciphertext_blob);
  w.String("KeyId", v.key_id);
  return w.Finish();
}
template <>
absl::StatusOr<GenerateDataKeyWithoutPlaintextResponse>
DecodeJson<GenerateDataKeyWithoutPlaintextResponse>(std::string_view json) {
  return Decode<GenerateDataKeyWithoutPlaintextResponse>(
      json, kResponse, [](Reader& r, GenerateDataKeyWithoutPlaintextResponse& v) {
        v.ciphertext_blob = r.Blob("CiphertextBlob");
        v.key_id = r.String("KeyId");
      });
}

// ---------------------------------------------------------------------------
// GenerateRandom

absl::StatusOr<std::string> EncodeJson(const GenerateRandomRequest& v) {
  Writer w;
  w.Int("NumberOfBytes", v.number_of_bytes);
  w.String("CustomKeyStoreId", v.custom_key_store_id);
  WriteRecipient(w, v.recipient);
  return w.Finish();
}
template <>
absl::StatusOr<GenerateRandomRequest> DecodeJson<GenerateRandomRequest>(std::string_view json) {
  return Decode<GenerateRandomRequest>(json, kRequest, [](Reader& r, GenerateRandomRequest& v) {
    v.number_of_bytes = r.Int("NumberOfBytes");
    v.custom_key_store_id = r.String("CustomKeyStoreId");
    v.recipient = ReadRecipient(r);
  });
}

absl::StatusOr<std::string> EncodeJson(const GenerateRandomResponse& v) {
  Writer w;
  w.Blob("Plaintext", v.plaintext.Expose());
  w.Blob("CiphertextForRecipient", v.ciphertext_for_recipient);
  return w.Finish();
}
template <>
absl::StatusOr<GenerateRandomResponse> DecodeJson<GenerateRandomResponse>(std::string_view json) {
  return Decode<GenerateRandomResponse>(json, kResponse, [](Reader& r, GenerateRandomResponse& v) {
    v.plaintext = r.SecretBlob("Plaintext");
    v.ciphertext_for_recipient = r.Blob("CiphertextForRecipient");
  });
}

// ---------------------------------------------------------------------------
// CreateKey, DescribeKey, ListKeys

absl::StatusOr<std::string> EncodeJson(const CreateKeyRequest& v) {
  Writer w;
  w.String("Policy", v.policy);
  w.String("Description", v.description);
  w.String("KeyUsage", v.key_usage);
  w.String("KeySpec", v.key_spec);
  w.String("Origin", v.origin);
  w.Bool("BypassPolicyLockoutSafetyCheck", v.bypass_policy_lockout_safety_check);
  w.ObjectList("Tags", v.tags, [](Writer& o, const Tag& t) {
    o.String("TagKey", t.tag_key);
    o.String("TagValue", t.tag_value);
  });
  w.Bool("MultiRegion", v.multi_region);
  return w.Finish();
}
template <>
absl::StatusOr<CreateKeyRequest> DecodeJson<CreateKeyRequest>(std::string_view json) {
  return Decode<CreateKeyRequest>(json, kRequest, [](Reader& r, CreateKeyRequest& v) {
    v.policy = r.String("Policy");
    v.description = r.String("Description");
    v.key_usage = r.Enum("KeyUsage", kKeyUsages);
    v.key_spec = r.Enum("KeySpec", kKeySpecs);
    if (v.key_spec.empty()) v.key_spec = r.Enum("CustomerMasterKeySpec", kKeySpecs);
    v.origin = r.Enum("Origin", kOrigins);
    v.bypass_policy_lockout_safety_check = r.Bool("BypassPolicyLockoutSafetyCheck");
    r.ObjectList("Tags", [&](Reader& t) {
      Tag tag;
      tag.tag_key = t.String("TagKey", true);
      tag.tag_value = t.String("TagValue", true);
      v.tags.push_back(std::move(tag));
    });
    v.multi_region = r.Bool("MultiRegion");
  });
}

absl::StatusOr<std::string> EncodeJson(const CreateKeyResponse& v) {
  Writer w;
  WriteKeyMetadata(w, v.key_metadata);
  return w.Finish();
}
template <>
absl::StatusOr<CreateKeyResponse> DecodeJson<CreateKeyResponse>(std::string_view json) {
  return Decode<CreateKeyResponse>(json, kResponse, [](Reader& r, CreateKeyResponse& v) {
    v.key_metadata = ReadKeyMetadata(r);
  });
}

absl::StatusOr<std::string> EncodeJson(const DescribeKeyRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.StringList("GrantTokens", v.grant_tokens);
  return w.Finish();
}
template <>
absl::StatusOr<DescribeKeyRequest> DecodeJson<DescribeKeyRequest>(std::string_view json) {
  return Decode<DescribeKeyRequest>(json, kRequest, [](Reader& r, DescribeKeyRequest& v) {
    v.key_id = r.String("KeyId", true);
    v.grant_tokens = r.StringList("GrantTokens");
  });
}

absl::StatusOr<std::string> EncodeJson(const DescribeKeyResponse& v) {
  Writer w;
  WriteKeyMetadata(w, v.key_metadata);
  return w.Finish();
}
template <>
absl::StatusOr<DescribeKeyResponse> DecodeJson<DescribeKeyResponse>(std::string_view json) {
  return Decode<DescribeKeyResponse>(json, kResponse, [](Reader& r, DescribeKeyResponse& v) {
    v.key_metadata = ReadKeyMetadata(r);
  });
}

absl::StatusOr<std::string> EncodeJson(const ListKeysRequest& v) {
  Writer w;
  w.Int("Limit", v.limit);
  w.String("Marker", v.marker);
  return w.Finish();
}
template <>
absl::StatusOr<ListKeysRequest> DecodeJson<ListKeysRequest>(std::string_view json) {
  return Decode<ListKeysRequest>(json, kRequest, [](Reader& r, ListKeysRequest& v) {
    v.limit = r.Int("Limit");
    v.marker = r.String("Marker");
  });
}

absl::StatusOr<std::string> EncodeJson(const ListKeysResponse& v) {
  Writer w;
  // An empty list is still written: AWS always answers with "Keys".
  w.ObjectList(
      "Keys", v.keys,
      [](Writer& o, const KeyListEntry& k) {
        o.String("KeyId", k.key_id);
        o.String("KeyArn", k.key_arn);
      },
      /*write_empty=*/true);
  w.String("NextMarker", v.next_marker);
  w.Bool("Truncated", v.truncated);
  return w.Finish();
}
template <>
absl::StatusOr<ListKeysResponse> DecodeJson<ListKeysResponse>(std::string_view json) {
  return Decode<ListKeysResponse>(json, kResponse, [](Reader& r, ListKeysResponse& v) {
    r.ObjectList("Keys", [&](Reader& k) {
      KeyListEntry e;
      e.key_id = k.String("KeyId");
      e.key_arn = k.String("KeyArn");
      v.keys.push_back(std::move(e));
    });
    v.next_marker = r.String("NextMarker");
    v.truncated = r.Bool("Truncated");
  });
}

// ---------------------------------------------------------------------------
// Aliases

absl::StatusOr<std::string> EncodeJson(const CreateAliasRequest& v) {
  Writer w;
  w.String("AliasName", v.alias_name);
  w.String("TargetKeyId", v.target_key_id);
  return w.Finish();
}
template <>
absl::StatusOr<CreateAliasRequest> DecodeJson<CreateAliasRequest>(std::string_view json) {
  return Decode<CreateAliasRequest>(json, kRequest, [](Reader& r, CreateAliasRequest& v) {
    v.alias_name = r.String("AliasName", true);
    v.target_key_id = r.String("TargetKeyId", true);
  });
}

absl::StatusOr<std::string> EncodeJson(const UpdateAliasRequest& v) {
  Writer w;
  w.String("AliasName", v.alias_name);
  w.String("TargetKeyId", v.target_key_id);
  return w.Finish();
}
template <>
absl::StatusOr<UpdateAliasRequest> DecodeJson<UpdateAliasRequest>(std::string_view json) {
  return Decode<UpdateAliasRequest>(json, kRequest, [](Reader& r, UpdateAliasRequest& v) {
    v.alias_name = r.String("AliasName", true);
    v.target_key_id = r.String("TargetKeyId", true);
  });
}

absl::StatusOr<std::string> EncodeJson(const DeleteAliasRequest& v) {
  Writer w;
  w.String("AliasName", v.alias_name);
  return w.Finish();
}
template <>
absl::StatusOr<DeleteAliasRequest> DecodeJson<DeleteAliasRequest>(std::string_view json) {
  return Decode<DeleteAliasRequest>(json, kRequest, [](Reader& r, DeleteAliasRequest& v) {
    v.alias_name = r.String("AliasName", true);
  });
}

absl::StatusOr<std::string> EncodeJson(const ListAliasesRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Int("Limit", v.limit);
  w.String("Marker", v.marker);
  return w.Finish();
}
template <>
absl::StatusOr<ListAliasesRequest> DecodeJson<ListAliasesRequest>(std::string_view json) {
  return Decode<ListAliasesRequest>(json, kRequest, [](Reader& r, ListAliasesRequest& v) {
    v.key_id = r.String("KeyId");
    v.limit = r.Int("Limit");
    v.marker = r.String("Marker");
  });
}

absl::StatusOr<std::string> EncodeJson(const ListAliasesResponse& v) {
  Writer w;
  w.ObjectList(
      "Aliases", v.aliases,
      [](Writer& o, const AliasListEntry& a) {
        o.String("AliasName", a.alias_name);
        o.String("AliasArn", a.alias_arn);
        o.String("TargetKeyId", a.target_key_id);
        o.Time("CreationDate", a.creation_date);
        o.Time("LastUpdatedDate", a.last_updated_date);
      },
      /*write_empty=*/true);
  w.String("NextMarker", v.next_marker);
  w.Bool("Truncated", v.truncated);
  return w.Finish();
}
template <>
absl::StatusOr<ListAliasesResponse> DecodeJson<ListAliasesResponse>(std::string_view json) {
  return Decode<ListAliasesResponse>(json, kResponse, [](Reader& r, ListAliasesResponse& v) {
    r.ObjectList("Aliases", [&](Reader& a) {
      AliasListEntry e;
      e.alias_name = a.String("AliasName");
      e.alias_arn = a.String("AliasArn");
      e.target_key_id = a.String("TargetKeyId");
      e.creation_date = a.Time("CreationDate");
      e.last_updated_date = a.Time("LastUpdatedDate");
      v.aliases.push_back(std::move(e));
    });
    v.next_marker = r.String("NextMarker");
    v.truncated = r.Bool("Truncated");
  });
}

// ---------------------------------------------------------------------------
// Key policies

absl::StatusOr<std::string> EncodeJson(const GetKeyPolicyRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.String("PolicyName", v.policy_name);
  return w.Finish();
}
template <>
absl::StatusOr<GetKeyPolicyRequest> DecodeJson<GetKeyPolicyRequest>(std::string_view json) {
  return Decode<GetKeyPolicyRequest>(json, kRequest, [](Reader& r, GetKeyPolicyRequest& v) {
    v.key_id = r.String("KeyId", true);
    v.policy_name = r.String("PolicyName");
  });
}

absl::StatusOr<std::string> EncodeJson(const GetKeyPolicyResponse& v) {
  Writer w;
  w.String("Policy", v.policy);
  w.String("PolicyName", v.policy_name);
  return w.Finish();
}
template <>
absl::StatusOr<GetKeyPolicyResponse> DecodeJson<GetKeyPolicyResponse>(std::string_view json) {
  return Decode<GetKeyPolicyResponse>(json, kResponse, [](Reader& r, GetKeyPolicyResponse& v) {
    v.policy = r.String("Policy");
    v.policy_name = r.String("PolicyName");
  });
}

absl::StatusOr<std::string> EncodeJson(const PutKeyPolicyRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.String("PolicyName", v.policy_name);
  w.String("Policy", v.policy);
  w.Bool("BypassPolicyLockoutSafetyCheck", v.bypass_policy_lockout_safety_check);
  return w.Finish();
}
template <>
absl::StatusOr<PutKeyPolicyRequest> DecodeJson<PutKeyPolicyRequest>(std::string_view json) {
  return Decode<PutKeyPolicyRequest>(json, kRequest, [](Reader& r, PutKeyPolicyRequest& v) {
    v.key_id = r.String("KeyId", true);
    v.policy_name = r.String("PolicyName");
    v.policy = r.String("Policy", true);
    v.bypass_policy_lockout_safety_check = r.Bool("BypassPolicyLockoutSafetyCheck");
  });
}

// ---------------------------------------------------------------------------
// Key state and rotation

absl::StatusOr<std::string> EncodeJson(const KeyIdRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  return w.Finish();
}
template <>
absl::StatusOr<KeyIdRequest> DecodeJson<KeyIdRequest>(std::string_view json) {
  return Decode<KeyIdRequest>(json, kRequest,
                              [](Reader& r, KeyIdRequest& v) { v.key_id = r.String("KeyId", true); });
}

absl::StatusOr<std::string> EncodeJson(const ScheduleKeyDeletionRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Int("PendingWindowInDays", v.pending_window_in_days);
  return w.Finish();
}
template <>
absl::StatusOr<ScheduleKeyDeletionRequest> DecodeJson<ScheduleKeyDeletionRequest>(
    std::string_view json) {
  return Decode<ScheduleKeyDeletionRequest>(json, kRequest,
                                            [](Reader& r, ScheduleKeyDeletionRequest& v) {
                                              v.key_id = r.String("KeyId", true);
                                              v.pending_window_in_days =
                                                  r.Int("PendingWindowInDays");
                                            });
}

absl::StatusOr<std::string> EncodeJson(const ScheduleKeyDeletionResponse& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Time("DeletionDate", v.deletion_date);
  w.String("KeyState", v.key_state);
  w.Int("PendingWindowInDays", v.pending_window_in_days);
  return w.Finish();
}
template <>
absl::StatusOr<ScheduleKeyDeletionResponse> DecodeJson<ScheduleKeyDeletionResponse>(
    std::string_view json) {
  return Decode<ScheduleKeyDeletionResponse>(json, kResponse,
                                             [](Reader& r, ScheduleKeyDeletionResponse& v) {
                                               v.key_id = r.String("KeyId");
                                               v.deletion_date = r.Time("DeletionDate");
                                               v.key_state = r.String("KeyState");
                                               v.pending_window_in_days =
                                                   r.Int("PendingWindowInDays");
                                             });
}

absl::StatusOr<std::string> EncodeJson(const CancelKeyDeletionResponse& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  return w.Finish();
}
template <>
absl::StatusOr<CancelKeyDeletionResponse> DecodeJson<CancelKeyDeletionResponse>(
    std::string_view json) {
  return Decode<CancelKeyDeletionResponse>(
      json, kResponse, [](Reader& r, CancelKeyDeletionResponse& v) { v.key_id = r.String("KeyId"); });
}

absl::StatusOr<std::string> EncodeJson(const EnableKeyRotationRequest& v) {
  Writer w;
  w.String("KeyId", v.key_id);
  w.Int("RotationPeriodInDays", v.rotation_period_in_days);
  return w.Finish();
}
template <>
absl::StatusOr<EnableKeyRotationRequest> DecodeJson<EnableKeyRotationRequest>(
    std::string_view json) {
  return Decode<EnableKeyRotationRequest>(json, kRequest,
                                          [](Reader& r, EnableKeyRotationRequest& v) {
                                            v.key_id = r.String("KeyId", true);
                                            v.rotation_period_in_days =
                                                r.Int("RotationPeriodInDays");
                                          });
}

absl::StatusOr<std::string> EncodeJson(const GetKeyRotationStatusResponse& v) {
  Writer w;
  w.Bool("KeyRotationEnabled", v.key_rotation_enabled);
  w.String("KeyId", v.key_id);
  w.Int("RotationPeriodInDays", v.rotation_period_in_days);
  w.Time("NextRotationDate", v.next_rotation_date);
  w.Time("OnDemandRotationStartDate", v.on_demand_rotation_start_date);
  return w.Finish();
}
template <>
absl::StatusOr<GetKeyRotationStatusResponse> DecodeJson<GetKeyRotationStatusResponse>(
    std::string_view json) {
  return Decode<GetKeyRotationStatusResponse>(
      json, kResponse, [](Reader& r, GetKeyRotationStatusResponse& v) {
        v.key_rotation_enabled = r.Bool("KeyRotationEnabled");
        v.key_id = r.String("KeyId");
        v.rotation_period_in_days = r.Int("RotationPeriodInDays");
        v.next_rotation_date = r.Time("NextRotationDate");
        v.on_demand_rotation_start_date = r.Time("OnDemandRotationStartDate");
      });
}

// ---------------------------------------------------------------------------
// Empty and error bodies

absl::StatusOr<std::string> EncodeJson(const EmptyResponse&) { return Writer().Finish(); }
template <>
absl::StatusOr<EmptyResponse> DecodeJson<EmptyResponse>(std::string_view json) {
  // AWS answers these operations with an empty body or `{}`.
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return EmptyResponse{};
  return Decode<EmptyResponse>(json, kResponse, [](Reader&, EmptyResponse&) {});
}

absl::StatusOr<std::string> EncodeJson(const ErrorResponse& v) {
  Writer w;
  w.String("__type", v.type);
  w.String("message", v.message);
  return w.Finish();
}
template <>
absl::StatusOr<ErrorResponse> DecodeJson<ErrorResponse>(std::string_view json) {
  return Decode<ErrorResponse>(json, kResponse, [](Reader& r, ErrorResponse& v) {
    v.type = r.String("__type");
    // Some AWS services capitalise it.
    v.message = r.String("message");
    if (v.message.empty()) v.message = r.String("Message");
  });
}

}  // namespace veil::kms
