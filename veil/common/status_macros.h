// Status propagation macros (Debian 12's abseil predates absl/log and the
// status matchers, so Veil carries its own, modelled on Asylo's).
#ifndef VEIL_COMMON_STATUS_MACROS_H_
#define VEIL_COMMON_STATUS_MACROS_H_

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define VEIL_INTERNAL_CONCAT_(a, b) a##b
#define VEIL_INTERNAL_CONCAT(a, b) VEIL_INTERNAL_CONCAT_(a, b)

// VEIL_RETURN_IF_ERROR evaluates `expr` (a Status or StatusOr) and returns its
// status from the enclosing function when it is not OK.
#define VEIL_RETURN_IF_ERROR(expr)                          \
  do {                                                      \
    const ::absl::Status veil_status_ = ::veil::internal::AsStatus(expr); \
    if (!veil_status_.ok()) return veil_status_;            \
  } while (0)

// VEIL_ASSIGN_OR_RETURN(lhs, expr) evaluates the StatusOr `expr`; on error it
// returns the status, otherwise it move-assigns the value to `lhs` (which may
// be a declaration such as `auto x`).
#define VEIL_ASSIGN_OR_RETURN(lhs, expr) \
  VEIL_INTERNAL_ASSIGN_OR_RETURN(VEIL_INTERNAL_CONCAT(veil_statusor_, __LINE__), lhs, expr)

#define VEIL_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

// VEIL_CHECK is an always-on check, also in release builds. It never hides a
// side effect the way a debug-only assert does (STYLE.md A1): use it for
// invariants whose violation means memory-safety is at stake.
#define VEIL_CHECK(cond)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: VEIL_CHECK failed: %s\n", __FILE__,       \
                   __LINE__, #cond);                                         \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

namespace veil::internal {
inline const absl::Status& AsStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace veil::internal

#endif  // VEIL_COMMON_STATUS_MACROS_H_
