#include "storage/admin_repository.h"

#include <algorithm>
#include <map>

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

constexpr int64_t kPurgeBatch = 1000;
constexpr int64_t kDaySeconds = 24 * 3600;  // the longest limit window
constexpr size_t kErrorChars = 255;         // outbox.last_error

// Column order of every account SELECT below: ReadAccount's ten columns, then these.
AdminAccount AccountFromRow(const Row& row) {
  AdminAccount out;
  out.account = ReadAccount(row);
  out.last_login = row.Int(10);
  out.phone_verified_at = row.Int(11);
  out.tokens = row.Int(12);
  return out;
}

util::Result<std::optional<AdminAccount>> FirstAccount(util::Result<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<AdminAccount>();
  return std::optional<AdminAccount>(AccountFromRow(rows.value()[0]));
}

// Column order of every outbox SELECT below.
AdminMessage MessageFromRow(const Row& row) {
  AdminMessage m;
  m.id = row.Int(0);
  m.account_id = row.Int(1);
  m.phone = row.Text(2);
  m.state = row.Text(3);
  m.tries = static_cast<int>(row.Int(4));
  m.next_attempt_at = row.Int(5);
  m.created_at = row.Int(6);
  m.sent_at = row.Int(7);
  m.expires_at = row.Int(8);
  m.last_error = row.Text(9);
  m.holds_text = row.Int(10) != 0;
  return m;
}

util::Result<std::vector<AdminMessage>> Messages(util::Result<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.error();
  std::vector<AdminMessage> out;
  for (const Row& row : rows.value()) out.push_back(MessageFromRow(row));
  return out;
}

util::Result<int64_t> Affected(util::Result<ExecResult> done) {
  if (!done.ok()) return done.error();
  return static_cast<int64_t>(done.value().affected_rows);
}

util::Result<int64_t> EndSessions(Connection& conn, int64_t account_id) {
  return Affected(conn.Exec("DELETE FROM sessions WHERE account_id = ?", {Param::Int(account_id)}));
}

util::Status Deactivated(Connection& conn, int64_t account_id, ActivationChange& change) {
  auto tokens =
      Affected(conn.Exec("DELETE FROM api_tokens WHERE account_id = ?", {Param::Int(account_id)}));
  if (!tokens.ok()) return tokens.error();
  change.tokens_revoked = tokens.value();
  auto sessions = EndSessions(conn, account_id);
  if (!sessions.ok()) return sessions.error();
  change.sessions_ended = sessions.value();
  auto cancelled =
      Affected(conn.Exec("UPDATE outbox SET state = 'failed', last_error = 'account deactivated', "
                         "sealed_text = NULL, claim_token = NULL, lease_until = 0 "
                         "WHERE account_id = ? AND state IN ('queued', 'retry', 'sending')",
                         {Param::Int(account_id)}));
  if (!cancelled.ok()) return cancelled.error();
  change.messages_cancelled = cancelled.value();
  return util::Status::Ok();
}

// ---- retry --------------------------------------------------------------------------

RetryOutcome NotApplicable(const AdminMessage& message, std::string reason) {
  return RetryOutcome{RetryKind::kNotApplicable, std::move(reason), message};
}

util::Result<RetryOutcome> RequeueNow(Connection& conn, const AdminMessage& message, int64_t now) {
  if (!message.holds_text) return NotApplicable(message, "its text is gone");
  if (message.expires_at <= now) {
    return NotApplicable(message, "its code has expired; the dispatcher will fail it");
  }
  auto done = conn.Exec("UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                        {Param::Int(now), Param::Int(message.id)});
  if (!done.ok()) return done.error();
  return RetryOutcome{RetryKind::kRequeued, "due now: the same code goes out again", message};
}

// Gives back what the failed send took from the limits: the per-phone, per-account and
// budget events recorded at the send's time, and the phone's resend cooldown.
util::Status RefundSend(Connection& conn, const AdminMessage& message) {
  auto gate = conn.Exec("UPDATE limit_gates SET last_at = 0 WHERE scope = ? AND key_ = ?",
                        {Param::Text(kLastSendScope), Param::Bytes(StoredKey(message.phone))});
  if (!gate.ok()) return gate.error();
  const std::pair<const char*, std::string> events[] = {
      {"phone_day", message.phone},
      {"account_day", std::to_string(message.account_id)},
      {"budget_day", ""}};
  for (const auto& [scope, key] : events) {
    auto done = conn.Exec(
        "DELETE FROM limit_events WHERE scope = ? AND key_ = ? AND at = ? LIMIT 1",
        {Param::Text(scope), Param::Bytes(StoredKey(key)), Param::Int(message.created_at)});
    if (!done.ok()) return done.error();
  }
  return util::Status::Ok();
}

util::Result<RetryOutcome> AllowResend(Connection& conn, const AdminMessage& message) {
  const std::string remark = kResendAllowedRemark;
  if (message.last_error.size() >= remark.size() &&
      message.last_error.compare(message.last_error.size() - remark.size(), remark.size(),
                                 remark) == 0) {
    return NotApplicable(message, "a resend was already allowed for it");
  }
  auto code = conn.Query(
      "SELECT consumed FROM otp_codes WHERE account_id = ? AND phone = ? AND outbox_id = ? "
      "FOR UPDATE",
      {Param::Int(message.account_id), Param::Text(message.phone), Param::Int(message.id)});
  if (!code.ok()) return code.error();
  if (code.value().empty()) {
    return NotApplicable(message, "a newer code was requested since (or the code was purged)");
  }
  if (code.value()[0].Int(0) != 0) return NotApplicable(message, "the phone was verified");
  if (util::Status st = RefundSend(conn, message); !st.ok()) return st.error();
  const std::string marked = ClampUtf8(message.last_error, kErrorChars - remark.size()) + remark;
  auto done = conn.Exec("UPDATE outbox SET last_error = ? WHERE id = ?",
                        {Param::Text(marked), Param::Int(message.id)});
  if (!done.ok()) return done.error();
  return RetryOutcome{RetryKind::kResendAllowed,
                      "its text is erased, so it cannot be sent again; the user may request "
                      "a new code now (cooldown cleared, the failed send no longer counts)",
                      message};
}

util::Result<RetryOutcome> RetryLocked(Connection& conn, int64_t message_id, int64_t now) {
  auto rows = conn.Query(
      "SELECT id, account_id, phone, state, tries, next_attempt_at, created_at, "
      "COALESCE(sent_at, 0), expires_at, last_error, sealed_text IS NOT NULL "
      "FROM outbox WHERE id = ? FOR UPDATE",
      {Param::Int(message_id)});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return RetryOutcome{};
  const AdminMessage message = MessageFromRow(rows.value()[0]);
  if (message.state == "queued" || message.state == "retry") {
    return RequeueNow(conn, message, now);
  }
  if (message.state == "failed") return AllowResend(conn, message);
  if (message.state == "sending") return NotApplicable(message, "it is being sent right now");
  if (message.state == "sent") return NotApplicable(message, "it was delivered");
  return NotApplicable(message, "a newer code replaced it");
}

// ---- purge --------------------------------------------------------------------------

// Runs `sql` (a DELETE ... LIMIT ?) with `params` + batch size until a batch comes back
// short; each batch commits on its own, so no lock is held for long.
util::Result<int64_t> DeleteInBatches(Database& db, const char* sql, std::vector<Param> params) {
  params.push_back(Param::Int(kPurgeBatch));
  int64_t total = 0;
  for (;;) {
    auto done = db.Run([&](Connection& conn) { return Affected(conn.Exec(sql, params)); });
    if (!done.ok()) return done.error();
    total += done.value();
    if (done.value() < kPurgeBatch) return total;
  }
}

// ---- figures ------------------------------------------------------------------------

util::Result<int64_t> Count(Connection& conn, const char* sql, int64_t from, int64_t to) {
  auto rows = conn.Query(sql, {Param::Int(from), Param::Int(to)});
  if (!rows.ok()) return rows.error();
  return rows.value().empty() ? int64_t{0} : rows.value()[0].Int(0);
}

util::Status OutboxFigures(Connection& conn, int64_t from, int64_t to, DayFigures& out) {
  auto rows = conn.Query(
      "SELECT state, COUNT(*), CAST(COALESCE(SUM(GREATEST(tries - 1, 0)), 0) AS SIGNED) "
      "FROM outbox WHERE created_at >= ? AND created_at < ? GROUP BY state",
      {Param::Int(from), Param::Int(to)});
  if (!rows.ok()) return rows.error();
  for (const Row& row : rows.value()) {
    const std::string& state = row.Text(0);
    const int64_t n = row.Int(1);
    out.sends += n;
    out.gateway_retries += row.Int(2);
    if (state == "sent") {
      out.sent += n;
    } else if (state == "failed") {
      out.failed += n;
    } else if (state == "superseded") {
      out.superseded += n;
    } else {
      out.pending += n;
    }
  }
  return util::Status::Ok();
}

util::Status SentByFigures(Connection& conn, int64_t from, int64_t to, DayFigures& out) {
  auto rows = conn.Query(
      "SELECT sent_by, COUNT(*) FROM outbox WHERE created_at >= ? AND created_at < ? "
      "AND state = 'sent' GROUP BY sent_by ORDER BY COUNT(*) DESC, sent_by",
      {Param::Int(from), Param::Int(to)});
  if (!rows.ok()) return rows.error();
  for (const Row& row : rows.value()) out.sent_by.emplace_back(row.Text(0), row.Int(1));
  return util::Status::Ok();
}

util::Status FailureFigures(Connection& conn, int64_t from, int64_t to, DayFigures& out) {
  auto rows = conn.Query(
      "SELECT last_error, COUNT(*) FROM outbox "
      "WHERE created_at >= ? AND created_at < ? AND state = 'failed' GROUP BY last_error",
      {Param::Int(from), Param::Int(to)});
  if (!rows.ok()) return rows.error();
  std::map<std::string, FailureCount> by_key;
  for (const Row& row : rows.value()) {
    FailureCount split = SplitFailure(row.Text(0));  // count 0
    by_key.try_emplace(split.key, split).first->second.count += row.Int(1);
  }
  for (auto& [key, failure] : by_key) out.failures.push_back(std::move(failure));
  std::stable_sort(out.failures.begin(), out.failures.end(),
                   [](const auto& a, const auto& b) { return a.count > b.count; });
  return util::Status::Ok();
}

}  // namespace

FailureCount SplitFailure(const std::string& last_error) {
  std::string text = last_error;
  const size_t remark = text.find(kResendAllowedRemark);
  if (remark != std::string::npos) text.erase(remark);
  FailureCount out;
  const size_t colon = text.find(':');
  out.key = text.substr(0, colon);
  if (colon != std::string::npos) {
    const size_t start = text.find_first_not_of(' ', colon + 1);
    if (start != std::string::npos) out.reason = text.substr(start);
  }
  if (out.key.empty()) out.key = "(no reason recorded)";
  return out;
}

util::Result<std::vector<AdminAccount>> AdminRepository::ListAccounts(const AccountFilter& f) {
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<AdminAccount>> {
    auto rows = conn.Query(
        "SELECT a.id, a.username, a.email, a.first_name, a.last_name, a.phone, a.pending_phone, "
        "a.phone_verified, a.is_active, a.date_joined, COALESCE(a.last_login, 0), "
        "COALESCE(a.phone_verified_at, 0), "
        "(SELECT COUNT(*) FROM api_tokens t WHERE t.account_id = a.id) "
        "FROM accounts a WHERE a.id > ? AND (? = 0 OR a.is_active = 0) "
        "AND (? = 0 OR a.phone_verified = 0) ORDER BY a.id LIMIT ?",
        {Param::Int(f.after_id), Param::Int(f.only_inactive ? 1 : 0),
         Param::Int(f.only_unverified ? 1 : 0), Param::Int(f.limit)});
    if (!rows.ok()) return rows.error();
    std::vector<AdminAccount> out;
    for (const Row& row : rows.value()) out.push_back(AccountFromRow(row));
    return out;
  });
}

util::Result<std::optional<AdminAccount>> AdminRepository::FindAccount(int64_t id) {
  return db_.Run([&](Connection& conn) {
    return FirstAccount(conn.Query(
        "SELECT a.id, a.username, a.email, a.first_name, a.last_name, a.phone, a.pending_phone, "
        "a.phone_verified, a.is_active, a.date_joined, COALESCE(a.last_login, 0), "
        "COALESCE(a.phone_verified_at, 0), "
        "(SELECT COUNT(*) FROM api_tokens t WHERE t.account_id = a.id) "
        "FROM accounts a WHERE a.id = ?",
        {Param::Int(id)}));
  });
}

util::Result<std::optional<AdminAccount>> AdminRepository::FindAccountByUsernameKey(
    const std::string& key) {
  return db_.Run([&](Connection& conn) {
    return FirstAccount(conn.Query(
        "SELECT a.id, a.username, a.email, a.first_name, a.last_name, a.phone, a.pending_phone, "
        "a.phone_verified, a.is_active, a.date_joined, COALESCE(a.last_login, 0), "
        "COALESCE(a.phone_verified_at, 0), "
        "(SELECT COUNT(*) FROM api_tokens t WHERE t.account_id = a.id) "
        "FROM accounts a WHERE a.username_key = ?",
        {Param::Text(key)}));
  });
}

util::Result<std::vector<AdminCode>> AdminRepository::CodesOf(int64_t account_id) {
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<AdminCode>> {
    auto rows = conn.Query(
        "SELECT c.account_id, c.phone, c.created_at, c.expires_at, c.attempts_used, "
        "c.max_attempts, c.consumed, COALESCE(c.outbox_id, 0), COALESCE(b.state, '') "
        "FROM otp_codes c LEFT JOIN outbox b ON b.id = c.outbox_id "
        "WHERE c.account_id = ? ORDER BY c.created_at DESC",
        {Param::Int(account_id)});
    if (!rows.ok()) return rows.error();
    std::vector<AdminCode> out;
    for (const Row& row : rows.value()) {
      out.push_back(AdminCode{row.Int(0), row.Text(1), row.Int(2), row.Int(3),
                              static_cast<int>(row.Int(4)), static_cast<int>(row.Int(5)),
                              row.Int(6) != 0, row.Int(7), row.Text(8)});
    }
    return out;
  });
}

util::Result<std::vector<AdminMessage>> AdminRepository::MessagesOf(int64_t account_id, int limit) {
  return db_.Run([&](Connection& conn) {
    return Messages(
        conn.Query("SELECT id, account_id, phone, state, tries, next_attempt_at, created_at, "
                   "COALESCE(sent_at, 0), expires_at, last_error, sealed_text IS NOT NULL "
                   "FROM outbox WHERE account_id = ? ORDER BY id DESC LIMIT ?",
                   {Param::Int(account_id), Param::Int(limit)}));
  });
}

util::Result<ActivationChange> AdminRepository::SetActive(int64_t account_id, bool active) {
  return db_.Transact([&](Connection& conn) -> util::Result<ActivationChange> {
    ActivationChange change;
    auto updated = Affected(conn.Exec(
        "UPDATE accounts SET is_active = ? WHERE id = ? AND is_active <> ?",
        {Param::Int(active ? 1 : 0), Param::Int(account_id), Param::Int(active ? 1 : 0)}));
    if (!updated.ok()) return updated.error();
    change.changed = updated.value() > 0;
    if (change.changed && !active) {
      if (util::Status st = Deactivated(conn, account_id, change); !st.ok()) return st.error();
    }
    return change;
  });
}

util::Result<UnlockResult> AdminRepository::UnlockPhone(const std::string& phone) {
  return db_.Transact([&](Connection& conn) -> util::Result<UnlockResult> {
    UnlockResult result;
    auto codes =
        Affected(conn.Exec("UPDATE otp_codes SET attempts_used = 0 "
                           "WHERE phone = ? AND consumed = 0 AND attempts_used > 0",
                           {Param::Text(phone)}));
    if (!codes.ok()) return codes.error();
    result.codes_reset = codes.value();
    auto gate = Affected(
        conn.Exec("UPDATE limit_gates SET last_at = 0 WHERE scope = ? AND key_ = ? AND last_at > 0",
                  {Param::Text(kLastSendScope), Param::Bytes(StoredKey(phone))}));
    if (!gate.ok()) return gate.error();
    result.cooldown_cleared = gate.value();
    auto events =
        Affected(conn.Exec("DELETE FROM limit_events WHERE scope = 'phone_day' AND key_ = ?",
                           {Param::Bytes(StoredKey(phone))}));
    if (!events.ok()) return events.error();
    result.sends_forgotten = events.value();
    return result;
  });
}

util::Result<std::vector<AdminMessage>> AdminRepository::PendingMessages(int limit) {
  return db_.Run([&](Connection& conn) {
    return Messages(
        conn.Query("SELECT id, account_id, phone, state, tries, next_attempt_at, created_at, "
                   "COALESCE(sent_at, 0), expires_at, last_error, sealed_text IS NOT NULL "
                   "FROM outbox WHERE state IN ('queued', 'retry', 'sending') ORDER BY id LIMIT ?",
                   {Param::Int(limit)}));
  });
}

util::Result<std::vector<AdminMessage>> AdminRepository::FailedMessages(int64_t since, int limit) {
  return db_.Run([&](Connection& conn) {
    return Messages(conn.Query(
        "SELECT id, account_id, phone, state, tries, next_attempt_at, created_at, "
        "COALESCE(sent_at, 0), expires_at, last_error, sealed_text IS NOT NULL "
        "FROM outbox WHERE state = 'failed' AND created_at >= ? ORDER BY id DESC LIMIT ?",
        {Param::Int(since), Param::Int(limit)}));
  });
}

util::Result<RetryOutcome> AdminRepository::Retry(int64_t message_id, int64_t now) {
  return db_.Transact([&](Connection& conn) { return RetryLocked(conn, message_id, now); });
}

util::Result<PurgeCounts> AdminRepository::Purge(int64_t now, int64_t outbox_before,
                                                 int64_t session_idle, int64_t session_max_age) {
  PurgeCounts counts;
  auto codes = DeleteInBatches(db_, "DELETE FROM otp_codes WHERE expires_at <= ? LIMIT ?",
                               {Param::Int(now)});
  if (!codes.ok()) return codes.error();
  counts.codes = codes.value();
  auto outbox = DeleteInBatches(db_,
                                "DELETE FROM outbox WHERE created_at < ? "
                                "AND state IN ('sent', 'failed', 'superseded') LIMIT ?",
                                {Param::Int(outbox_before)});
  if (!outbox.ok()) return outbox.error();
  counts.outbox = outbox.value();
  auto events = DeleteInBatches(db_, "DELETE FROM limit_events WHERE at <= ? LIMIT ?",
                                {Param::Int(now - kDaySeconds)});
  if (!events.ok()) return events.error();
  counts.limit_events = events.value();
  // A session ends after session_idle_timeout without a request or session_max_age after
  // sign-in (src/domain/session_service.cpp); rows past either are dead.
  auto sessions = DeleteInBatches(
      db_, "DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ? LIMIT ?",
      {Param::Int(now - session_idle), Param::Int(now - session_max_age)});
  if (!sessions.ok()) return sessions.error();
  counts.sessions = sessions.value();
  return counts;
}

util::Result<DayFigures> AdminRepository::Figures(int64_t from, int64_t to) {
  return db_.Run([&](Connection& conn) -> util::Result<DayFigures> {
    DayFigures out;
    auto signups = Count(
        conn, "SELECT COUNT(*) FROM accounts WHERE date_joined >= ? AND date_joined < ?", from, to);
    if (!signups.ok()) return signups.error();
    out.signups = signups.value();
    auto verified = Count(conn,
                          "SELECT COUNT(*) FROM accounts "
                          "WHERE phone_verified_at >= ? AND phone_verified_at < ?",
                          from, to);
    if (!verified.ok()) return verified.error();
    out.verifications = verified.value();
    if (util::Status st = OutboxFigures(conn, from, to, out); !st.ok()) return st.error();
    if (util::Status st = SentByFigures(conn, from, to, out); !st.ok()) return st.error();
    if (util::Status st = FailureFigures(conn, from, to, out); !st.ok()) return st.error();
    return out;
  });
}

}  // namespace phoneverify::storage
