// How the dispatcher reports a storage outage without flooding the log: the first
// failure is logged ("<subject> storage failed", with the operation and error), later ones
// at most once per kLogIntervalSeconds with the count suppressed meanwhile, and the first
// success after a failure logs "<subject> storage recovered". `subject` is "outbox" for
// the SMS loop, "webhook" for the webhook deliverer. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "util/logger.h"
#include "util/status.h"

namespace phoneverify::sms {

class StorageTrouble {
 public:
  static constexpr int64_t kLogIntervalSeconds = 30;

  // `subject`: a string constant (not copied).
  explicit StorageTrouble(util::Logger& logger, const char* subject = "outbox")
      : logger_(logger), subject_(subject) {}

  void Failed(const char* operation, const util::Error& error, int64_t now);
  void Ok();
  bool failing() const { return failing_; }

 private:
  util::Logger& logger_;
  const char* subject_;
  bool failing_ = false;
  std::optional<int64_t> last_log_;
  int64_t suppressed_ = 0;
};

}  // namespace phoneverify::sms
