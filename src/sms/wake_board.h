// Where the dispatcher's idle lanes (threads, each running its own sms::Dispatcher) wait
// for work. Post(n) lets up to n waiting lanes go, so a burst of k new messages wakes
// about k lanes rather than all of them (each woken lane runs a claim); Stop() releases
// every lane at once. Tokens not taken yet are kept (up to `lanes`), so a wake-up posted
// while all lanes are busy is not lost. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace phoneverify::sms {

class WakeBoard {
 public:
  explicit WakeBoard(int lanes) : lanes_(lanes < 1 ? 1 : lanes) {}

  void Post(int n);
  void Stop();
  // Returns after a Post meant for this lane, a Stop, or `max_ms`: false when `max_ms`
  // ran out. `stop` is checked on entry and at each wake-up; whoever sets it must call
  // Stop() to end waits early.
  bool Wait(int max_ms, const std::atomic<bool>& stop);

 private:
  const int lanes_;
  std::mutex mu_;
  std::condition_variable cv_;
  int tokens_ = 0;
  bool stopped_ = false;
};

}  // namespace phoneverify::sms
