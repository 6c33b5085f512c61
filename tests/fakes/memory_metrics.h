// In-memory domain::MetricsStore for unit tests: counters add, gauges replace; Read()
// returns the stored series (no outbox depth). FailNext makes calls answer 503.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "domain/ports.h"

namespace phoneverify::fakes {

class MemoryMetricsStore final : public domain::MetricsStore {
 public:
  util::Status Add(const std::vector<domain::MetricDelta>& deltas, int64_t /*now*/) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_next_ > 0) {
      --fail_next_;
      return util::Error::Unavailable();
    }
    for (const auto& d : deltas) values_[d.series] = d.gauge ? d.value : values_[d.series] + d.value;
    ++flushes_;
    return util::Status::Ok();
  }
  util::Result<std::vector<domain::MetricSample>> Read() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_next_ > 0) {
      --fail_next_;
      return util::Error::Unavailable();
    }
    std::vector<domain::MetricSample> out;
    for (const auto& [series, value] : values_) out.push_back({series, value});
    return out;
  }

  void FailNext(int calls) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = calls;
  }
  // The stored value of a series, 0 when absent.
  double Value(const std::string& series) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(series);
    return it == values_.end() ? 0 : it->second;
  }
  int flushes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return flushes_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, double> values_;
  int fail_next_ = 0;
  int flushes_ = 0;
};

}  // namespace phoneverify::fakes
