// SecretBytes: key material and plaintext data keys (STYLE.md C6).
#ifndef VEIL_COMMON_SECRET_BYTES_H_
#define VEIL_COMMON_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/types/span.h"

namespace veil {

// SecureWipe overwrites `len` bytes at `p` with zeros in a way the compiler
// may not elide.
void SecureWipe(void* p, size_t len);

// CleansingAllocator wipes every block before returning it to the heap.
template <typename T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() noexcept = default;
  template <typename U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    SecureWipe(p, n * sizeof(T));
    std::allocator<T>().deallocate(p, n);
  }
  // Default-initialise on resize: bytes a resize adds are about to be
  // overwritten (by a cipher or a copy), so zero-filling them first would
  // only cost time. SecretBytes(n) zero-fills explicitly.
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  template <typename U>
  bool operator==(const CleansingAllocator<U>&) const noexcept { return true; }
};

// SecretBytes holds secret bytes (keys, plaintext data keys, decrypted
// plaintext) in memory that is wiped when it is freed or resized away.
//
// It has no stream operator, no conversion to string and no implicit
// conversion to a byte span: the only way to the raw bytes is Expose(), a name
// that can be audited with grep. Copies are explicit (Clone()).
class SecretBytes {
 public:
  SecretBytes() = default;
  // SecretBytes(n) is n zero bytes.
  explicit SecretBytes(size_t n) : bytes_(n) {
    if (n > 0) std::memset(bytes_.data(), 0, n);
  }
  // Copy copies `data` into a new SecretBytes.
  static SecretBytes Copy(absl::Span<const uint8_t> data) {
    SecretBytes s;
    s.bytes_.assign(data.begin(), data.end());
    return s;
  }

  SecretBytes(SecretBytes&&) noexcept = default;
  SecretBytes& operator=(SecretBytes&&) noexcept = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { Clear(); }

  // Clone returns an independent copy.
  SecretBytes Clone() const { return Copy(Expose()); }

  // Expose returns a view of the secret bytes. Every call site is a place
  // where a secret leaves its wrapper; keep them few.
  absl::Span<const uint8_t> Expose() const { return bytes_; }
  // MutableExpose returns a writable view, for filling a secret in place.
  absl::Span<uint8_t> MutableExpose() { return absl::MakeSpan(bytes_); }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  // Reserve makes room for `n` bytes without reallocating later (every
  // reallocation copies and wipes).
  void Reserve(size_t n) { bytes_.reserve(n); }
  // Resize changes the length; bytes dropped from the end are wiped, bytes
  // added at the end have unspecified values until written.
  void Resize(size_t n) {
    if (n < bytes_.size()) SecureWipe(bytes_.data() + n, bytes_.size() - n);
    bytes_.resize(n);
  }
  // Append adds `data` at the end (growth re-allocates through the wiping
  // allocator, so no copy is left behind).
  void Append(absl::Span<const uint8_t> data) {
    if (data.empty()) return;
    const size_t old = bytes_.size();
    // resize + memcpy: with a custom construct() the standard insert copies
    // byte by byte.
    bytes_.resize(old + data.size());
    std::memcpy(bytes_.data() + old, data.data(), data.size());
  }
  // Clear wipes and empties the buffer.
  void Clear() {
    SecureWipe(bytes_.data(), bytes_.size());
    bytes_.clear();
  }

  // Logging a secret does not compile.
  friend std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

 private:
  std::vector<uint8_t, CleansingAllocator<uint8_t>> bytes_;
};

}  // namespace veil

#endif  // VEIL_COMMON_SECRET_BYTES_H_
