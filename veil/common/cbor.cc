#include "veil/common/cbor.h"

#include <algorithm>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "veil/common/byte_reader.h"
#include "veil/common/status_macros.h"

namespace veil::cbor {
namespace {

constexpr uint8_t kBreak = 0xff;
constexpr uint8_t kIndefinite = 31;

enum Major : uint8_t {
  kMajorUnsigned = 0,
  kMajorNegative = 1,
  kMajorBytes = 2,
  kMajorText = 3,
  kMajorArray = 4,
  kMajorMap = 5,
  kMajorTag = 6,
  kMajorSimple = 7,
};

// ValidUtf8 implements the well-formedness table of RFC 3629 section 4: no
// overlong forms, no surrogates, nothing above U+10FFFF.
bool ValidUtf8(absl::Span<const uint8_t> s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c == 0xe0) {
      n = 2, lo = 0xa0;
    } else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) {
      n = 2;
    } else if (c == 0xed) {
      n = 2, hi = 0x9f;
    } else if (c == 0xf0) {
      n = 3, lo = 0x90;
    } else if (c >= 0xf1 && c <= 0xf3) {
      n = 3;
    } else if (c == 0xf4) {
      n = 3, hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k <= n; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xbf) return false;
    }
    i += n + 1;
  }
  return true;
}

class Decoder {
 public:
  Decoder(absl::Span<const uint8_t> data, const Limits& limits) : reader_(data), limits_(limits) {}

  absl::StatusOr<Value> DecodeAll() {
    VEIL_ASSIGN_OR_RETURN(Value v, DecodeItem(0));
    if (!reader_.empty()) {
      return Error(reader_.offset(), absl::StrCat(reader_.remaining(), " trailing byte(s)"));
    }
    return v;
  }

 private:
  static absl::Status Error(size_t offset, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("cbor: ", what, " at offset ", offset));
  }
  absl::Status Truncated(size_t offset) const { return Error(offset, "truncated item"); }

  // ReadArgument reads the argument that follows an initial byte whose
  // additional information is `ai` (0..27).
  bool ReadArgument(uint8_t ai, uint64_t* out) {
    if (ai < 24) {
      *out = ai;
      return true;
    }
    switch (ai) {
      case 24: {
        uint8_t v;
        if (!reader_.ReadU8(&v)) return false;
        *out = v;
        return true;
      }
      case 25: {
        uint16_t v;
        if (!reader_.ReadU16(&v)) return false;
        *out = v;
        return true;
      }
      case 26: {
        uint32_t v;
        if (!reader_.ReadU32(&v)) return false;
        *out = v;
        return true;
      }
      default:
        return reader_.ReadU64(out);
    }
  }

  absl::Status CountItem(size_t offset) {
    if (++items_ > limits_.max_items) {
      return Error(offset, absl::StrCat("more than ", limits_.max_items, " data items"));
    }
    return absl::OkStatus();
  }

  absl::Status EnterContainer(size_t depth, size_t offset) const {
    if (depth + 1 > limits_.max_depth) {
      return Error(offset, absl::StrCat("nesting deeper than ", limits_.max_depth));
    }
    return absl::OkStatus();
  }

  // AtBreak says whether the next byte is a "break" (and consumes it).
  absl::StatusOr<bool> AtBreak(size_t container_offset) {
    if (reader_.empty()) return Truncated(container_offset);
    if (reader_.rest()[0] != kBreak) return false;
    reader_.Skip(1);
    return true;
  }

  absl::StatusOr<Value> DecodeItem(size_t depth) {
    const absl::Span<const uint8_t> start = reader_.rest();
    const size_t offset = reader_.offset();
    VEIL_RETURN_IF_ERROR(CountItem(offset));

    uint8_t initial;
    if (!reader_.ReadU8(&initial)) return Truncated(offset);
    const uint8_t major = initial >> 5;
    const uint8_t ai = initial & 0x1f;
    if (ai >= 28 && ai <= 30) {
      return Error(offset, absl::StrCat("reserved additional information ", ai));
    }
    const bool indefinite = ai == kIndefinite;
    uint64_t arg = 0;
    if (!indefinite && !ReadArgument(ai, &arg)) return Truncated(offset);

    Value v;
    switch (major) {
      case kMajorUnsigned:
      case kMajorNegative:
        if (indefinite) return Error(offset, "indefinite length on an integer");
        v.type = major == kMajorUnsigned ? Value::Type::kUnsigned : Value::Type::kNegative;
        v.uint = arg;
        break;

      case kMajorBytes:
      case kMajorText:
        // Spec: cbor.h — indefinite strings are refused (see Decode).
        if (indefinite) return Error(offset, "indefinite-length string");
        if (arg > reader_.remaining()) return Truncated(offset);
        if (!reader_.ReadBytes(static_cast<size_t>(arg), &v.bytes)) return Truncated(offset);
        if (major == kMajorBytes) {
          v.type = Value::Type::kBytes;
        } else {
          v.type = Value::Type::kText;
          if (!ValidUtf8(v.bytes)) return Error(offset, "invalid UTF-8 in text string");
        }
        break;

      case kMajorArray:
        v.type = Value::Type::kArray;
        VEIL_RETURN_IF_ERROR(EnterContainer(depth, offset));
        if (indefinite) {
          while (true) {
            VEIL_ASSIGN_OR_RETURN(bool done, AtBreak(offset));
            if (done) break;
            VEIL_ASSIGN_OR_RETURN(Value item, DecodeItem(depth + 1));
            v.items.push_back(std::move(item));
          }
        } else {
          // Every item takes at least one byte: a count beyond what is left
          // is truncation, and checking first keeps reserve() bounded.
          if (arg > reader_.remaining()) return Truncated(offset);
          v.items.reserve(static_cast<size_t>(arg));
          for (uint64_t i = 0; i < arg; ++i) {
            VEIL_ASSIGN_OR_RETURN(Value item, DecodeItem(depth + 1));
            v.items.push_back(std::move(item));
          }
        }
        break;

      case kMajorMap:
        v.type = Value::Type::kMap;
        VEIL_RETURN_IF_ERROR(EnterContainer(depth, offset));
        if (indefinite) {
          while (true) {
            VEIL_ASSIGN_OR_RETURN(bool done, AtBreak(offset));
            if (done) break;
            VEIL_RETURN_IF_ERROR(DecodeEntry(depth, &v));
          }
        } else {
          if (arg > reader_.remaining() / 2) return Truncated(offset);
          v.map.reserve(static_cast<size_t>(arg));
          for (uint64_t i = 0; i < arg; ++i) {
            VEIL_RETURN_IF_ERROR(DecodeEntry(depth, &v));
          }
        }
        VEIL_RETURN_IF_ERROR(CheckDuplicateKeys(v, offset));
        break;

      case kMajorTag: {
        if (indefinite) return Error(offset, "indefinite length on a tag");
        v.type = Value::Type::kTag;
        v.uint = arg;
        VEIL_RETURN_IF_ERROR(EnterContainer(depth, offset));
        VEIL_ASSIGN_OR_RETURN(Value item, DecodeItem(depth + 1));
        v.items.push_back(std::move(item));
        break;
      }

      default:  // kMajorSimple
        switch (ai) {
          case 20:
          case 21:
            v.type = Value::Type::kBool;
            v.boolean = ai == 21;
            break;
          case 22:
            v.type = Value::Type::kNull;
            break;
          case 23:
            v.type = Value::Type::kUndefined;
            break;
          case 25:
          case 26:
          case 27:
            v.type = Value::Type::kFloat;
            v.uint = arg;
            break;
          case kIndefinite:
            return Error(offset, "unexpected break");
          default:
            // Simple values other than false/true/null/undefined are
            // unassigned (RFC 8949 section 3.3) and nothing Veil reads uses
            // them; the two-byte form of a value below 32 is not well-formed.
            return Error(offset, absl::StrCat("unsupported simple value ",
                                              ai == 24 ? arg : uint64_t{ai}));
        }
        break;
    }
    v.encoded = start.first(reader_.offset() - offset);
    return v;
  }

  absl::Status DecodeEntry(size_t depth, Value* map) {
    VEIL_ASSIGN_OR_RETURN(Value key, DecodeItem(depth + 1));
    VEIL_ASSIGN_OR_RETURN(Value value, DecodeItem(depth + 1));
    map->map.emplace_back(std::move(key), std::move(value));
    return absl::OkStatus();
  }

  // Keys are compared by their encoded bytes (cbor.h), so 1 and 0x1800 are
  // different keys; none of the formats Veil reads has either form twice.
  static absl::Status CheckDuplicateKeys(const Value& map, size_t offset) {
    if (map.map.size() < 2) return absl::OkStatus();
    std::vector<std::string_view> keys;
    keys.reserve(map.map.size());
    for (const auto& [k, unused] : map.map) keys.push_back(AsStringView(k.encoded));
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      return Error(offset, "duplicate map key");
    }
    return absl::OkStatus();
  }

  ByteReader reader_;
  const Limits& limits_;
  size_t items_ = 0;
};

}  // namespace

Value::Value() = default;
Value::~Value() = default;
Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;

const Value* Value::Find(std::string_view key) const {
  if (type != Type::kMap) return nullptr;
  for (const auto& [k, v] : map) {
    if (k.type == Type::kText && k.text() == key) return &v;
  }
  return nullptr;
}

std::optional<int64_t> Value::AsInt() const {
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (type == Type::kUnsigned && uint <= kMax) return static_cast<int64_t>(uint);
  // -1 - n, computed without overflow: n <= INT64_MAX gives at least INT64_MIN.
  if (type == Type::kNegative && uint <= kMax) return -1 - static_cast<int64_t>(uint);
  return std::nullopt;
}

absl::StatusOr<Value> Decode(absl::Span<const uint8_t> data, const Limits& limits) {
  if (data.size() > limits.max_input) {
    return absl::InvalidArgumentError(absl::StrCat("cbor: input of ", data.size(),
                                                   " bytes exceeds the limit of ",
                                                   limits.max_input));
  }
  return Decoder(data, limits).DecodeAll();
}

void Writer::Head(uint8_t major, uint64_t arg) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (arg < 24) {
    out_.push_back(static_cast<uint8_t>(m | arg));
    return;
  }
  int width;
  if (arg <= 0xff) {
    out_.push_back(m | 24);
    width = 1;
  } else if (arg <= 0xffff) {
    out_.push_back(m | 25);
    width = 2;
  } else if (arg <= 0xffffffff) {
    out_.push_back(m | 26);
    width = 4;
  } else {
    out_.push_back(m | 27);
    width = 8;
  }
  for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) {
    out_.push_back(static_cast<uint8_t>(arg >> shift));
  }
}

void Writer::Unsigned(uint64_t v) { Head(kMajorUnsigned, v); }

void Writer::Int(int64_t v) {
  if (v >= 0) {
    Head(kMajorUnsigned, static_cast<uint64_t>(v));
  } else {
    // -1 - v without overflow at INT64_MIN.
    Head(kMajorNegative, static_cast<uint64_t>(-(v + 1)));
  }
}

void Writer::Bytes(absl::Span<const uint8_t> b) {
  Head(kMajorBytes, b.size());
  out_.insert(out_.end(), b.begin(), b.end());
}

void Writer::Text(std::string_view s) {
  Head(kMajorText, s.size());
  out_.insert(out_.end(), s.begin(), s.end());
}

void Writer::ArrayHeader(uint64_t count) { Head(kMajorArray, count); }
void Writer::MapHeader(uint64_t count) { Head(kMajorMap, count); }
void Writer::Tag(uint64_t tag) { Head(kMajorTag, tag); }
void Writer::Bool(bool b) { out_.push_back(b ? 0xf5 : 0xf4); }
void Writer::Null() { out_.push_back(0xf6); }
void Writer::Raw(absl::Span<const uint8_t> encoded) {
  out_.insert(out_.end(), encoded.begin(), encoded.end());
}

}  // namespace veil::cbor
