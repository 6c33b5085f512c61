// How the dispatcher reports an outbox storage outage without flooding the log: the first
// failure is logged ("outbox storage failed", with the operation and error), later ones
// at most once per kLogIntervalSeconds with the count suppressed meanwhile, and the first
// success after a failure logs "outbox storage recovered". Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "util/logger.h"
#include "util/status.h"

namespace phoneverify::sms {

class StorageTrouble {
 public:
  static constexpr int64_t kLogIntervalSeconds = 30;

  explicit StorageTrouble(util::Logger& logger) : logger_(logger) {}

  void Failed(const char* operation, const util::Error& error, int64_t now);
  void Ok();
  bool failing() const { return failing_; }

 private:
  util::Logger& logger_;
  bool failing_ = false;
  std::optional<int64_t> last_log_;
  int64_t suppressed_ = 0;
};

}  // namespace phoneverify::sms
