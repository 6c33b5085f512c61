#include "sms/credit_watch.h"

#include <algorithm>

namespace phoneverify::sms {

bool CreditWatch::Tick(int64_t now_ms) {
  const SharedCircuit::Snapshot circuit = circuit_.snapshot();
  const bool paused = circuit.paused && circuit.state == CircuitBreaker::State::kOpen;
  if (!paused) {
    next_ask_ms_ = -1;
    return false;
  }
  if (next_ask_ms_ < 0) next_ask_ms_ = now_ms;  // the pause is new to the watch: ask now
  if (now_ms < next_ask_ms_) return false;
  next_ask_ms_ = now_ms + poll_ms_;
  return has_credit_() && circuit_.EndPause(now_ms);
}

int64_t CreditWatch::WaitMs(int64_t now_ms) const {
  if (next_ask_ms_ < 0) return poll_ms_;
  return std::max<int64_t>(0, next_ask_ms_ - now_ms);
}

}  // namespace phoneverify::sms
