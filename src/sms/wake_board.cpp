#include "sms/wake_board.h"

#include <algorithm>
#include <chrono>

namespace phoneverify::sms {

void WakeBoard::Post(int n) {
  if (n <= 0) return;
  int wake = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int before = tokens_;
    tokens_ = std::min(lanes_, tokens_ + n);
    wake = tokens_ - before;
  }
  for (int i = 0; i < wake; ++i) cv_.notify_one();
}

void WakeBoard::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool WakeBoard::Wait(int max_ms, const std::atomic<bool>& stop) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  std::unique_lock<std::mutex> lock(mu_);
  // No periodic wake-ups: an idle dispatcher costs nothing until a post, a stop or the
  // deadline.
  const bool woken =
      cv_.wait_until(lock, deadline, [&] { return stopped_ || stop.load() || tokens_ > 0; });
  if (woken && tokens_ > 0 && !stopped_) --tokens_;
  return woken;
}

}  // namespace phoneverify::sms
