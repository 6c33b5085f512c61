// While the Sparrow backend is paused for lack of credit (1012/1013), asks the
// gateway every `poll_ms` whether credit is back and ends the pause as soon as it is,
// instead of waiting out sms_credit_pause blind (contract section 6). No SMS is sent to
// ask. Times are monotonic milliseconds from the caller, so the schedule is tested on
// fake time. Not thread-safe: one per dispatcher process, run by its supervising thread.
#pragma once

#include <cstdint>
#include <functional>

#include "sms/shared_circuit.h"

namespace phoneverify::sms {

class CreditWatch {
 public:
  // True when the gateway says the account has credit again (any failure: false).
  using HasCredit = std::function<bool()>;

  CreditWatch(SharedCircuit& circuit, HasCredit has_credit, int64_t poll_ms)
      : circuit_(circuit),
        has_credit_(std::move(has_credit)),
        poll_ms_(poll_ms < 1 ? 1 : poll_ms) {}

  // While sending is paused for credit: asks on the first Tick that sees the pause, then
  // once every `poll_ms`. True when this call ended the pause.
  bool Tick(int64_t now_ms);
  // Milliseconds until the next Tick may ask (for the caller's sleep).
  int64_t WaitMs(int64_t now_ms) const;

 private:
  SharedCircuit& circuit_;
  HasCredit has_credit_;
  int64_t poll_ms_;
  int64_t next_ask_ms_ = -1;  // -1: not paused when last seen
};

}  // namespace phoneverify::sms
