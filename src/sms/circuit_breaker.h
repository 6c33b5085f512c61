// A circuit breaker in front of the SMS gateway, so a failing gateway is not hammered.
//
//   closed     every send allowed; `failure_threshold` consecutive transient failures
//              (timeouts, connection errors, 5xx) open the circuit for `cooloff_ms`.
//   open       no send allowed until the cool-off has passed; then half-open.
//   half-open  one probe send allowed: a success closes the circuit, a transient
//              failure opens it again for twice the previous cool-off (at most
//              kMaxCooloffFactor times `cooloff_ms`).
// Pause(until) opens the circuit for a reason of its own (the gateway account has no
// credits); it ends the same way, with one probe.
// Any answer from the gateway that is not a transient failure (delivered, or a permanent
// refusal of that one message) proves the gateway works and resets the failure count.
//
// Times are monotonic milliseconds supplied by the caller. failure_threshold <= 0
// switches the breaker off (Pause still works). Not thread-safe: one per dispatcher.
#pragma once

#include <cstdint>
#include <ostream>

namespace phoneverify::sms {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  static constexpr int kMaxCooloffFactor = 8;

  CircuitBreaker(int failure_threshold, int64_t cooloff_ms)
      : threshold_(failure_threshold), cooloff_ms_(cooloff_ms < 1 ? 1 : cooloff_ms) {}

  // True when a send may go out now (moves open -> half-open once the cool-off passed).
  bool Allows(int64_t now_ms);
  // At most this many sends per dispatcher pass (1 while half-open).
  int BatchLimit(int batch_size) const { return state_ == State::kHalfOpen ? 1 : batch_size; }

  // What the gateway answered. Each returns true when it changed the state (to log it).
  bool OnSuccess();
  bool OnTransientFailure(int64_t now_ms);
  void Pause(int64_t now_ms, int64_t pause_ms);
  // Ends a Pause early (credit is back): the next Allows gives the probe. False when the
  // circuit was not paused (an opening by failures keeps its cool-off).
  bool EndPause(int64_t now_ms);

  State state() const { return state_; }
  bool paused() const { return paused_; }
  int64_t open_until_ms() const { return open_until_ms_; }
  int consecutive_failures() const { return failures_; }

 private:
  void Open(int64_t now_ms, int64_t for_ms);

  int threshold_;
  int64_t cooloff_ms_;
  State state_ = State::kClosed;
  bool paused_ = false;  // opened by Pause rather than by failures
  int failures_ = 0;
  int64_t open_until_ms_ = 0;
  int64_t last_open_ms_ = 0;  // length of the latest opening
};

const char* StateName(CircuitBreaker::State state);
inline std::ostream& operator<<(std::ostream& out, CircuitBreaker::State state) {
  return out << StateName(state);
}

}  // namespace phoneverify::sms
