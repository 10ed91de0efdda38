#include "veil/attestation/clock.h"

#include "absl/time/clock.h"

namespace veil::attestation {
namespace {

class AbslClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

std::shared_ptr<const Clock> SystemClock() {
  static const auto* const clock = new std::shared_ptr<const Clock>(std::make_shared<AbslClock>());
  return *clock;
}

}  // namespace veil::attestation
