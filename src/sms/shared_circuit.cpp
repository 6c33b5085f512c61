#include "sms/shared_circuit.h"

namespace phoneverify::sms {

using State = CircuitBreaker::State;

SharedCircuit::Pass SharedCircuit::Admit(int64_t now_ms, int batch_size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!breaker_.Allows(now_ms)) return {0, epoch_, false};
  if (breaker_.state() == State::kHalfOpen) {
    if (probe_out_) return {0, epoch_, false};
    probe_out_ = true;
    return {1, epoch_, true};
  }
  return {batch_size < 1 ? 1 : batch_size, epoch_, false};
}

bool SharedCircuit::StillAllows(const Pass& pass) {
  std::lock_guard<std::mutex> lock(mu_);
  return Current(pass) && breaker_.state() == State::kClosed;
}

SharedCircuit::Change SharedCircuit::OnSuccess(const Pass& pass) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Current(pass)) return Change::kNone;
  // Half-open: only the probe's answer counts.
  if (breaker_.state() != State::kClosed && !pass.probe) return Change::kNone;
  if (pass.probe) probe_out_ = false;
  return breaker_.OnSuccess() ? Change::kClosed : Change::kNone;
}

SharedCircuit::Change SharedCircuit::OnTransientFailure(const Pass& pass, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Current(pass)) return Change::kNone;
  if (breaker_.state() != State::kClosed && !pass.probe) return Change::kNone;
  if (!breaker_.OnTransientFailure(now_ms)) return Change::kNone;
  Opened();
  return Change::kOpened;
}

SharedCircuit::Change SharedCircuit::Pause(int64_t now_ms, int64_t pause_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool was_paused = breaker_.paused() && breaker_.state() == State::kOpen;
  breaker_.Pause(now_ms, pause_ms);
  Opened();
  return was_paused ? Change::kNone : Change::kPaused;
}

bool SharedCircuit::EndPause(int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  return breaker_.EndPause(now_ms);
}

void SharedCircuit::EndPass(const Pass& pass) {
  std::lock_guard<std::mutex> lock(mu_);
  if (pass.probe && Current(pass) && breaker_.state() == State::kHalfOpen) probe_out_ = false;
}

SharedCircuit::Snapshot SharedCircuit::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {breaker_.state(), breaker_.paused(), breaker_.consecutive_failures(),
          breaker_.open_until_ms()};
}

void SharedCircuit::Opened() {
  ++epoch_;
  probe_out_ = false;
}

}  // namespace phoneverify::sms
