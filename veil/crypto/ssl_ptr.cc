#include "veil/crypto/ssl_ptr.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace veil::crypto {
namespace {

// At most this many queue entries are quoted; the rest are only counted, so a
// pathological queue cannot make an unbounded message.
constexpr int kMaxQuotedErrors = 8;

}  // namespace

absl::Status SslError(absl::StatusCode code, std::string_view what) {
  std::string message(what);
  int count = 0;
  const char* data = nullptr;
  int flags = 0;
  for (unsigned long err = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags); err != 0;
       err = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (count++ >= kMaxQuotedErrors) continue;
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&message, count == 1 ? ": " : "; ", buf);
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      absl::StrAppend(&message, " (", data, ")");
    }
  }
  if (count > kMaxQuotedErrors) {
    absl::StrAppend(&message, "; and ", count - kMaxQuotedErrors, " more");
  }
  return absl::Status(code, message);
}

}  // namespace veil::crypto
