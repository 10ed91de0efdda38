#include "veil/client/cli/cli_status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace veil::client {
namespace {

// A payload (not the code) marks usage errors: InvalidArgument also means a
// malformed message, which is not the user's command line.
constexpr char kUsagePayload[] = "veil.client/usage-error";

}  // namespace

absl::Status UsageError(absl::string_view message) {
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

bool IsUsageError(const absl::Status& status) {
  return status.GetPayload(kUsagePayload).has_value();
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (IsUsageError(status)) return kExitUsage;
  return kExitFailure;
}

std::string ErrorLine(const absl::Status& status) {
  std::string message(status.message());
  if (message.empty()) message = std::string(absl::StatusCodeToString(status.code()));
  return absl::StrCat("veil: ",
                      absl::StrReplaceAll(message, {{"\r\n", "; "}, {"\n", "; "}, {"\r", "; "}}));
}

}  // namespace veil::client
