// Clock: the time seam of attestation verification. Real documents carry
// certificates valid for about three hours, so tests (and audits of old
// documents) verify at a chosen time instead of the wall clock.
#ifndef VEIL_ATTESTATION_CLOCK_H_
#define VEIL_ATTESTATION_CLOCK_H_

#include <memory>

#include "absl/time/time.h"

namespace veil::attestation {

// Clock returns the current time. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// SystemClock returns a shared clock that reads absl::Now().
std::shared_ptr<const Clock> SystemClock();

// FixedClock always returns the time it was built with (tests, and
// verifying an archived document at a recorded time).
class FixedClock final : public Clock {
 public:
  explicit FixedClock(absl::Time now) : now_(now) {}
  absl::Time Now() const override { return now_; }

 private:
  const absl::Time now_;
};

}  // namespace veil::attestation

#endif  // VEIL_ATTESTATION_CLOCK_H_
