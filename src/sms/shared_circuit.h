// One backend's circuit breaker and credit pause, used by the dispatcher's loop (passes,
// answers) and by its supervising thread (the credit watch ends a pause): an open
// circuit or a pause sends that backend nothing, and while half-open exactly one message
// (the probe) goes to it. Wraps CircuitBreaker (the state machine) with a mutex and
// "passes":
//
//   Admit(now, batch)  before a claim (or a failover): how many messages this backend may
//                      take now (0: the circuit is open, or half-open with the probe
//                      already out); the first pass that finds it half-open gets the probe
//                      (limit 1).
//   StillAllows(pass)  before each further send of the batch: false once the circuit
//                      opened after the pass was given (or it is not closed).
//   OnSuccess / OnTransientFailure(pass)  what the gateway answered a send of that pass.
//   Pause(now, ms)     a whole-gateway failure: nothing for `ms`, then one probe.
//   EndPass(pass)      when the pass's messages are done: gives a probe that never reached
//                      the gateway (nothing was due, the message expired) back.
//
// Every opening starts a new epoch; an answer to a send admitted in an earlier epoch (it
// was in flight when another answer opened the circuit) changes nothing: a late success
// does not close an open circuit or end a credit pause, and late failures do not count
// twice. Only the probe's answer ends an opening.
//
// Times are monotonic milliseconds from the caller (tests inject them). Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <ostream>

#include "sms/circuit_breaker.h"

namespace phoneverify::sms {

class SharedCircuit {
 public:
  struct Pass {
    int limit = 0;       // messages the lane may claim (0: none)
    uint64_t epoch = 0;  // the opening it was admitted in
    bool probe = false;  // the one send allowed while half-open
  };
  // What an answer changed, for the lane to log and count (once per change).
  enum class Change { kNone, kOpened, kPaused, kClosed };

  SharedCircuit(int failure_threshold, int64_t cooloff_ms) : breaker_(failure_threshold, cooloff_ms) {}
  SharedCircuit(const SharedCircuit&) = delete;
  SharedCircuit& operator=(const SharedCircuit&) = delete;

  Pass Admit(int64_t now_ms, int batch_size);
  bool StillAllows(const Pass& pass);
  Change OnSuccess(const Pass& pass);
  Change OnTransientFailure(const Pass& pass, int64_t now_ms);
  // kPaused, or kNone when the sending was already paused (the pause is extended).
  Change Pause(int64_t now_ms, int64_t pause_ms);
  // Credit is back: a credit pause ends now (one lane sends the probe, as after any
  // pause). False when sending was not paused for credit.
  bool EndPause(int64_t now_ms);
  void EndPass(const Pass& pass);

  struct Snapshot {
    CircuitBreaker::State state = CircuitBreaker::State::kClosed;
    bool paused = false;
    int consecutive_failures = 0;
    int64_t open_until_ms = 0;
  };
  Snapshot snapshot() const;
  CircuitBreaker::State state() const { return snapshot().state; }
  bool paused() const { return snapshot().paused; }

 private:
  bool Current(const Pass& pass) const { return pass.epoch == epoch_; }  // with mu_ held
  void Opened();                                                         // with mu_ held

  mutable std::mutex mu_;
  CircuitBreaker breaker_;
  uint64_t epoch_ = 0;
  bool probe_out_ = false;  // a lane holds the half-open probe
};

inline std::ostream& operator<<(std::ostream& out, SharedCircuit::Change change) {
  static constexpr const char* kNames[] = {"none", "opened", "paused", "closed"};
  return out << kNames[static_cast<int>(change)];
}

}  // namespace phoneverify::sms
