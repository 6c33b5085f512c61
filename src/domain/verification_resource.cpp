#include "domain/verification_resource.h"

#include <algorithm>
#include <array>
#include <ctime>

#include "domain/phone_number.h"
#include "domain/verification_service.h"
#include "util/json_text.h"

namespace phoneverify::domain {
namespace {

constexpr std::array<const char*, 6> kStatusNames = {
    "pending", "approved", "canceled", "expired", "max_attempts_reached", "failed"};

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "queued" until the gateway accepted it or gave up on it.
const char* DeliveryName(const std::string& state) {
  if (state == "sent") return "sent";
  if (state == "failed") return "failed";
  return "queued";
}

Json::Value DeliveryError(const VerificationRecord& record) {
  if (record.delivery_error.empty()) return Json::Value();
  if (record.delivery_state == "failed") return kDeliveryFailedText;
  if (record.delivery_state == "retry") return kDeliveryRetryingText;
  return Json::Value();
}

}  // namespace

const char* StatusName(VerificationStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

std::optional<VerificationStatus> StatusFromName(std::string_view name) {
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (name == kStatusNames[i]) return static_cast<VerificationStatus>(i);
  }
  return std::nullopt;
}

bool LooksLikeVerificationId(std::string_view text) {
  const std::string_view prefix = kVerificationIdPrefix;
  if (text.size() != prefix.size() + 32 || text.substr(0, prefix.size()) != prefix) return false;
  return std::all_of(text.begin() + prefix.size(), text.end(), IsHex);
}

VerificationStatus EffectiveStatus(const VerificationRecord& record, int64_t now) {
  if (record.status != VerificationStatus::kPending) return record.status;
  // The outbox gives up at expires_at with "expired": that is expiry, not failure.
  if (record.delivery_state == "failed" && record.delivery_error != "expired") {
    return VerificationStatus::kFailed;
  }
  if (now >= record.expires_at) return VerificationStatus::kExpired;
  return VerificationStatus::kPending;
}

Json::Value VerificationObject(const VerificationRecord& record,
                               const VerificationFigures& figures, int64_t now) {
  const VerificationStatus status = EffectiveStatus(record, now);
  const bool pending = status == VerificationStatus::kPending;
  Json::Value o(Json::objectValue);
  o["id"] = record.public_id;
  o["status"] = StatusName(status);
  o["phone"] = record.phone;
  o["operator"] = OperatorOf(record.phone);
  o["reference"] = record.reference ? Json::Value(*record.reference) : Json::Value();
  o["lang"] = LanguageCode(record.lang);
  o["created_at"] = Rfc3339(record.created_at);
  o["expires_at"] = Rfc3339(record.expires_at);
  o["expires_in"] = Json::Int64(pending ? std::max<int64_t>(0, record.expires_at - now) : 0);
  o["attempts_left"] =
      record.max_attempts > 0
          ? Json::Value(std::max(0, record.max_attempts - record.attempts_used))
          : Json::Value();
  o["resend_in"] = Json::Int64(pending ? figures.resend_in : 0);
  o["sends_left"] = figures.sends_left ? Json::Value(Json::Int64(*figures.sends_left))
                                       : Json::Value();
  o["delivery"] = DeliveryName(record.delivery_state);
  o["delivery_error"] = DeliveryError(record);
  return o;
}

std::string Rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const char* EventForStatus(VerificationStatus status) {
  switch (status) {
    case VerificationStatus::kApproved:
      return kEventApproved;
    case VerificationStatus::kCanceled:
      return kEventCanceled;
    case VerificationStatus::kExpired:
      return kEventExpired;
    case VerificationStatus::kMaxAttemptsReached:
      return kEventMaxAttempts;
    case VerificationStatus::kFailed:
      return kEventFailed;
    case VerificationStatus::kPending:
      break;
  }
  return "";
}

std::string EventBody(std::string_view type, int64_t at, const Json::Value& object) {
  Json::Value body(Json::objectValue);
  body["type"] = std::string(type);
  body["timestamp"] = Rfc3339(at);
  body["data"] = object;
  return util::ToJson(body);
}

}  // namespace phoneverify::domain
