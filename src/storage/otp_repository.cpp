#include "storage/otp_repository.h"

#include <algorithm>
#include <sstream>

#include "domain/otp_policy.h"
#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "util/crypto.h"

namespace phoneverify::storage {
namespace {

using domain::GuessOutcome;

// Columns code_hash, created_at, expires_at, attempts_used, max_attempts, consumed, from
// column `first` on.
domain::OtpRecord OtpFromRow(const Row& row, int first = 0) {
  domain::OtpRecord otp;
  otp.code_hash = row.Text(first);
  otp.created_at = row.Int(first + 1);
  otp.expires_at = row.Int(first + 2);
  otp.attempts_used = static_cast<int>(row.Int(first + 3));
  otp.max_attempts = static_cast<int>(row.Int(first + 4));
  otp.consumed = row.Int(first + 5) != 0;
  return otp;
}

constexpr char kGuessOperation[] = "guess";
constexpr int64_t kReplayWindow = domain::kDay;  // idempotency_keys rows are pruned after it
constexpr int64_t kGuessWrong = 1;
constexpr int64_t kGuessCorrect = 2;

util::Error PhoneTaken() {
  return util::Error::Make(util::ErrorKind::kConflict, "phone_taken",
                           "This phone number is already verified by another account.", "phone");
}

// ---- idempotency ------------------------------------------------------------------------

// The result recorded for this idempotency key, if it already changed something. Callers hold
// a lock that serialises the (account, phone) pair, so a concurrent twin waits for the
// first run's commit and then finds it here.
util::Result<std::optional<int64_t>> FindReplay(Connection& conn, int64_t account_id,
                                                const std::string& phone, const char* operation,
                                                const std::string& key, int64_t now) {
  if (key.empty()) return std::optional<int64_t>();
  auto rows = conn.Query(
      "SELECT result FROM idempotency_keys WHERE account_id = ? AND phone = ? "
      "AND operation = ? AND idem_key = ? AND created_at > ?",
      {Param::Int(account_id), Param::Text(phone), Param::Text(operation),
       Param::Text(key), Param::Int(now - kReplayWindow)});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows.value()[0].Int(0));
}

// In the transaction that made the change. A stale row (older than the window) of the
// same id is overwritten.
util::Status LogRequest(Connection& conn, int64_t account_id, const std::string& phone,
                        const char* operation, const std::string& key, int64_t result,
                        int64_t now) {
  if (key.empty()) return util::Status::Ok();
  return conn
      .Exec(
          "INSERT INTO idempotency_keys (account_id, phone, operation, idem_key, result, "
          "created_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
          "result = VALUES(result), created_at = VALUES(created_at)",
          {Param::Int(account_id), Param::Text(phone), Param::Text(operation),
           Param::Text(key), Param::Int(result), Param::Int(now)})
      .status();
}

// ---- sending ------------------------------------------------------------------------

// The whole send as one round trip, the caller's token resolved in it
// (sql/017_send_by_token.sql): parameters account (0: by token), token hash, phone, now,
// key, key kept, gates, limits, cooldown, code hash, expires at, max attempts, sealed
// text, message expires at, request id.
constexpr char kSendCodeSql[] =
    "CALL pv_send_code_v2(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// The procedure's answers (its first column).
constexpr char kAccepted[] = "accepted";
constexpr char kReplayed[] = "replayed";
constexpr char kUnauthenticated[] = "unauthenticated";

// Rounds of "the procedure declined, the charged refusal's transaction then found the
// send acceptable" (the phone's owner changed in between) before giving up.
constexpr int kSendRounds = 3;

// JSON for the procedure's list parameters. Keys go as hex (any bytes pass); scopes are
// the code's own constants (lowercase letters and '_'). A limit keyed by the caller has
// the key "caller" (not hex), which the procedure keys by the account it resolved.
std::string JsonKey(const domain::WindowLimit& limit) {
  return limit.keyed_by_caller ? "caller" : util::HexEncode(StoredKey(limit.key));
}

// The gate rows the send locks: the phone's and each limit's, sorted and unique (one lock
// order for every send: each scope comes once, so a key "caller" sorts like any other).
std::string GatesJson(const std::vector<domain::WindowLimit>& limits, const std::string& phone) {
  std::vector<std::pair<std::string, std::string>> gates = {
      {kLastSendScope, util::HexEncode(StoredKey(phone))}};
  for (const domain::WindowLimit& limit : limits) gates.emplace_back(limit.scope, JsonKey(limit));
  std::sort(gates.begin(), gates.end());
  gates.erase(std::unique(gates.begin(), gates.end()), gates.end());
  std::string json = "[";
  for (const auto& [scope, key] : gates) {
    if (json.size() > 1) json += ',';
    json += "[\"" + scope + "\",\"" + key + "\"]";
  }
  return json + "]";
}

std::string LimitsJson(const std::vector<domain::WindowLimit>& limits) {
  std::string json = "[";
  for (const domain::WindowLimit& limit : limits) {
    if (json.size() > 1) json += ',';
    json += "[\"" + limit.scope + "\",\"" + JsonKey(limit) + "\"," +
            std::to_string(limit.window) + "," + std::to_string(limit.max) + "]";
  }
  return json + "]";
}

// "count:oldest " per limit, as the procedure writes it.
std::vector<domain::WindowUsage> ParseUsage(const std::string& text) {
  std::vector<domain::WindowUsage> usage;
  std::istringstream in(text);
  std::string item;
  while (in >> item) {
    domain::WindowUsage one;
    const size_t colon = item.find(':');
    one.count = std::stoi(item.substr(0, colon));
    one.oldest = colon == std::string::npos ? 0 : std::stoll(item.substr(colon + 1));
    usage.push_back(one);
  }
  return usage;
}

struct SendCall {
  std::string outcome;  // accepted | declined | replayed
  int64_t outbox_id = 0;
  domain::SendSnapshot snapshot;
};

util::Result<SendCall> CallSendCode(Connection& conn, const domain::SendPlan& plan,
                                    const domain::NewCode& code, const std::string& gates,
                                    const std::string& key, bool kept) {
  const domain::OtpRecord& otp = code.record;
  auto rows = conn.Call(
      kSendCodeSql,
      {Param::Int(plan.who.account_id), Param::Bytes(plan.who.token_hash),
       Param::Text(plan.phone), Param::Int(plan.now),
       Param::Text(key), Param::Int(kept ? 1 : 0), Param::Text(gates),
       Param::Text(LimitsJson(plan.limits)), Param::Int(plan.cooldown),
       Param::Bytes(otp.code_hash), Param::Int(otp.expires_at), Param::Int(otp.max_attempts),
       Param::Bytes(code.sealed_text), Param::Int(code.message_expires_at),
       Param::Text(ClampUtf8(code.request_id, 64))});
  if (!rows.ok()) return rows.error();
  if (rows.value().size() != 1) return util::Error::Internal();
  const Row& row = rows.value()[0];
  SendCall call;
  call.outcome = row.Text(0);
  call.snapshot.account_id = row.Int(5);
  if (call.outcome == kUnauthenticated) {
    call.snapshot.usage.resize(plan.limits.size());
    return call;
  }
  call.outbox_id = row.Int(1);
  if (!row.IsNull(2)) call.snapshot.phone_owner = row.Int(2);
  call.snapshot.last_send_to_phone = row.Int(3);
  call.snapshot.usage = ParseUsage(row.Text(4));
  if (call.snapshot.usage.size() != plan.limits.size()) return util::Error::Internal();
  return call;
}

// The procedure's acceptance test and the C++ decider gave different answers on the same
// snapshot: a bug (the two are tested against each other), answered as one.
util::Error RulesDisagree() {
  return util::Error::Internal("the send procedure and the send rules disagree");
}

constexpr char kGatePrevAtSql[] = "SELECT prev_at FROM limit_gates WHERE scope = ? AND key_ = ?";
constexpr char kRestorePhoneGateSql[] =
    "UPDATE limit_gates SET last_at = prev_at WHERE scope = ? AND key_ = ?";

// A refusal that still counts (SendVerdict::charged), in its own transaction, for the
// account the procedure resolved: the gates locked again, the snapshot read and decided
// again, the charged limits' events written, and the phone's gate set back (a refusal is
// no send and starts no cooldown). nullopt: the decider now accepts (something changed
// since the procedure's read).
util::Result<std::optional<util::Error>> ChargeRefusal(
    Database& db, const domain::SendPlan& plan, int64_t account_id,
    const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) {
  using Refusal = std::optional<util::Error>;
  const std::string phone_key = StoredKey(plan.phone);
  const std::vector<domain::WindowLimit> limits = KeyedByAccount(plan.limits, account_id);
  const std::vector<GateKey> gates = GatesFor(limits, {{kLastSendScope, plan.phone}});
  return db.Transact([&](Connection& conn) -> util::Result<Refusal> {
    if (util::Status st = LockGates(conn, gates, plan.now); !st.ok()) return st.error();
    domain::SendSnapshot snapshot;
    snapshot.account_id = account_id;
    auto prev = conn.Query(kGatePrevAtSql, {Param::Text(kLastSendScope), Param::Bytes(phone_key)});
    if (!prev.ok()) return prev.error();
    snapshot.last_send_to_phone = prev.value().empty() ? 0 : prev.value()[0].Int(0);
    auto owner = FindPhoneOwner(conn, plan.phone);
    if (!owner.ok()) return owner.error();
    snapshot.phone_owner = owner.value();
    auto usage = ReadUsage(conn, limits, plan.now);
    if (!usage.ok()) return usage.error();
    snapshot.usage = std::move(usage).value();
    const domain::SendVerdict verdict = decide(snapshot);
    if (verdict.status.ok()) return Refusal();  // rolled back: the stamps go
    std::vector<domain::WindowLimit> charged;
    for (size_t i : verdict.charged) charged.push_back(limits.at(i));
    if (util::Status st = InsertEvents(conn, charged, plan.now); !st.ok()) return st.error();
    auto restored = conn.Exec(kRestorePhoneGateSql,
                              {Param::Text(kLastSendScope), Param::Bytes(phone_key)});
    if (!restored.ok()) return restored.error();
    return Refusal(verdict.status.error());
  });
}

// ---- guessing -----------------------------------------------------------------------

// The guesser (column 0: the account's id), its code row for the phone (columns 1-6 as
// OtpFromRow, NULL when no code was requested), the phone's owner (7), and the result
// recorded for the client's key (8; NULL: none, or no key). No row: the guesser is no
// active account. One round trip, no locks. Every table is joined on a unique key bound
// to constants, so the optimizer reads each as a constant table; the same reads as scalar
// subqueries were planned again on every execution and took a fifth of mysqld's time per
// guess. Each join costs MariaDB some 20 µs, so a guess without a client key does not look
// one up, and the phone's last send (needed only once the attempts are used up) is read
// apart, then (GuessLastSend). Four whole statements: by API token (the token check and
// the code in one statement) or by the account already resolved (a web session), each
// with and without the key's join.
// Parameters: phone, phone, [phone, client key, since,] and the guesser.
#define PV_GUESS_READ(replay_column, from, replay_join, where)                             \
  "SELECT a.id, o.code_hash, o.created_at, o.expires_at, o.attempts_used, o.max_attempts, " \
  "o.consumed, w.id, " replay_column " FROM " from                                         \
  " LEFT JOIN otp_codes o ON o.account_id = a.id AND o.phone = ?"                          \
  " LEFT JOIN accounts w ON w.phone = ? AND w.phone_verified = 1" replay_join " WHERE " where
#define PV_GUESS_REPLAY_JOIN                                                                \
  " LEFT JOIN idempotency_keys r ON r.account_id = a.id AND r.phone = ?"                   \
  " AND r.operation = 'guess' AND r.idem_key = ? AND r.created_at > ?"
#define PV_GUESS_BY_TOKEN "api_tokens t JOIN accounts a ON a.id = t.account_id AND a.is_active = 1"

constexpr char kGuessByTokenSql[] =
    PV_GUESS_READ("NULL", PV_GUESS_BY_TOKEN, "", "t.token_hash = ?");
constexpr char kGuessByTokenKeyedSql[] =
    PV_GUESS_READ("r.result", PV_GUESS_BY_TOKEN, PV_GUESS_REPLAY_JOIN, "t.token_hash = ?");
constexpr char kGuessByAccountSql[] =
    PV_GUESS_READ("NULL", "accounts a", "", "a.id = ? AND a.is_active = 1");
constexpr char kGuessByAccountKeyedSql[] =
    PV_GUESS_READ("r.result", "accounts a", PV_GUESS_REPLAY_JOIN, "a.id = ? AND a.is_active = 1");

#undef PV_GUESS_READ
#undef PV_GUESS_REPLAY_JOIN
#undef PV_GUESS_BY_TOKEN

// The code row locked, in a transaction (the subqueries stay plain reads; the replay
// is looked up by FindReplay once the lock is held).
constexpr char kGuessContextLockedSql[] =
    "SELECT code_hash, created_at, expires_at, attempts_used, max_attempts, consumed, "
    "(SELECT id FROM accounts WHERE phone = ? AND phone_verified = 1), "
    "(SELECT last_at FROM limit_gates WHERE scope = ? AND key_ = ?) "
    "FROM otp_codes WHERE account_id = ? AND phone = ? FOR UPDATE";

// A wrong guess counted only if the code row is still exactly as the decision saw it
// (same code, same count, not used): a compare-and-set, atomic without holding a lock
// across the decision. A resend changes code_hash, a concurrent guess attempts_used.
// It stores the request's kept idempotency key and time in the row ('' for none). The
// last condition refuses a key already counted on this row even if attempts_used came
// back to the value seen (an administrator's reset between a twin's read and its write).
// A kept key is also recorded in idempotency_keys, in the same transaction
// (CountWrongGuess).
constexpr char kCountWrongGuessSql[] =
    "UPDATE otp_codes SET attempts_used = attempts_used + 1, last_guess_key = ?, "
    "last_guess_at = ? "
    "WHERE account_id = ? AND phone = ? AND attempts_used = ? AND code_hash = ? "
    "AND consumed = 0 AND (? = '' OR last_guess_key <> ?)";

// Optimistic rounds before a guess falls back to locking the row (heavy contention on
// one code: every round lets at least one concurrent guess through).
constexpr int kOptimisticGuessRounds = 4;

// The phone's last send, for a code whose attempts are used up (the one decision that
// needs it: too_many_attempts names when a new code may be asked for).
util::Status GuessLastSend(Connection& conn, const std::string& phone,
                           domain::GuessContext& context) {
  if (!context.otp || !context.otp->AttemptsUsedUp()) return util::Status::Ok();
  auto last = GateLastAt(conn, {kLastSendScope, phone});
  if (!last.ok()) return last.error();
  context.last_send_to_phone = last.value();
  return util::Status::Ok();
}

// One round trip (two for a code whose attempts are used up): the guesser, its code row,
// and what the decision needs besides it, with the result recorded for the client's key
// (in `replay`) if any.
util::Result<domain::GuessContext> ReadGuessContext(Connection& conn,
                                                    const domain::GuessRequest& guess,
                                                    std::optional<int64_t>* replay) {
  const bool by_token = guess.who.account_id == 0;
  const bool keyed = !guess.client_key.empty();
  std::vector<Param> params = {Param::Text(guess.phone), Param::Text(guess.phone)};
  if (keyed) {
    params.push_back(Param::Text(guess.phone));
    params.push_back(Param::Text(guess.client_key));
    params.push_back(Param::Int(guess.now - kReplayWindow));
  }
  params.push_back(by_token ? Param::Bytes(guess.who.token_hash)
                            : Param::Int(guess.who.account_id));
  const char* sql = by_token ? (keyed ? kGuessByTokenKeyedSql : kGuessByTokenSql)
                             : (keyed ? kGuessByAccountKeyedSql : kGuessByAccountSql);
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.error();
  domain::GuessContext context;
  if (rows.value().empty()) return context;  // account_id 0: not authenticated
  const Row& row = rows.value()[0];
  context.account_id = row.Int(0);
  if (!row.IsNull(1)) context.otp = OtpFromRow(row, 1);
  if (!row.IsNull(7)) context.phone_owner = row.Int(7);
  if (keyed && !row.IsNull(8)) {
    *replay = row.Int(8);
    return context;  // answered from the first run: no decision, no last send needed
  }
  if (util::Status st = GuessLastSend(conn, guess.phone, context); !st.ok()) return st.error();
  return context;
}

// The locked read of the transaction path, for an account the unlocked read resolved.
util::Result<domain::GuessContext> ReadLockedGuessContext(Connection& conn, int64_t account_id,
                                                          const std::string& phone) {
  domain::GuessContext context;
  context.account_id = account_id;
  auto rows = conn.Query(kGuessContextLockedSql,
                         {Param::Text(phone), Param::Text(kLastSendScope),
                          Param::Bytes(StoredKey(phone)), Param::Int(account_id),
                          Param::Text(phone)});
  if (!rows.ok()) return rows.error();
  if (!rows.value().empty()) {
    const Row& row = rows.value()[0];
    context.otp = OtpFromRow(row);
    if (!row.IsNull(6)) context.phone_owner = row.Int(6);
    context.last_send_to_phone = row.Int(7);
    return context;
  }
  // No code for the pair: the answer is otp_not_requested unless the phone is taken.
  auto owner = FindPhoneOwner(conn, phone);
  if (!owner.ok()) return owner.error();
  context.phone_owner = owner.value();
  auto last = GateLastAt(conn, {kLastSendScope, phone});
  if (!last.ok()) return last.error();
  context.last_send_to_phone = last.value();
  return context;
}

util::Status MarkVerified(Connection& conn, int64_t account_id, const std::string& phone,
                          int64_t now) {
  auto done = conn.Exec("UPDATE otp_codes SET consumed = 1 WHERE account_id = ? AND phone = ?",
                        {Param::Int(account_id), Param::Text(phone)});
  if (!done.ok()) return done.error();
  done = conn.Exec(
      "UPDATE accounts SET phone = ?, phone_verified = 1, phone_verified_at = ?, "
      "pending_phone = '' WHERE id = ?",
      {Param::Text(phone), Param::Int(now), Param::Int(account_id)});
  if (done.ok()) return util::Status::Ok();
  // uq_accounts_phone: another account verified this phone first.
  if (conn.last_errno() == kErrDuplicateKey) return PhoneTaken();
  return done.error();
}

util::Status ApplyGuess(Connection& conn, int64_t account_id, const std::string& phone,
                        const std::string& key, GuessOutcome outcome, int64_t now) {
  switch (outcome) {
    case GuessOutcome::kRefused:
      return util::Status::Ok();
    case GuessOutcome::kWrong:
      return conn
          .Exec(
              "UPDATE otp_codes SET attempts_used = attempts_used + 1, last_guess_key = ?, "
              "last_guess_at = ? WHERE account_id = ? AND phone = ?",
              {Param::Text(key), Param::Int(now), Param::Int(account_id), Param::Text(phone)})
          .status();
    case GuessOutcome::kCorrect:
      return MarkVerified(conn, account_id, phone, now);
  }
  return util::Error::Internal();
}

// A refusal changed nothing: there is nothing to answer a replay with but a new decision.
util::Status LogGuess(Connection& conn, int64_t account_id, const std::string& phone,
                      const std::string& key, GuessOutcome outcome, int64_t now) {
  if (outcome == GuessOutcome::kRefused) return util::Status::Ok();
  const int64_t result = outcome == GuessOutcome::kCorrect ? kGuessCorrect : kGuessWrong;
  return LogRequest(conn, account_id, phone, kGuessOperation, key, result, now);
}

// The compare-and-set of a wrong guess. True when it counted; false when the row changed
// since `seen` was read (the caller reads again). A kept key is recorded with the count.
util::Result<bool> CountWrongGuess(Connection& conn, int64_t account_id,
                                   const domain::GuessRequest& guess,
                                   const domain::OtpRecord& seen) {
  const std::string& kept = guess.client_key;
  auto done = conn.Exec(kCountWrongGuessSql,
                        {Param::Text(kept), Param::Int(guess.now), Param::Int(account_id),
                         Param::Text(guess.phone), Param::Int(seen.attempts_used),
                         Param::Bytes(seen.code_hash), Param::Text(kept), Param::Text(kept)});
  if (!done.ok()) return done.error();
  if (done.value().affected_rows == 0) return false;
  util::Status st = LogRequest(conn, account_id, guess.phone, kGuessOperation, kept, kGuessWrong,
                               guess.now);
  if (!st.ok()) return st.error();
  return true;
}

domain::RecordedGuess Applied(domain::GuessDecision decision) {
  domain::RecordedGuess applied;
  applied.decision = std::move(decision);
  return applied;
}

// The answer to a request whose first run recorded `result` (kGuessWrong, kGuessCorrect):
// that outcome, with the code row as it is now.
domain::RecordedGuess Replayed(int64_t result, const std::optional<domain::OtpRecord>& otp) {
  domain::RecordedGuess replayed;
  replayed.decision.outcome = result == kGuessCorrect ? GuessOutcome::kCorrect : GuessOutcome::kWrong;
  replayed.replayed = true;
  replayed.otp = otp;
  return replayed;
}

}  // namespace

util::Result<domain::RecordedSend> MysqlOtpRepository::RecordSend(
    const domain::SendPlan& plan, const domain::NewCode& code,
    const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) {
  const std::string gates_json = GatesJson(plan.limits, plan.phone);
  // The request's key: the client's, kept 24 h, or one made up here that guards only the
  // CALL's own re-run after a lost answer (RunIdempotent).
  const bool kept = !code.client_key.empty();
  const std::string key = kept ? code.client_key : MadeUpKey(random_);
  for (int round = 0; round < kSendRounds; ++round) {
    auto called = db_.RunIdempotent([&](Connection& conn) {
      return CallSendCode(conn, plan, code, gates_json, key, kept);
    });
    if (!called.ok()) return called.error();
    const SendCall& call = called.value();
    if (call.outcome == kReplayed) {
      return domain::RecordedSend{call.outbox_id, true, call.snapshot.usage};
    }
    const domain::SendVerdict verdict = decide(call.snapshot);
    if (call.outcome == kAccepted) {
      if (!verdict.status.ok()) return RulesDisagree();
      if (on_queued_) on_queued_();
      return domain::RecordedSend{call.outbox_id, false, call.snapshot.usage};
    }
    if (verdict.status.ok()) return RulesDisagree();
    if (verdict.charged.empty()) return verdict.status.error();
    auto refusal = ChargeRefusal(db_, plan, call.snapshot.account_id, decide);
    if (!refusal.ok()) return refusal.error();
    if (refusal.value()) return *refusal.value();
  }
  return util::Error::Unavailable();
}

// Wrong guesses (the common case: every brute-force attempt is one) and refusals need
// no transaction: one read resolves the guesser (an API token too) and finds its code row
// with the idempotency key's earlier result, the decider runs, and a wrong guess is
// counted by a compare-and-set (kCountWrongGuessSql), autocommit: two round trips. A
// wrong guess with a client's key counts it and records the key in one transaction
// (CountWrongGuess) instead. A repeated request (its client key found) is answered from
// that read as replayed, without the decider. A correct guess changes two rows and takes
// the locking transaction, as does a guess whose compare-and-set keeps losing to
// concurrent changes.
//
// Twins of one key: both may read before either writes; the first compare-and-set wins,
// the second finds attempts_used changed, reads again and finds the first one's key
// (committed with the count), so it answers as a replay. A resend in between changes
// code_hash: the late twin's write fails the same way.
util::Result<domain::RecordedGuess> MysqlOtpRepository::RecordGuess(
    const domain::GuessRequest& guess,
    const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) {
  using OptionalRecorded = std::optional<domain::RecordedGuess>;
  const bool key_kept = !guess.client_key.empty();
  int64_t account_id = 0;  // resolved by the first read
  bool needs_lock = false;
  for (int round = 0; round < kOptimisticGuessRounds && !needs_lock; ++round) {
    std::optional<domain::GuessDecision> keyed_wrong;  // its key kept, still to count
    domain::OtpRecord seen;
    auto applied = db_.Run([&](Connection& conn) -> util::Result<OptionalRecorded> {
      keyed_wrong.reset();
      std::optional<int64_t> replay;
      auto context = ReadGuessContext(conn, guess, &replay);
      if (!context.ok()) return context.error();
      if (replay) return OptionalRecorded(Replayed(*replay, context.value().otp));
      domain::GuessDecision decision = decide(context.value());
      account_id = context.value().account_id;
      if (decision.outcome == GuessOutcome::kCorrect) {
        needs_lock = true;
        return OptionalRecorded();
      }
      if (decision.outcome == GuessOutcome::kRefused) return OptionalRecorded(Applied(decision));
      seen = *context.value().otp;
      if (key_kept) {
        keyed_wrong = decision;
        return OptionalRecorded();
      }
      auto counted = CountWrongGuess(conn, account_id, guess, seen);
      if (!counted.ok()) return counted.error();
      return counted.value() ? OptionalRecorded(Applied(decision)) : OptionalRecorded();  // or again
    });
    if (!applied.ok()) return applied.error();
    if (applied.value()) return *applied.value();
    if (!keyed_wrong) continue;
    // Run again after a lost COMMIT, the compare-and-set finds its own count and fails;
    // the next read then finds the key.
    auto counted = db_.TransactIdempotent(
        [&](Connection& conn) { return CountWrongGuess(conn, account_id, guess, seen); });
    if (!counted.ok()) return counted.error();
    if (counted.value()) return Applied(*keyed_wrong);
  }
  return RecordGuessLocked(account_id, guess, decide);
}

// The transaction path, for the account the unlocked read resolved. It keeps the key it
// runs under, one made up when the client sent none: the transaction may run again after
// a COMMIT that went unanswered.
util::Result<domain::RecordedGuess> MysqlOtpRepository::RecordGuessLocked(
    int64_t account_id, const domain::GuessRequest& guess,
    const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) {
  const std::string& phone = guess.phone;
  const std::string key = guess.client_key.empty() ? MadeUpKey(random_) : guess.client_key;
  return db_.TransactIdempotent([&](Connection& conn) -> util::Result<domain::RecordedGuess> {
    // Locks the code row first: a twin of this request waits here.
    auto context = ReadLockedGuessContext(conn, account_id, phone);
    if (!context.ok()) return context.error();
    auto replay = FindReplay(conn, account_id, phone, kGuessOperation, key, guess.now);
    if (!replay.ok()) return replay.error();
    if (replay.value()) return Replayed(*replay.value(), context.value().otp);
    domain::GuessDecision decision = decide(context.value());
    util::Status st = ApplyGuess(conn, account_id, phone, key, decision.outcome, guess.now);
    if (!st.ok()) return st.error();
    st = LogGuess(conn, account_id, phone, key, decision.outcome, guess.now);
    if (!st.ok()) return st.error();
    return Applied(decision);
  });
}

util::Result<std::optional<domain::CodeStatusRecord>> MysqlOtpRepository::FindCodeStatus(
    int64_t account_id, const std::string& phone) {
  using OptionalStatus = std::optional<domain::CodeStatusRecord>;
  return db_.Run([&](Connection& conn) -> util::Result<OptionalStatus> {
    auto rows = conn.Query(
        "SELECT o.code_hash, o.created_at, o.expires_at, o.attempts_used, o.max_attempts, "
        "o.consumed, COALESCE(b.state, ''), COALESCE(b.last_error, ''), "
        "COALESCE(g.last_at, 0) FROM otp_codes o "
        "LEFT JOIN outbox b ON b.id = o.outbox_id "
        "LEFT JOIN limit_gates g ON g.scope = ? AND g.key_ = o.phone "
        "WHERE o.account_id = ? AND o.phone = ?",
        {Param::Text(kLastSendScope), Param::Int(account_id), Param::Text(phone)});
    if (!rows.ok()) return rows.error();
    if (rows.value().empty()) return OptionalStatus();
    const Row& row = rows.value()[0];
    domain::CodeStatusRecord record;
    record.otp = OtpFromRow(row);
    record.delivery_state = row.Text(6);
    record.delivery_error = row.Text(7);
    record.last_send_to_phone = row.Int(8);
    return OptionalStatus(std::move(record));
  });
}

util::Result<std::vector<domain::WindowUsage>> MysqlOtpRepository::Usage(
    const std::vector<domain::WindowLimit>& limits, int64_t now) {
  return db_.Run([&](Connection& conn) { return ReadUsage(conn, limits, now); });
}

util::Result<std::optional<int64_t>> MysqlOtpRepository::PhoneOwner(const std::string& phone) {
  return db_.Run([&](Connection& conn) { return FindPhoneOwner(conn, phone); });
}

}  // namespace phoneverify::storage
