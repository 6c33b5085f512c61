// When the FastCGI master starts the next worker after one died: at once after a worker
// that had lived (kQuickDeathMs or more), else after a backoff that doubles with each
// death in a row at start-up (kFirstBackoffMs up to kMaxBackoffMs), so a worker that
// cannot start (a broken configuration, a missing library) does not spin the machine.
// Pure: the caller passes the times, so the policy is tested on fake time.
#pragma once

#include <algorithm>
#include <cstdint>

namespace phoneverify::fcgi {

class RespawnBackoff {
 public:
  static constexpr int64_t kQuickDeathMs = 1000;
  static constexpr int64_t kFirstBackoffMs = 250;
  static constexpr int64_t kMaxBackoffMs = 10'000;

  // A worker of age `lived_ms` died at `now_ms`: returns the backoff it earns (0: none).
  int64_t OnDeath(int64_t lived_ms, int64_t now_ms) {
    if (lived_ms >= kQuickDeathMs) {
      Reset();
      return 0;
    }
    ++quick_deaths_;
    const int64_t backoff =
        std::min(kFirstBackoffMs << std::min(quick_deaths_ - 1, 6), kMaxBackoffMs);
    next_spawn_ms_ = now_ms + backoff;
    return backoff;
  }
  // A fork that failed: try again after the first backoff.
  void OnForkFailure(int64_t now_ms) { next_spawn_ms_ = now_ms + kFirstBackoffMs; }
  // A new generation (reload) starts with a clean record.
  void Reset() {
    quick_deaths_ = 0;
    next_spawn_ms_ = 0;
  }

  bool MaySpawn(int64_t now_ms) const { return now_ms >= next_spawn_ms_; }
  // Milliseconds until a spawn may happen (0 when it may now).
  int64_t WaitMs(int64_t now_ms) const { return std::max<int64_t>(0, next_spawn_ms_ - now_ms); }
  bool Waiting() const { return next_spawn_ms_ > 0; }

 private:
  int quick_deaths_ = 0;
  int64_t next_spawn_ms_ = 0;
};

}  // namespace phoneverify::fcgi
