#include "sms/storage_trouble.h"

#include <json/value.h>

#include <string>

namespace phoneverify::sms {

void StorageTrouble::Failed(const char* operation, const util::Error& error, int64_t now) {
  failing_ = true;
  if (last_log_ && now - *last_log_ < kLogIntervalSeconds) {
    ++suppressed_;
    return;
  }
  Json::Value fields(Json::objectValue);
  fields["operation"] = operation;
  fields["error"] = error.details;
  fields["suppressed"] = static_cast<Json::Int64>(suppressed_);
  logger_.Error(std::string(subject_) + " storage failed", fields);
  last_log_ = now;
  suppressed_ = 0;
}

void StorageTrouble::Ok() {
  if (!failing_) return;
  failing_ = false;
  Json::Value fields(Json::objectValue);
  fields["suppressed"] = static_cast<Json::Int64>(suppressed_);
  logger_.Info(std::string(subject_) + " storage recovered", fields);
  last_log_.reset();
  suppressed_ = 0;
}

}  // namespace phoneverify::sms
