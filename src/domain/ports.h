// Interfaces the domain needs from the outside world. src/storage implements the
// repositories over MariaDB; tests/fakes has in-memory versions for unit tests.
//
// Atomicity: every method is one database transaction. Methods that take a "decider"
// callback read a snapshot under the transaction, call the decider (pure domain logic),
// and persist only if it says so; a deadlock or Galera certification failure (1213) makes
// the storage retry the whole transaction, calling the decider again.
//
// Errors: storage failures come back as Error::Unavailable() (database down, timeout)
// or Error::Internal(); constraint outcomes as the contract codes named below.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/account.h"
#include "util/status.h"

namespace phoneverify::domain {

// A sliding-window limit: at most `max` events per `window` seconds for (scope, key).
// Scopes used: "phone_day", "account_day", "ip_send_hour", "ip_signup_hour",
// "budget_day" (key ""), "login" (key = case-folded username), "login_ip" (key = client
// address), "prefix_hour" (key = the phone's first prefix_digits digits).
struct WindowLimit {
  std::string scope;
  std::string key;
  int64_t window = 0;
  int max = 0;
  // Keyed by the caller's account, which the storage resolves from an API token in the
  // same round trip as the send (SendPlan::who): `key` is empty until KeyedByAccount.
  bool keyed_by_caller = false;
};

// `limits`, each limit keyed by the caller given the key of `account_id` (its decimal id).
inline std::vector<WindowLimit> KeyedByAccount(std::vector<WindowLimit> limits,
                                               int64_t account_id) {
  for (WindowLimit& limit : limits) {
    if (!limit.keyed_by_caller) continue;
    limit.key = std::to_string(account_id);
    limit.keyed_by_caller = false;
  }
  return limits;
}

// Events of one limit inside its window at the time of reading.
struct WindowUsage {
  int count = 0;
  int64_t oldest = 0;  // time of the oldest event in the window (0 when count == 0)
};

// ---- health ---------------------------------------------------------------------------

class HealthCheck {
 public:
  virtual ~HealthCheck() = default;
  // The database node that answered a trivial query within the configured timeout, as
  // "host:port" ("local": the server on the unix socket); Error::Unavailable() when
  // none answered.
  virtual util::Result<std::string> AnsweringNode() = 0;
};

// ---- accounts and tokens ----------------------------------------------------------

struct Credentials {
  int64_t account_id = 0;
  std::string password_hash;
  bool is_active = true;
};

class AccountRepository {
 public:
  virtual ~AccountRepository() = default;
  // Inserts the account (the sign-up limit is reserved before, see LimitRepository).
  // 409 username_taken on a duplicate username_key.
  virtual util::Result<Account> Create(const NewAccount& account) = 0;
  virtual util::Result<std::optional<Account>> FindById(int64_t id) = 0;
  virtual util::Result<std::optional<Credentials>> FindCredentials(
      const std::string& username_key) = 0;
  virtual util::Status RecordLogin(int64_t account_id, int64_t now) = 0;

  // API tokens are stored only as Hash(token) (32 raw bytes).
  virtual util::Status StoreToken(const std::string& token_hash, int64_t account_id,
                                  int64_t now) = 0;
  // The active account owning the token, or nullopt.
  virtual util::Result<std::optional<Account>> FindByTokenHash(
      const std::string& token_hash) = 0;
  // Deletes the token; false when it did not exist.
  virtual util::Result<bool> DeleteToken(const std::string& token_hash) = 0;

  // Remembers `phone` (national number) as the one the account is to verify.
  virtual util::Status SetPendingPhone(int64_t account_id, const std::string& phone) = 0;
};

// ---- web sessions -----------------------------------------------------------------

// A signed-in browser session, stored only as Hash(session id) (32 raw bytes).
struct SessionRecord {
  Account account;  // the owner (only active accounts have sessions that resolve)
  int64_t created_at = 0;
  int64_t last_seen_at = 0;
};

class SessionRepository {
 public:
  virtual ~SessionRepository() = default;
  virtual util::Status Create(const std::string& id_hash, int64_t account_id, int64_t now) = 0;
  // The session and its active owner, or nullopt (unknown id, or inactive account).
  virtual util::Result<std::optional<SessionRecord>> Find(const std::string& id_hash) = 0;
  virtual util::Status Touch(const std::string& id_hash, int64_t now) = 0;
  // Deletes the session; false when it did not exist.
  virtual util::Result<bool> Delete(const std::string& id_hash) = 0;
  // Deletes up to `max` sessions seen last before `idle_before` or created before
  // `created_before`; returns how many went.
  virtual util::Result<int> DeleteExpired(int64_t idle_before, int64_t created_before,
                                          int max) = 0;
};

// ---- generic limits (login throttling, sign-ups per IP) ----------------------------

// Limits that are reserved before the costly work they guard (a password hash): the
// event is recorded first, and given back when the work turns out not to count.
class LimitRepository {
 public:
  virtual ~LimitRepository() = default;
  virtual util::Result<std::vector<WindowUsage>> Usage(
      const std::vector<WindowLimit>& limits, int64_t now) = 0;
  // One transaction, serialised per (scope, key) across hosts: reads the usage of each
  // limit (in order), calls `decide`; when it returns ok, records one event per limit at
  // `now` and returns their ids (same order); otherwise records nothing and returns its
  // error. A deadlock or certification failure re-runs the whole of it, `decide` too.
  virtual util::Result<std::vector<int64_t>> Reserve(
      const std::vector<WindowLimit>& limits, int64_t now,
      const std::function<util::Status(const std::vector<WindowUsage>&)>& decide) = 0;
  // Deletes the events with these ids (a reservation given back); ids gone are ignored.
  virtual util::Status Release(const std::vector<int64_t>& event_ids) = 0;
  // Deletes every event of (scope, key).
  virtual util::Status Clear(const WindowLimit& limit) = 0;
};

// ---- one-time codes ---------------------------------------------------------------

// The code row for one (account, phone). A send replaces it.
struct OtpRecord {
  // 0x02 || KeyedHash(otp_hash_key, "phone:" phone ":" code); codes made before sql/017:
  // KeyedHash(otp_hash_key, account_id ":" phone ":" code) (VerificationService)
  std::string code_hash;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  int attempts_used = 0;
  int max_attempts = 0;  // 0 = unlimited (limit switched off when the code was sent)
  bool consumed = false;

  // No guess is left: the answer is too_many_attempts until a new code is sent.
  bool AttemptsUsedUp() const { return max_attempts > 0 && attempts_used >= max_attempts; }
};

// Who asks for a send or makes a guess: an account already resolved (a web session), or
// the hash of an API token that the storage resolves in the same round trip as the send or
// the guess (which then cost no token lookup of their own). Exactly one of the two is set.
struct Caller {
  int64_t account_id = 0;
  std::string token_hash;  // Hash(token), 32 raw bytes
};

struct SendSnapshot {
  int64_t account_id = 0;              // the caller; 0: the token matched no active account
  std::optional<int64_t> phone_owner;  // account that verified this phone, if any
  int64_t last_send_to_phone = 0;      // latest accepted send to the phone, 0 = never
  std::vector<WindowUsage> usage;      // one per SendPlan::limits, same order
};

// What RecordSend did.
struct RecordedSend {
  int64_t outbox_id = 0;
  // An earlier run of the same request (its idempotency key) already sent: this is its
  // outbox id, and nothing was written now.
  bool replayed = false;
  // The usage of SendPlan::limits read before this send (a replay's counts its first run).
  std::vector<WindowUsage> usage;
};

// The decider's answer on a send: ok accepts it. An error refuses it, and nothing is
// written unless `charged` names limits (indexes into SendPlan::limits) that the refusal
// still counts against: those get their event, and nothing else changes.
struct SendVerdict {
  SendVerdict(util::Status s = {}) : status(std::move(s)) {}  // NOLINT: implicit by design
  SendVerdict(util::Error e) : status(std::move(e)) {}         // NOLINT: implicit by design
  util::Status status;
  std::vector<size_t> charged;
};

struct SendPlan {
  Caller who;
  std::string phone;  // national number
  int64_t now = 0;
  std::vector<WindowLimit> limits;  // only the limits that are switched on
  // The phone's resend cooldown (otp_resend_cooldown; 0 = off). The storage may test an
  // acceptance before calling the decider with it (MysqlOtpRepository::RecordSend).
  int64_t cooldown = 0;
};

// What to persist when the decider accepts.
struct NewCode {
  OtpRecord record;
  std::string sealed_text;  // Seal(outbox_key, sms text): never stored readable
  int64_t message_expires_at = 0;
  std::string request_id;  // for log correlation (outbox.request_id)
  std::string client_key;  // the client's Idempotency-Key, "" = none; see RecordSend
};

enum class GuessOutcome { kRefused, kWrong, kCorrect };

struct GuessRequest {
  Caller who;
  std::string phone;  // national number
  int64_t now = 0;
  std::string client_key;  // the client's Idempotency-Key, "" = none; see RecordGuess
};

struct GuessContext {
  int64_t account_id = 0;              // the guesser; 0: the token matched no active account
  std::optional<OtpRecord> otp;        // nullopt: no code requested
  std::optional<int64_t> phone_owner;  // account that verified this phone
  // The phone's latest send; the storage may leave it 0 unless the code's attempts are
  // used up (the one decision that needs it).
  int64_t last_send_to_phone = 0;
};

struct GuessDecision {
  GuessOutcome outcome = GuessOutcome::kRefused;
  util::Error error;  // for kRefused and kWrong: the answer to give
};

// What RecordGuess did: the decision it applied, or, when an earlier run of the same
// request (its client key) was applied already, that run's outcome (kWrong or kCorrect)
// with `replayed` set, the code row as it is now in `otp`, and nothing applied now.
struct RecordedGuess {
  GuessDecision decision;
  bool replayed = false;
  std::optional<OtpRecord> otp;  // replayed only
};

struct CodeStatusRecord {
  OtpRecord otp;
  std::string delivery_state;  // "queued", "sending", "retry", "sent", "failed", "superseded"
  std::string delivery_error;  // "" when none
  int64_t last_send_to_phone = 0;
};

class OtpRepository {
 public:
  virtual ~OtpRepository() = default;
  // Resolves plan.who (a token that matches no active account: `decide` gets a snapshot
  // with account_id 0 and nothing else, and nothing is written). Then one transaction:
  // read the snapshot (serialised per phone and per limit key), call
  // `decide` (a refusal writes only the events of its `charged` limits, then commits; a
  // re-run after an unanswered COMMIT may count such a refusal twice); when it returns
  // ok, record one event per limit, stamp the phone's last send, replace the (account,
  // phone) code row with `code.record`, cancel (erase) any earlier undelivered message for
  // that pair and queue the new outbox message.
  // Run once per request: the storage guards its own re-run after a COMMIT whose answer
  // was lost, and a client's key (code.client_key) is kept 24 h per (account, phone).
  // When the request already sent, `decide` is not called, nothing is written, and the
  // first send's outbox id comes back as replayed. An empty key is never matched.
  virtual util::Result<RecordedSend> RecordSend(
      const SendPlan& plan, const NewCode& code,
      const std::function<SendVerdict(const SendSnapshot&)>& decide) = 0;

  // Atomically: read the guesser's code row for the phone, call `decide`; kWrong adds one
  // used attempt; kCorrect marks the code consumed and sets the account's phone
  // (verified) — 409 phone_taken if another account verified it first; kRefused changes
  // nothing. A token that matches no active account gives a context with account_id 0.
  // Returns the decision that was applied (or the phone_taken error).
  // Run once per request like RecordSend: when a client's key (guess.client_key) already
  // had its guess applied, `decide` is not called, nothing is applied, and the first
  // run's outcome comes back as replayed.
  virtual util::Result<RecordedGuess> RecordGuess(
      const GuessRequest& guess,
      const std::function<GuessDecision(const GuessContext&)>& decide) = 0;

  virtual util::Result<std::optional<CodeStatusRecord>> FindCodeStatus(
      int64_t account_id, const std::string& phone) = 0;
  virtual util::Result<std::vector<WindowUsage>> Usage(
      const std::vector<WindowLimit>& limits, int64_t now) = 0;
  virtual util::Result<std::optional<int64_t>> PhoneOwner(const std::string& phone) = 0;
};

// ---- outbox (dispatcher side) -------------------------------------------------------

struct OutboxMessage {
  int64_t id = 0;
  std::string phone;
  std::string sealed_text;
  int tries = 0;  // including this claim
  int64_t expires_at = 0;
  std::string request_id;
  int64_t verification_id = 0;  // the verification API's message (section 7); 0: an account's
};

// One outcome write for a claimed row (OutboxRepository::MarkMany).
struct OutboxMark {
  enum class Kind { kSent, kRetry, kFailed, kReleased };
  Kind kind = Kind::kReleased;
  int64_t id = 0;
  std::string claim_token;
  int64_t at = 0;     // kSent, kFailed: when; kRetry: the next attempt
  std::string error;  // kRetry, kFailed
  std::string backend;  // kSent: the backend that delivered it ("sparrow", "http", ...)
  int64_t verification_id = 0;  // OutboxMessage::verification_id: its outcome is an event
};

class OutboxRepository {
 public:
  virtual ~OutboxRepository() = default;
  // Committed UPDATE that stamps `claim_token` and a lease on up to `max` due rows
  // (queued/retry with next_attempt_at <= now, and with `take_abandoned` sending rows
  // whose lease ran out: their dispatcher died), then reads them back by claim token.
  // Only rows not yet expired are claimed.
  virtual util::Result<std::vector<OutboxMessage>> Claim(const std::string& claim_token,
                                                         int64_t now, int64_t lease_seconds,
                                                         int max, bool take_abandoned = true) = 0;
  // Each Mark* applies only while the row still carries `claim_token`; sent and failed
  // erase the sealed text. Returns false when the claim was lost.
  virtual util::Result<bool> MarkSent(int64_t id, const std::string& claim_token,
                                      int64_t now) = 0;
  virtual util::Result<bool> MarkRetry(int64_t id, const std::string& claim_token,
                                       int64_t next_attempt_at, const std::string& error) = 0;
  virtual util::Result<bool> MarkFailed(int64_t id, const std::string& claim_token,
                                        int64_t now, const std::string& error) = 0;
  // Hands a claimed row back unsent (lease running out, stop, gateway circuit open): due
  // again at once, the claim's try given back, last_error kept. False when the claim was
  // lost.
  virtual util::Result<bool> Release(int64_t id, const std::string& claim_token) = 0;
  // Several marks at once, per mark whether its claim was still held. The MariaDB one
  // writes them in one transaction (one commit for the lot); this one, one by one.
  virtual util::Result<std::vector<bool>> MarkMany(const std::vector<OutboxMark>& marks) {
    std::vector<bool> held;
    for (const OutboxMark& mark : marks) {
      util::Result<bool> one = ApplyOne(mark);
      if (!one.ok()) return one.error();
      held.push_back(one.value());
    }
    return held;
  }
  // Undelivered rows past their expiry become failed("expired") and are erased.
  virtual util::Result<int> ExpireStale(int64_t now) = 0;
  // Rows queued, retrying or sending.
  virtual util::Result<int> Depth() = 0;

 protected:
  util::Result<bool> ApplyOne(const OutboxMark& mark) {
    switch (mark.kind) {
      case OutboxMark::Kind::kSent:
        return MarkSent(mark.id, mark.claim_token, mark.at);
      case OutboxMark::Kind::kRetry:
        return MarkRetry(mark.id, mark.claim_token, mark.at, mark.error);
      case OutboxMark::Kind::kFailed:
        return MarkFailed(mark.id, mark.claim_token, mark.at, mark.error);
      case OutboxMark::Kind::kReleased:
        return Release(mark.id, mark.claim_token);
    }
    return util::Error::Internal();
  }
};

// ---- operational figures (GET /metrics) -----------------------------------------------

// One Prometheus series: `name{label="value",...}` (or just `name`) and its value.
struct MetricSample {
  std::string series;
  double value = 0;
};

struct MetricDelta {
  std::string series;
  double value = 0;
  bool gauge = false;  // false: add to the stored value; true: replace it
};

class MetricsStore {
 public:
  virtual ~MetricsStore() = default;
  // All deltas in one transaction (series longer than the column are skipped).
  virtual util::Status Add(const std::vector<MetricDelta>& deltas, int64_t now) = 0;
  // Every stored series, plus phoneverify_outbox_depth{state="..."} for the undelivered
  // outbox rows by state (queued, retry, sending; 0 when none).
  virtual util::Result<std::vector<MetricSample>> Read() = 0;
};

}  // namespace phoneverify::domain
