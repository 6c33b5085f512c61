// What phoneverify-admin reads and changes, over MariaDB: accounts, tokens, codes, limit
// gates and events, the outbox, and web sessions. Every multi-step
// change is one transaction. Prepared statements only; no SQL text is built from input.
//
// Errors: Error::Unavailable() when the database cannot be reached, Error::Internal()
// otherwise (see storage/database.h). Thread-safe (Database is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/account.h"
#include "util/status.h"

namespace phoneverify::storage {

class Database;

struct AdminAccount {
  domain::Account account;
  int64_t last_login = 0;         // 0 = never
  int64_t phone_verified_at = 0;  // 0 = unknown or not verified
  int64_t tokens = 0;             // API tokens issued and not revoked
};

struct AccountFilter {
  bool only_inactive = false;
  bool only_unverified = false;
  int limit = 50;
  int64_t after_id = 0;  // rows with id > after_id, in id order (paging)
};

// One otp_codes row and the state of the message that carried it.
struct AdminCode {
  int64_t account_id = 0;
  std::string phone;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int attempts_used = 0;
  int max_attempts = 0;
  bool consumed = false;
  int64_t outbox_id = 0;
  std::string delivery_state;  // "" when the message row is gone
};

struct AdminMessage {
  int64_t id = 0;
  int64_t account_id = 0;
  std::string phone;
  std::string state;  // queued, sending, retry, sent, failed, superseded
  int tries = 0;
  int64_t next_attempt_at = 0;
  int64_t created_at = 0;
  int64_t sent_at = 0;  // 0 = not sent
  int64_t expires_at = 0;
  std::string last_error;
  bool holds_text = false;  // the sealed text is still there (undelivered)
};

struct ActivationChange {
  bool changed = false;            // false: the account already had that state
  int64_t tokens_revoked = 0;      // deactivation only
  int64_t sessions_ended = 0;      // deactivation only
  int64_t messages_cancelled = 0;  // deactivation only: undelivered SMS failed
};

struct UnlockResult {
  int64_t codes_reset = 0;       // unconsumed codes whose used attempts went back to 0
  int64_t cooldown_cleared = 0;  // 1 when the phone's resend cooldown was running
  int64_t sends_forgotten = 0;   // per-phone daily send events deleted
};

enum class RetryKind {
  kNotFound,       // no message with that id
  kRequeued,       // undelivered, text still there: due now, the same code goes out
  kResendAllowed,  // failed for good: cooldown cleared and the send refunded
  kNotApplicable,  // nothing sensible to do; `reason` says why
};

struct RetryOutcome {
  RetryKind kind = RetryKind::kNotFound;
  std::string reason;
  AdminMessage message;
};

struct PurgeCounts {
  int64_t codes = 0;
  int64_t outbox = 0;
  int64_t limit_events = 0;
  int64_t sessions = 0;
};

struct FailureCount {
  std::string key;     // FailureKey(): "sparrow 1007", "http 500", "expired", ...
  std::string reason;  // the text after the key, e.g. "Invalid Receiver" ("" if none)
  int64_t count = 0;
};

struct DayFigures {
  int64_t signups = 0;
  int64_t sends = 0;  // accepted code sends (outbox rows created)
  int64_t sent = 0;
  // Delivered messages by the backend that sent them ("" for those sent before the
  // backend was recorded), most first.
  std::vector<std::pair<std::string, int64_t>> sent_by;
  int64_t failed = 0;
  int64_t superseded = 0;
  int64_t pending = 0;          // queued, retry or sending
  int64_t gateway_retries = 0;  // transient failures retried (tries beyond the first)
  int64_t verifications = 0;    // phones verified
  // Failed messages by gateway code (or other reason), most frequent first.
  std::vector<FailureCount> failures;
};

// Splits a failure reason (outbox.last_error) into its key, the text before the first
// ':' ("sparrow 1007: Invalid Receiver" -> "sparrow 1007"), and the rest ("Invalid
// Receiver"), dropping an operator remark. Exposed for unit tests.
FailureCount SplitFailure(const std::string& last_error);

// Remark appended to last_error when `retry` allowed a resend.
inline constexpr char kResendAllowedRemark[] = " [resend allowed by operator]";

class AdminRepository {
 public:
  explicit AdminRepository(Database& db) : db_(db) {}

  util::Result<std::vector<AdminAccount>> ListAccounts(const AccountFilter& filter);
  util::Result<std::optional<AdminAccount>> FindAccount(int64_t id);
  util::Result<std::optional<AdminAccount>> FindAccountByUsernameKey(const std::string& key);
  util::Result<std::vector<AdminCode>> CodesOf(int64_t account_id);
  util::Result<std::vector<AdminMessage>> MessagesOf(int64_t account_id, int limit);

  // Deactivating also revokes the account's API tokens, ends its web sessions and fails
  // its undelivered messages ("account deactivated"), in the same transaction.
  util::Result<ActivationChange> SetActive(int64_t account_id, bool active);

  // `phone` is a national number. Clears what stops it from getting and using a code.
  util::Result<UnlockResult> UnlockPhone(const std::string& phone);

  // Queued, retrying or sending messages, oldest first.
  util::Result<std::vector<AdminMessage>> PendingMessages(int limit);
  // Failed messages created at or after `since`, newest first.
  util::Result<std::vector<AdminMessage>> FailedMessages(int64_t since, int limit);
  // See RetryKind. A failed message qualifies for kResendAllowed while its code is still
  // the account's current, unverified code for that phone, once.
  util::Result<RetryOutcome> Retry(int64_t message_id, int64_t now);

  // Deletes, in batches: codes expired by `now`, sessions idle for `session_idle` or older
  // than `session_max_age`, finished outbox rows created before `outbox_before`, limit
  // events older than a day.
  util::Result<PurgeCounts> Purge(int64_t now, int64_t outbox_before, int64_t session_idle,
                                  int64_t session_max_age);

  // Figures for [from, to).
  util::Result<DayFigures> Figures(int64_t from, int64_t to);

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
