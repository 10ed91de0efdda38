// CBOR (RFC 8949): a strict, bounded decoder for untrusted bytes and a
// minimal-length encoder. Enough for COSE_Sign1, Nitro attestation documents,
// the NSM request/response protocol and the enclave<->host channel
// (veil/wire); built on ByteReader (STYLE.md C7). No crypto: the host links it.
#ifndef VEIL_COMMON_CBOR_H_
#define VEIL_COMMON_CBOR_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace veil::cbor {

// Value is one decoded data item. Byte and text strings are views into the
// decoded input, which must outlive the Value. `encoded` is the exact input
// bytes of this item (signatures are checked over bytes as received, never
// re-encoded).
struct Value {
  enum class Type { kUnsigned, kNegative, kBytes, kText, kArray, kMap, kTag, kBool, kNull,
                    kUndefined, kFloat };
  // The special members are defined in cbor.cc, where Value is complete:
  // `map` holds pairs of Value, which must not be instantiated in-class.
  Value();
  ~Value();
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;

  Type type = Type::kNull;
  // kUnsigned: the value. kNegative: the encoded argument n (value = -1 - n).
  // kTag: the tag number. kFloat: the raw IEEE bits (16, 32 or 64 wide).
  uint64_t uint = 0;
  bool boolean = false;                  // kBool
  absl::Span<const uint8_t> bytes;       // kBytes, kText (UTF-8 checked)
  std::vector<Value> items;              // kArray elements; kTag: exactly one
  std::vector<std::pair<Value, Value>> map;  // kMap entries in encoded order
  absl::Span<const uint8_t> encoded;

  bool is_null() const { return type == Type::kNull; }
  std::string_view text() const {
    return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  // Find returns the value of the map entry whose key is the text `key`, or
  // nullptr (also when this is not a map).
  const Value* Find(std::string_view key) const;
  // AsInt returns the value of a kUnsigned or kNegative item if it fits int64.
  std::optional<int64_t> AsInt() const;
};

// Limits bound the work done on untrusted input.
struct Limits {
  size_t max_depth = 16;        // nesting of arrays, maps and tags
  size_t max_items = 4096;      // data items in total
  size_t max_input = 1 << 20;   // bytes
};

// Decode decodes exactly one data item spanning all of `data`. Accepts
// definite and indefinite lengths (indefinite byte/text strings are refused:
// nothing Veil reads uses them, and their chunks cannot be viewed as one
// span). Rejects (InvalidArgument, message names the problem and offset):
// truncation, trailing bytes, reserved additional-info values, invalid UTF-8
// in text, a "break" outside an indefinite container, duplicate map keys
// (compared by encoded bytes), and anything over `limits`. Does not require
// canonical (preferred) encoding on input.
absl::StatusOr<Value> Decode(absl::Span<const uint8_t> data, const Limits& limits = Limits());

// Writer produces definite-length, minimal-header CBOR.
class Writer {
 public:
  void Unsigned(uint64_t v);
  // Int writes v as an unsigned or negative integer.
  void Int(int64_t v);
  void Bytes(absl::Span<const uint8_t> b);
  void Text(std::string_view s);
  void ArrayHeader(uint64_t count);
  void MapHeader(uint64_t count);
  void Tag(uint64_t tag);
  void Bool(bool b);
  void Null();
  // Raw appends already-encoded CBOR (e.g. a payload kept byte-exact).
  void Raw(absl::Span<const uint8_t> encoded);
  // Reserve makes room for `n` more bytes, so that a writer that knows its
  // output size up front never reallocates: each reallocation copies what
  // was written and frees the old block unwiped, which matters when the
  // output holds a secret (veil/wire's credentials request).
  void Reserve(size_t n) { out_.reserve(out_.size() + n); }

  const std::vector<uint8_t>& bytes() const { return out_; }
  std::vector<uint8_t> Release() { return std::move(out_); }

 private:
  void Head(uint8_t major, uint64_t arg);
  std::vector<uint8_t> out_;
};

}  // namespace veil::cbor

#endif  // VEIL_COMMON_CBOR_H_
