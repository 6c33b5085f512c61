// The verification resource of the API for backends (contract section 7): its record,
// its status machine as an observer sees it, and its JSON object, which is what the API
// answers and what a webhook event carries as `data`.
#pragma once

#include <json/value.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/language.h"

namespace phoneverify::domain {

// pending -> approved | canceled | expired | max_attempts_reached | failed; only pending
// ever changes.
enum class VerificationStatus {
  kPending,
  kApproved,
  kCanceled,
  kExpired,
  kMaxAttemptsReached,
  kFailed,
};

const char* StatusName(VerificationStatus status);
std::optional<VerificationStatus> StatusFromName(std::string_view name);

// Public ids: "ver_" + 32 hex characters (128 random bits).
inline constexpr char kVerificationIdPrefix[] = "ver_";
bool LooksLikeVerificationId(std::string_view text);

// One row of `verifications` (sql/015), with the state of the message carrying its code.
struct VerificationRecord {
  int64_t id = 0;  // the row's id; 0 before it is inserted
  std::string public_id;
  int64_t client_id = 0;
  std::string phone;  // national number
  VerificationStatus status = VerificationStatus::kPending;
  std::optional<std::string> reference;
  Language lang = Language::kEnglish;
  std::string app_hash;  // "" when none
  std::string ip_key;    // the end user as per-IP limits count them
  std::string code_hash;
  int code_length = 0;
  int max_attempts = 0;  // 0 = unlimited
  int attempts_used = 0;
  int sends = 0;
  int64_t created_at = 0;
  int64_t sent_at = 0;  // the latest send
  int64_t expires_at = 0;
  // The outbox state of the current message ("queued", "sending", "retry", "sent",
  // "failed", "superseded"; "" when none) and its last error ("expired" when the outbox
  // gave up at expires_at).
  std::string delivery_state;
  std::string delivery_error;
};

// The status at `now`: a pending verification whose message failed for good is failed,
// one past expires_at is expired (the sweep stores both later; answers never wait for it).
VerificationStatus EffectiveStatus(const VerificationRecord& record, int64_t now);

// Figures read with the record that its object shows.
struct VerificationFigures {
  int64_t resend_in = 0;                // seconds until a resend may be accepted
  std::optional<int64_t> sends_left;    // nullopt when no daily limit applies
};

// The verification object: {"id", "status", "phone", "operator", "reference", "lang",
// "created_at", "expires_at", "expires_in", "attempts_left", "resend_in", "sends_left",
// "delivery", "delivery_error"}.
Json::Value VerificationObject(const VerificationRecord& record,
                               const VerificationFigures& figures, int64_t now);

// RFC 3339 UTC with seconds, e.g. "2026-12-05T21:43:24Z".
std::string Rfc3339(int64_t unix_seconds);

// Webhook event types.
inline constexpr char kEventApproved[] = "verification.approved";
inline constexpr char kEventCanceled[] = "verification.canceled";
inline constexpr char kEventExpired[] = "verification.expired";
inline constexpr char kEventMaxAttempts[] = "verification.max_attempts_reached";
inline constexpr char kEventFailed[] = "verification.failed";
inline constexpr char kEventMessageSent[] = "message.sent";

// The event for the status `status` takes when it leaves pending.
const char* EventForStatus(VerificationStatus status);

// The body a webhook POSTs: {"type": type, "timestamp": RFC 3339 of `at`, "data": object}.
std::string EventBody(std::string_view type, int64_t at, const Json::Value& object);

}  // namespace phoneverify::domain
