// A Transport on fake time for unit tests of the dispatcher's event loop. Each call
// finishes `latency_ms` after it started, with the answer the test scripted for its turn
// (`default_answer` once the script is used up). Time moves only inside Wait: when
// nothing is due yet, Wait advances the clock to the next call's end (at most `max_ms`).
// Calls to a URL in `routes` get that route's latency and answer instead (e.g. an endpoint
// that hangs until the timeout while others answer at once).
// Records every call and the most calls ever in flight at once. Single-threaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sms/transport.h"
#include "util/clock.h"

namespace phoneverify::fakes {

// A clock in milliseconds (util::FakeClock moves in whole seconds).
class MillisClock final : public util::Clock {
 public:
  explicit MillisClock(int64_t now_seconds = 1'700'000'000) : ms_(now_seconds * 1000) {}
  int64_t NowSeconds() const override { return ms_ / 1000; }
  int64_t MonotonicMillis() const override { return ms_; }
  void AdvanceMs(int64_t ms) { ms_ += ms; }

 private:
  int64_t ms_;
};

class FakeTransport final : public sms::Transport {
 public:
  FakeTransport(MillisClock& clock, int64_t latency_ms) : clock_(clock), latency_ms_(latency_ms) {}

  void Push(sms::HttpAnswer answer) { script_.push_back(std::move(answer)); }

  struct Route {
    int64_t latency_ms = 0;
    sms::HttpAnswer answer;
  };

  void Start(uint64_t tag, sms::HttpCall call) override {
    if (const auto route = routes.find(call.url); route != routes.end()) {
      pending_.push_back(
          {tag, clock_.MonotonicMillis() + route->second.latency_ms, route->second.answer});
      calls.push_back(std::move(call));
      most_in_flight = std::max(most_in_flight, pending_.size());
      return;
    }
    sms::HttpAnswer answer = default_answer;
    if (!script_.empty()) {
      answer = std::move(script_.front());
      script_.pop_front();
    }
    calls.push_back(std::move(call));
    pending_.push_back({tag, clock_.MonotonicMillis() + latency_ms_, std::move(answer)});
    most_in_flight = std::max(most_in_flight, pending_.size());
  }

  std::vector<Finished> Wait(int max_ms) override {
    ++waits;
    if (!pending_.empty() && max_ms > 0) {
      int64_t next = pending_.front().due_ms;
      for (const auto& p : pending_) next = std::min(next, p.due_ms);
      const int64_t until = std::min(next, clock_.MonotonicMillis() + max_ms);
      if (until > clock_.MonotonicMillis()) clock_.AdvanceMs(until - clock_.MonotonicMillis());
    }
    std::vector<Finished> done;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->due_ms > clock_.MonotonicMillis()) {
        ++it;
        continue;
      }
      done.push_back({it->tag, std::move(it->answer)});
      it = pending_.erase(it);
    }
    return done;
  }

  size_t in_flight() const override { return pending_.size(); }
  void Wake() override { ++wakes; }

  sms::HttpAnswer default_answer{0, 200, ""};
  std::map<std::string, Route> routes;  // by URL
  std::vector<sms::HttpCall> calls;
  size_t most_in_flight = 0;
  int waits = 0;
  int wakes = 0;

 private:
  struct Pending {
    uint64_t tag;
    int64_t due_ms;
    sms::HttpAnswer answer;
  };
  MillisClock& clock_;
  int64_t latency_ms_;
  std::deque<sms::HttpAnswer> script_;
  std::vector<Pending> pending_;
};

}  // namespace phoneverify::fakes
