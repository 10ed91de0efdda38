// gtest matchers and macros for absl::Status (Debian 12's abseil has none).
#ifndef VEIL_TESTING_STATUS_MATCHERS_H_
#define VEIL_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "veil/common/status_macros.h"

namespace veil::testing {

// IsOk matches an OK Status or StatusOr.
MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::veil::internal::AsStatus(arg);
  if (!s.ok()) *result_listener << "status: " << s;
  return s.ok();
}

// StatusIs matches a Status or StatusOr with the given code.
MATCHER_P(StatusIs, code, "has code " + std::string(absl::StatusCodeToString(code))) {
  const absl::Status& s = ::veil::internal::AsStatus(arg);
  *result_listener << "status: " << s;
  return s.code() == code;
}

}  // namespace veil::testing

// VEIL_ASSERT_OK_AND_ASSIGN(lhs, expr) asserts `expr` is OK and assigns its
// value.
#define VEIL_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  VEIL_INTERNAL_ASSERT_OK_AND_ASSIGN(VEIL_INTERNAL_CONCAT(veil_test_so_, __LINE__), lhs, expr)
#define VEIL_INTERNAL_ASSERT_OK_AND_ASSIGN(tmp, lhs, expr) \
  auto tmp = (expr);                                       \
  ASSERT_TRUE(tmp.ok()) << tmp.status();                   \
  lhs = std::move(tmp).value()

#define VEIL_ASSERT_OK(expr) ASSERT_THAT((expr), ::veil::testing::IsOk())
#define VEIL_EXPECT_OK(expr) EXPECT_THAT((expr), ::veil::testing::IsOk())

#endif  // VEIL_TESTING_STATUS_MATCHERS_H_
