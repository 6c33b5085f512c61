#include "sms/circuit_breaker.h"

#include <algorithm>

namespace phoneverify::sms {

bool CircuitBreaker::Allows(int64_t now_ms) {
  switch (state_) {
    case State::kClosed:
    case State::kHalfOpen:
      return true;
    case State::kOpen:
      if (now_ms < open_until_ms_) return false;
      state_ = State::kHalfOpen;
      return true;
  }
  return true;
}

bool CircuitBreaker::OnSuccess() {
  failures_ = 0;
  const bool changed = state_ != State::kClosed;
  state_ = State::kClosed;
  paused_ = false;
  last_open_ms_ = 0;
  return changed;
}

bool CircuitBreaker::OnTransientFailure(int64_t now_ms) {
  ++failures_;
  if (state_ == State::kHalfOpen) {
    // The probe failed: wait longer before the next one, up to a cap.
    const int64_t longer = last_open_ms_ > 0 ? last_open_ms_ * 2 : cooloff_ms_;
    Open(now_ms, std::min(longer, cooloff_ms_ * kMaxCooloffFactor));
    return true;
  }
  if (state_ == State::kClosed && threshold_ > 0 && failures_ >= threshold_) {
    Open(now_ms, cooloff_ms_);
    return true;
  }
  return false;
}

void CircuitBreaker::Pause(int64_t now_ms, int64_t pause_ms) {
  Open(now_ms, std::max<int64_t>(1, pause_ms));
  paused_ = true;
}

bool CircuitBreaker::EndPause(int64_t now_ms) {
  if (!paused_ || state_ != State::kOpen) return false;
  open_until_ms_ = std::min(open_until_ms_, now_ms);
  return true;
}

void CircuitBreaker::Open(int64_t now_ms, int64_t for_ms) {
  state_ = State::kOpen;
  paused_ = false;
  open_until_ms_ = now_ms + for_ms;
  last_open_ms_ = for_ms;
}

const char* StateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half-open";
  }
  return "unknown";
}

}  // namespace phoneverify::sms
