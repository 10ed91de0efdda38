// How `veil` reports errors: usage errors versus everything else, and the
// single Status -> exit code mapping (STYLE.md C4, C15).
#ifndef VEIL_CLIENT_CLI_CLI_STATUS_H_
#define VEIL_CLIENT_CLI_CLI_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace veil::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// UsageError returns an InvalidArgument status marked as a command-line
// usage error (bad flag, bad flag value, conflicting flags): exit code 2.
absl::Status UsageError(absl::string_view message);
// IsUsageError says whether `status` came from UsageError.
bool IsUsageError(const absl::Status& status);

// ExitCode maps a status to the process exit code: 0 for OK, kExitUsage for
// usage errors, kExitFailure for everything else. The only such mapping.
int ExitCode(const absl::Status& status);

// ErrorLine formats a failed status as the single stderr line
// "veil: <message>" (line breaks inside the message become "; ").
std::string ErrorLine(const absl::Status& status);

}  // namespace veil::client

#endif  // VEIL_CLIENT_CLI_CLI_STATUS_H_
