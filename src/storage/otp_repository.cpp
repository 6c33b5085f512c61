#include "storage/otp_repository.h"

#include "domain/otp_policy.h"
#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

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

constexpr char kSendOperation[] = "send";
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

util::Result<domain::SendSnapshot> ReadSendSnapshot(Connection& conn, const domain::SendPlan& plan,
                                                    const PhoneState& phone) {
  domain::SendSnapshot snapshot;
  snapshot.phone_owner = phone.owner;
  snapshot.last_send_to_phone = phone.last_send;
  auto usage = ReadUsage(conn, plan.limits, plan.now);
  if (!usage.ok()) return usage.error();
  snapshot.usage = std::move(usage).value();
  return snapshot;
}

util::Status SupersedeEarlier(Connection& conn, const domain::SendPlan& plan) {
  return conn
      .Exec(
          "UPDATE outbox SET state = 'superseded', sealed_text = NULL, claim_token = NULL "
          "WHERE account_id = ? AND phone = ? AND state IN ('queued', 'retry', 'sending')",
          {Param::Int(plan.account_id), Param::Text(plan.phone)})
      .status();
}

util::Result<int64_t> InsertOutbox(Connection& conn, const domain::SendPlan& plan,
                                   const domain::NewCode& code) {
  auto done = conn.Exec(
      "INSERT INTO outbox (account_id, phone, sealed_text, state, tries, next_attempt_at, "
      "lease_until, last_error, created_at, expires_at, request_id) "
      "VALUES (?, ?, ?, 'queued', 0, ?, 0, '', ?, ?, ?)",
      {Param::Int(plan.account_id), Param::Text(plan.phone), Param::Bytes(code.sealed_text),
       Param::Int(plan.now), Param::Int(plan.now), Param::Int(code.message_expires_at),
       Param::Text(ClampUtf8(code.request_id, 64))});
  if (!done.ok()) return done.error();
  return static_cast<int64_t>(done.value().insert_id);
}

// The row names the send that wrote it (send_key, sql/011).
util::Status UpsertCode(Connection& conn, const domain::SendPlan& plan,
                        const domain::NewCode& code, int64_t outbox_id) {
  const domain::OtpRecord& otp = code.record;
  return conn
      .Exec(
          "INSERT INTO otp_codes (account_id, phone, code_hash, created_at, expires_at, "
          "attempts_used, max_attempts, consumed, outbox_id, send_key) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
          "code_hash = VALUES(code_hash), created_at = VALUES(created_at), "
          "expires_at = VALUES(expires_at), attempts_used = VALUES(attempts_used), "
          "max_attempts = VALUES(max_attempts), consumed = VALUES(consumed), "
          "outbox_id = VALUES(outbox_id), send_key = VALUES(send_key)",
          {Param::Int(plan.account_id), Param::Text(plan.phone), Param::Bytes(otp.code_hash),
           Param::Int(otp.created_at), Param::Int(otp.expires_at), Param::Int(otp.attempts_used),
           Param::Int(otp.max_attempts), Param::Int(otp.consumed ? 1 : 0), Param::Int(outbox_id),
           Param::Text(code.idempotency_key.value)})
      .status();
}

// The gates were stamped when they were locked.
util::Result<int64_t> PersistSend(Connection& conn, const domain::SendPlan& plan,
                                  const domain::NewCode& code, const PhoneState& phone) {
  if (util::Status st = InsertEvents(conn, plan.limits, plan.now); !st.ok()) return st.error();
  // Messages of the pair all come from earlier sends, which left a code row (code rows
  // are replaced, never deleted): without one there is nothing to supersede.
  if (phone.pair_has_code) {
    if (util::Status st = SupersedeEarlier(conn, plan); !st.ok()) return st.error();
  }
  auto outbox_id = InsertOutbox(conn, plan, code);
  if (!outbox_id.ok()) return outbox_id.error();
  util::Status st = UpsertCode(conn, plan, code, outbox_id.value());
  if (!st.ok()) return st.error();
  // A server's key needs no row here: the code row names its send.
  if (code.idempotency_key.from_client) {
    st = LogRequest(conn, plan.account_id, plan.phone, kSendOperation,
                    code.idempotency_key.value, outbox_id.value(), plan.now);
    if (!st.ok()) return st.error();
  }
  return outbox_id;
}

// ---- guessing -----------------------------------------------------------------------

// The guesser (column 0: the account's id), its code row for the phone (columns 1-6 as
// OtpFromRow, NULL when no code was requested), the phone's owner, its last send (only
// for a code whose attempts are used up, the one decision that needs it; else NULL),
// and the result recorded for the request's idempotency key (NULL: none; as FindReplay).
// No row: the guesser is no active account. One round trip, no locks. Every table is
// joined on a unique key bound to constants, so the optimizer reads each as a constant
// table; the same reads as scalar subqueries were planned again on every execution and
// took a fifth of mysqld's time per guess.
constexpr char kGuessColumnsSql[] =
    "SELECT a.id, o.code_hash, o.created_at, o.expires_at, o.attempts_used, o.max_attempts, "
    "o.consumed, w.id, "
    "CASE WHEN o.max_attempts > 0 AND o.attempts_used >= o.max_attempts THEN g.last_at END, ";
// ... the last column, for a key kept (a client's) ...
constexpr char kGuessReplayColumnSql[] = "r.result ";
// ... or for none (a server's key was never recorded here: nothing to look up) ...
constexpr char kGuessNoReplayColumnSql[] = "NULL ";
// ... the guesser by API token (the token check and the code in one statement) ...
constexpr char kGuessByTokenSql[] =
    "FROM api_tokens t JOIN accounts a ON a.id = t.account_id AND a.is_active = 1 ";
// ... or by the account already resolved ...
constexpr char kGuessByAccountSql[] = "FROM accounts a ";
// ... the rows the decision reads (parameters: phone, phone, last-send scope and key) ...
constexpr char kGuessJoinsSql[] =
    "LEFT JOIN otp_codes o ON o.account_id = a.id AND o.phone = ? "
    "LEFT JOIN accounts w ON w.phone = ? AND w.phone_verified = 1 "
    "LEFT JOIN limit_gates g ON g.scope = ? AND g.key_ = ? ";
// ... the kept key's earlier result (parameters: phone, key, since) ...
constexpr char kGuessReplayJoinSql[] =
    "LEFT JOIN idempotency_keys r ON r.account_id = a.id AND r.phone = ? "
    "AND r.operation = 'guess' AND r.idem_key = ? AND r.created_at > ? ";
// ... and the guesser (parameter: the token's hash or the account's id).
constexpr char kGuessWhereTokenSql[] = "WHERE t.token_hash = ?";
constexpr char kGuessWhereAccountSql[] = "WHERE a.id = ? AND a.is_active = 1";

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

// The key the compare-and-set path keeps: a client's, which it may send again. A key the
// server made up guards only re-runs, and that path never runs a write again.
std::string KeptKey(const domain::RequestKey& key) {
  return key.from_client ? key.value : std::string();
}

// The statement for a guesser by token or by account, with or without a kept key.
std::string GuessReadSql(bool by_token, bool key_kept) {
  std::string sql = kGuessColumnsSql;
  sql += key_kept ? kGuessReplayColumnSql : kGuessNoReplayColumnSql;
  sql += by_token ? kGuessByTokenSql : kGuessByAccountSql;
  sql += kGuessJoinsSql;
  if (key_kept) sql += kGuessReplayJoinSql;
  sql += by_token ? kGuessWhereTokenSql : kGuessWhereAccountSql;
  return sql;
}

// One round trip: the guesser, its code row, and what the decision needs besides it,
// with the result recorded for the kept key (in `replay`) if any.
util::Result<domain::GuessContext> ReadGuessContext(Connection& conn,
                                                    const domain::GuessRequest& guess,
                                                    std::optional<int64_t>* replay) {
  const std::string key = KeptKey(guess.key);
  const bool by_token = guess.who.account_id == 0;
  std::vector<Param> params = {Param::Text(guess.phone), Param::Text(guess.phone),
                               Param::Text(kLastSendScope), Param::Bytes(StoredKey(guess.phone))};
  if (!key.empty()) {
    params.insert(params.end(), {Param::Text(guess.phone), Param::Text(key),
                                 Param::Int(guess.now - kReplayWindow)});
  }
  params.push_back(by_token ? Param::Bytes(guess.who.token_hash)
                            : Param::Int(guess.who.account_id));
  // Indexed [by_token][key kept]; built once (the connection caches by the text's address).
  static const std::string sql[2][2] = {{GuessReadSql(false, false), GuessReadSql(false, true)},
                                        {GuessReadSql(true, false), GuessReadSql(true, true)}};
  auto rows = conn.Query(sql[by_token][!key.empty()].c_str(), params);
  if (!rows.ok()) return rows.error();
  domain::GuessContext context;
  if (rows.value().empty()) return context;  // account_id 0: not authenticated
  const Row& row = rows.value()[0];
  context.account_id = row.Int(0);
  if (!row.IsNull(1)) context.otp = OtpFromRow(row, 1);
  if (!row.IsNull(7)) context.phone_owner = row.Int(7);
  context.last_send_to_phone = row.IsNull(8) ? 0 : row.Int(8);
  if (!key.empty() && !row.IsNull(9)) *replay = row.Int(9);
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
  const std::string kept = KeptKey(guess.key);
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

std::optional<GuessOutcome> ReplayedGuess(const std::optional<int64_t>& result) {
  if (!result) return std::nullopt;
  return *result == kGuessCorrect ? GuessOutcome::kCorrect : GuessOutcome::kWrong;
}

constexpr char kRestorePhoneGateSql[] =
    "UPDATE limit_gates SET last_at = prev_at WHERE scope = ? AND key_ = ?";

// A refusal that still counts (SendVerdict::charged): its events, and the phone's gate set
// back to the last send (locking stamped it; a refusal is no send and starts no cooldown).
util::Result<int64_t> ChargeRefusal(Connection& conn, const domain::SendPlan& plan,
                                    const std::vector<size_t>& charged) {
  std::vector<domain::WindowLimit> limits;
  for (size_t i : charged) limits.push_back(plan.limits.at(i));
  if (util::Status st = InsertEvents(conn, limits, plan.now); !st.ok()) return st.error();
  util::Status st = conn.Exec(kRestorePhoneGateSql, {Param::Text(kLastSendScope),
                                                     Param::Bytes(StoredKey(plan.phone))})
                        .status();
  if (!st.ok()) return st.error();
  return int64_t{0};
}

// Returned from a send transaction to roll a replay back; never leaves RecordSend.
util::Error ReplayRollback() {
  return util::Error::Make(util::ErrorKind::kConflict, "replayed", "Replayed request.", "");
}

}  // namespace

util::Result<int64_t> MysqlOtpRepository::RecordSend(
    const domain::SendPlan& plan, const domain::NewCode& code,
    const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) {
  const std::vector<GateKey> gates = GatesFor(plan.limits, {{kLastSendScope, plan.phone}});
  // A replay must not keep the gate stamps LockSendGates wrote: its run is rolled back
  // (kReplayed is only a rollback signal) and the recorded outbox id is returned.
  std::optional<int64_t> replayed;
  std::optional<util::Error> refused;  // a refusal that committed its charged events
  int runs = 0;
  auto queued = db_.TransactIdempotent([&](Connection& conn) -> util::Result<int64_t> {
    replayed.reset();
    refused.reset();
    ++runs;
    // A twin of this request waits at the phone's gate; the same statement looks up
    // the idempotency key once the gate is ours.
    auto phone = LockSendGates(conn, gates, plan.now, plan.account_id, plan.phone,
                               {kSendOperation, code.idempotency_key.value,
                                code.idempotency_key.from_client, plan.now - kReplayWindow,
                                /*rerun=*/runs > 1});
    if (!phone.ok()) return phone.error();
    auto snapshot = ReadSendSnapshot(conn, plan, phone.value());
    if (!snapshot.ok()) return snapshot.error();
    const std::optional<int64_t> replay = phone.value().replay_result;
    snapshot.value().replay_of = replay;
    domain::SendVerdict verdict = decide(snapshot.value());
    if (!verdict.status.ok()) {
      if (verdict.charged.empty()) return verdict.status.error();
      refused = verdict.status.error();
      return ChargeRefusal(conn, plan, verdict.charged);
    }
    if (replay) {
      replayed = *replay;
      return ReplayRollback();
    }
    return PersistSend(conn, plan, code, phone.value());
  });
  if (replayed) return *replayed;
  if (refused && queued.ok()) return *refused;
  if (queued.ok() && on_queued_) on_queued_();
  return queued;
}

// Wrong guesses (the common case: every brute-force attempt is one) and refusals need
// no transaction: one read resolves the guesser (an API token too) and finds its code row
// with the idempotency key's earlier result, the decider runs, and a wrong guess is
// counted by a compare-and-set (kCountWrongGuessSql), autocommit: two round trips. A
// wrong guess with a client's key counts it and records the key in one transaction
// (CountWrongGuess) instead. A replay of a wrong guess is answered from that read. A
// correct guess (or a replay of one) changes two rows and takes the locking
// transaction, as does a guess whose compare-and-set keeps losing to concurrent changes.
//
// Twins of one key: both may read before either writes; the first compare-and-set wins,
// the second finds attempts_used changed, reads again and finds the first one's key
// (committed with the count), so it answers as a replay. A resend in between changes
// code_hash: the late twin's write fails the same way.
util::Result<domain::GuessDecision> MysqlOtpRepository::RecordGuess(
    const domain::GuessRequest& guess,
    const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) {
  using OptionalDecision = std::optional<domain::GuessDecision>;
  const bool key_kept = !KeptKey(guess.key).empty();
  int64_t account_id = 0;  // resolved by the first read
  bool needs_lock = false;
  for (int round = 0; round < kOptimisticGuessRounds && !needs_lock; ++round) {
    OptionalDecision keyed_wrong;  // a wrong guess whose key is kept, still to count
    domain::OtpRecord seen;
    auto applied = db_.Run([&](Connection& conn) -> util::Result<OptionalDecision> {
      keyed_wrong.reset();
      std::optional<int64_t> replay;
      auto context = ReadGuessContext(conn, guess, &replay);
      if (!context.ok()) return context.error();
      context.value().replay_of = ReplayedGuess(replay);
      domain::GuessDecision decision = decide(context.value());
      account_id = context.value().account_id;
      if (decision.outcome == GuessOutcome::kCorrect) {
        needs_lock = true;  // also a replay of a correct guess: answered there
        return OptionalDecision();
      }
      if (decision.outcome == GuessOutcome::kRefused || context.value().replay_of) {
        return OptionalDecision(decision);
      }
      seen = *context.value().otp;
      if (key_kept) {
        keyed_wrong = decision;
        return OptionalDecision();
      }
      auto counted = CountWrongGuess(conn, account_id, guess, seen);
      if (!counted.ok()) return counted.error();
      return counted.value() ? OptionalDecision(decision) : OptionalDecision();  // or again
    });
    if (!applied.ok()) return applied.error();
    if (applied.value()) return *applied.value();
    if (!keyed_wrong) continue;
    // Run again after a lost COMMIT, the compare-and-set finds its own count and fails;
    // the next read then finds the key.
    auto counted = db_.TransactIdempotent(
        [&](Connection& conn) { return CountWrongGuess(conn, account_id, guess, seen); });
    if (!counted.ok()) return counted.error();
    if (counted.value()) return *keyed_wrong;
  }
  return RecordGuessLocked(account_id, guess, decide);
}

// The transaction path, for the account the unlocked read resolved. It keeps every key,
// a server's too: the transaction may run again after a COMMIT that went unanswered.
util::Result<domain::GuessDecision> MysqlOtpRepository::RecordGuessLocked(
    int64_t account_id, const domain::GuessRequest& guess,
    const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) {
  const std::string& phone = guess.phone;
  const std::string& key = guess.key.value;
  return db_.TransactIdempotent([&](Connection& conn) -> util::Result<domain::GuessDecision> {
    // Locks the code row first: a twin of this request waits here.
    auto context = ReadLockedGuessContext(conn, account_id, phone);
    if (!context.ok()) return context.error();
    auto replay = FindReplay(conn, account_id, phone, kGuessOperation, key, guess.now);
    if (!replay.ok()) return replay.error();
    context.value().replay_of = ReplayedGuess(replay.value());
    domain::GuessDecision decision = decide(context.value());
    if (context.value().replay_of) return decision;
    util::Status st = ApplyGuess(conn, account_id, phone, key, decision.outcome, guess.now);
    if (!st.ok()) return st.error();
    st = LogGuess(conn, account_id, phone, key, decision.outcome, guess.now);
    if (!st.ok()) return st.error();
    return decision;
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
