// Where idle threads wait for work: the dispatcher's loop waits here when nothing is in
// flight (one waiter), until the main thread posts a wake-up for new messages. Post(n)
// lets up to n waiters go; Stop() releases every waiter at once. Tokens not taken yet are
// kept (up to `lanes`, the number of waiters), so a wake-up posted while the waiters are
// busy is not lost. Thread-safe.
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
