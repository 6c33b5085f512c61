// Clock behind an interface so expiry, cooldowns and windows are tested without sleeping.
#pragma once

#include <cstdint>

namespace phoneverify::util {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock Unix time in whole seconds (stored in the database, shared by all hosts).
  virtual int64_t NowSeconds() const = 0;
  // Monotonic milliseconds, for measuring durations only.
  virtual int64_t MonotonicMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override;
  int64_t MonotonicMillis() const override;
};

// Test clock: time moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now = 1'700'000'000) : now_(now) {}
  int64_t NowSeconds() const override { return now_; }
  int64_t MonotonicMillis() const override { return now_ * 1000; }
  void Advance(int64_t seconds) { now_ += seconds; }
  void Set(int64_t now) { now_ = now; }

 private:
  int64_t now_;
};

}  // namespace phoneverify::util
