#include "storage/outbox_repository.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "domain/otp_policy.h"
#include "storage/api_answers.h"
#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "storage/verification_repository.h"

namespace phoneverify::storage {
namespace {

constexpr size_t kErrorChars = 255;    // outbox.last_error
constexpr int64_t kPruneBatch = 1000;  // rows deleted per table per ExpireStale
constexpr int64_t kLongestWindow = domain::kDay;
constexpr int kExpireBatch = 200;  // verifications expired per ExpireStale

util::Result<bool> Applied(util::Result<ExecResult> done) {
  if (!done.ok()) return done.error();
  return done.value().affected_rows > 0;
}

util::Result<std::vector<domain::OutboxMessage>> ReadClaimed(Connection& conn,
                                                             const std::string& claim_token) {
  auto rows = conn.Query(
      "SELECT id, phone, sealed_text, tries, expires_at, request_id, verification_id "
      "FROM outbox "
      "WHERE claim_token = ? AND state = 'sending' ORDER BY id",
      {Param::Bytes(claim_token)});
  if (!rows.ok()) return rows.error();
  std::vector<domain::OutboxMessage> messages;
  for (const Row& row : rows.value()) {
    domain::OutboxMessage message;
    message.id = row.Int(0);
    message.phone = row.Text(1);
    message.sealed_text = row.Text(2);
    message.tries = static_cast<int>(row.Int(3));
    message.expires_at = row.Int(4);
    message.request_id = row.Text(5);
    message.verification_id = row.Int(6);  // 0 when NULL (an account's message)
    messages.push_back(std::move(message));
  }
  return messages;
}

// The due rows of each kind, oldest first: retries (already late), then queued, then
// sends whose dispatcher vanished (lease ran out). One statement per kind, each in the
// order of ix_outbox_due (state, next_attempt_at), so a claim reads about as many index
// entries as it takes rows however long the queue; a single statement over all three
// kinds sorted by id had to read and sort the whole queue on every claim. A claim sets
// next_attempt_at to the lease end as well as lease_until (sql/008 dropped the lease
// index); the third statement still checks lease_until, which alone is right for rows
// claimed before that change. Claimed rows are read back through ix_outbox_claim: by
// (state, next_attempt_at) it would read every row claimed in the same second.
// Parameters: claim token, lease end, lease end, then `now` once per `?` of the WHERE
// clause, then how many.
constexpr const char* kClaimSql[] = {
    "UPDATE outbox SET claim_token = ?, lease_until = ?, next_attempt_at = ?, "
    "state = 'sending', tries = tries + 1 "
    "WHERE state = 'retry' AND next_attempt_at <= ? AND expires_at > ? "
    "ORDER BY next_attempt_at LIMIT ?",
    "UPDATE outbox SET claim_token = ?, lease_until = ?, next_attempt_at = ?, "
    "state = 'sending', tries = tries + 1 "
    "WHERE state = 'queued' AND next_attempt_at <= ? AND expires_at > ? "
    "ORDER BY next_attempt_at LIMIT ?",
    "UPDATE outbox SET claim_token = ?, lease_until = ?, next_attempt_at = ?, "
    "state = 'sending', tries = tries + 1 "
    "WHERE state = 'sending' AND next_attempt_at <= ? AND lease_until <= ? AND expires_at > ? "
    "ORDER BY next_attempt_at LIMIT ?",
};

util::Status Prune(Connection& conn, int64_t now, int64_t keep_finished) {
  auto events = conn.Exec("DELETE FROM limit_events WHERE at <= ? LIMIT ?",
                          {Param::Int(now - kLongestWindow), Param::Int(kPruneBatch)});
  if (!events.ok()) return events.error();
  auto requests = conn.Exec("DELETE FROM idempotency_keys WHERE created_at <= ? LIMIT ?",
                            {Param::Int(now - kLongestWindow), Param::Int(kPruneBatch)});
  if (!requests.ok()) return requests.error();
  auto answers = PruneAnswers(conn, now - kAnswerKeepSeconds, kPruneBatch);
  if (!answers.ok()) return answers.error();
  return conn
      .Exec(
          "DELETE FROM outbox WHERE created_at <= ? "
          "AND state IN ('sent', 'failed', 'superseded') LIMIT ?",
          {Param::Int(now - keep_finished), Param::Int(kPruneBatch)})
      .status();
}

// Each mark applies only to a row still 'sending' under the claim's token. sent and failed
// erase the text. The claim token stays on a sent row: no claim reads a sent row, and
// leaving it spares one index entry rewrite (ix_outbox_claim) per SMS. A release hands
// the row back due at once, its try given back.
util::Result<bool> WriteMark(Connection& conn, const domain::OutboxMark& mark) {
  using Kind = domain::OutboxMark::Kind;
  const Param id = Param::Int(mark.id);
  const Param token = Param::Bytes(mark.claim_token);
  switch (mark.kind) {
    case Kind::kSent:
      return Applied(
          conn.Exec("UPDATE outbox SET state = 'sent', sent_at = ?, sent_by = ?, "
                    "sealed_text = NULL, lease_until = 0, last_error = '' "
                    "WHERE id = ? AND claim_token = ? AND state = 'sending'",
                    {Param::Int(mark.at), Param::Text(mark.backend), id, token}));
    case Kind::kRetry:
      return Applied(
          conn.Exec("UPDATE outbox SET state = 'retry', next_attempt_at = ?, last_error = ?, "
                    "claim_token = NULL, lease_until = 0 "
                    "WHERE id = ? AND claim_token = ? AND state = 'sending'",
                    {Param::Int(mark.at), Param::Text(ClampUtf8(mark.error, kErrorChars)), id,
                     token}));
    case Kind::kFailed:
      return Applied(
          conn.Exec("UPDATE outbox SET state = 'failed', sealed_text = NULL, last_error = ?, "
                    "claim_token = NULL, lease_until = 0 "
                    "WHERE id = ? AND claim_token = ? AND state = 'sending'",
                    {Param::Text(ClampUtf8(mark.error, kErrorChars)), id, token}));
    case Kind::kReleased:
      return Applied(
          conn.Exec("UPDATE outbox SET state = 'retry', tries = GREATEST(tries - 1, 0), "
                    "claim_token = NULL, lease_until = 0, next_attempt_at = 0 "
                    "WHERE id = ? AND claim_token = ? AND state = 'sending'",
                    {id, token}));
  }
  return util::Error::Internal();
}

// "UPDATE ... sent ... WHERE claim_token = ? AND state = 'sending' AND id IN (n ?s)" for
// the n of kSentTogetherSizes: a few fixed texts, so the connection's statement cache
// keeps a few prepared statements (it is keyed by the text's address).
constexpr size_t kSentTogetherSizes[] = {1, 2, 4, 8, 16, 32, 64, 128};

// The smallest of kSentTogetherSizes that holds `ids`, and its statement.
size_t SentTogetherSize(size_t ids) {
  for (size_t n : kSentTogetherSizes) {
    if (ids <= n) return n;
  }
  return kSentTogetherSizes[std::size(kSentTogetherSizes) - 1];
}

const char* SentTogetherSql(size_t size) {
  static const std::map<size_t, std::string> texts = [] {
    std::map<size_t, std::string> built;
    for (size_t n : kSentTogetherSizes) {
      std::string sql =
          "UPDATE outbox SET state = 'sent', sent_at = ?, sent_by = ?, sealed_text = NULL, "
          "lease_until = 0, last_error = '' "
          "WHERE claim_token = ? AND state = 'sending' AND id IN (?";
      for (size_t i = 1; i < n; ++i) sql += ", ?";
      built[n] = sql + ")";
    }
    return built;
  }();
  return texts.at(size).c_str();
}

// Marks sent, in statements of up to 128, the marks at `indexes` (one claim, one time,
// one backend);
// sets `held` for each. The id list is padded with its last id to the statement's size.
// When fewer rows changed than ids were given, some claims were lost: the rows still
// under this claim and now sent are the ones held (a sent row keeps its claim token).
util::Status WriteSentTogether(Connection& conn, const std::vector<domain::OutboxMark>& marks,
                               const std::vector<size_t>& indexes, std::vector<bool>& held) {
  constexpr size_t kMost = kSentTogetherSizes[std::size(kSentTogetherSizes) - 1];
  const domain::OutboxMark& first = marks[indexes.front()];
  for (size_t from = 0; from < indexes.size(); from += kMost) {
    const size_t count = std::min(kMost, indexes.size() - from);
    const size_t size = SentTogetherSize(count);
    std::vector<Param> params = {Param::Int(first.at), Param::Text(first.backend),
                                 Param::Bytes(first.claim_token)};
    for (size_t i = 0; i < size; ++i) {
      params.push_back(Param::Int(marks[indexes[from + std::min(i, count - 1)]].id));
    }
    auto done = conn.Exec(SentTogetherSql(size), params);
    if (!done.ok()) return done.error();
    const bool all = done.value().affected_rows >= count;
    for (size_t i = 0; i < count; ++i) held[indexes[from + i]] = all;
    if (all) continue;
    for (size_t i = 0; i < count; ++i) {
      auto still = conn.Query(
          "SELECT 1 FROM outbox WHERE id = ? AND claim_token = ? AND state = 'sent'",
          {Param::Int(marks[indexes[from + i]].id), Param::Bytes(first.claim_token)});
      if (!still.ok()) return still.error();
      held[indexes[from + i]] = !still.value().empty();
    }
  }
  return util::Status::Ok();
}

}  // namespace

util::Result<std::vector<domain::OutboxMessage>> MysqlOutboxRepository::Claim(
    const std::string& claim_token, int64_t now, int64_t lease_seconds, int max,
    bool take_abandoned) {
  if (max <= 0) return std::vector<domain::OutboxMessage>();
  // Each statement stamps the rows it takes, so two claimers never both take one: the
  // second waits for the first's row locks and then sees the rows already leased. Each
  // commits on its own (no transaction: two round trips less per claim): rows stamped
  // by a claim whose answer is lost stay leased until the lease ends, as after a lost
  // COMMIT. The token is fresh per claim, so a re-run (deadlock) reads them all.
  const int64_t lease_until = now + lease_seconds;
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<domain::OutboxMessage>> {
    int64_t claimed = 0;
    for (const char* sql : kClaimSql) {
      if (sql == kClaimSql[2] && !take_abandoned) break;
      std::vector<Param> params = {Param::Bytes(claim_token), Param::Int(lease_until),
                                   Param::Int(lease_until), Param::Int(now), Param::Int(now)};
      if (sql == kClaimSql[2]) params.push_back(Param::Int(now));
      params.push_back(Param::Int(max - claimed));
      auto done = conn.Exec(sql, params);
      if (!done.ok()) return done.error();
      claimed += static_cast<int64_t>(done.value().affected_rows);
      if (claimed >= max) break;
    }
    if (claimed == 0) return std::vector<domain::OutboxMessage>();
    return ReadClaimed(conn, claim_token);
  });
}

util::Result<bool> MysqlOutboxRepository::MarkSent(int64_t id, const std::string& claim_token,
                                                   int64_t now) {
  return WriteOne({domain::OutboxMark::Kind::kSent, id, claim_token, now, "", ""});
}

util::Result<bool> MysqlOutboxRepository::MarkRetry(int64_t id, const std::string& claim_token,
                                                    int64_t next_attempt_at,
                                                    const std::string& error) {
  return WriteOne({domain::OutboxMark::Kind::kRetry, id, claim_token, next_attempt_at, error, ""});
}

util::Result<bool> MysqlOutboxRepository::MarkFailed(int64_t id, const std::string& claim_token,
                                                     int64_t now, const std::string& error) {
  return WriteOne({domain::OutboxMark::Kind::kFailed, id, claim_token, now, error, ""});
}

util::Result<bool> MysqlOutboxRepository::Release(int64_t id, const std::string& claim_token) {
  return WriteOne({domain::OutboxMark::Kind::kReleased, id, claim_token, 0, "", ""});
}

util::Result<bool> MysqlOutboxRepository::WriteOne(const domain::OutboxMark& mark) {
  return db_.Run([&](Connection& conn) { return WriteMark(conn, mark); });
}

util::Result<std::vector<bool>> MysqlOutboxRepository::MarkMany(
    const std::vector<domain::OutboxMark>& marks) {
  // The sent marks of one claim (most of them, under load) go in one statement; the rest
  // one by one. One statement in all commits on its own; more share one transaction.
  // Re-runnable: a deadlock rolls every mark back and the whole list runs again; each
  // mark applies only while its row still carries the claim.
  // (claim, at, backend) -> the marks
  std::map<std::tuple<std::string, int64_t, std::string>, std::vector<size_t>> sent;
  std::vector<size_t> others;
  for (size_t i = 0; i < marks.size(); ++i) {
    if (marks[i].kind == domain::OutboxMark::Kind::kSent) {
      sent[{marks[i].claim_token, marks[i].at, marks[i].backend}].push_back(i);
    } else {
      others.push_back(i);
    }
  }
  auto work = [&](Connection& conn) -> util::Result<std::vector<bool>> {
    std::vector<bool> held(marks.size(), false);
    for (const auto& [claim, indexes] : sent) {
      if (util::Status st = WriteSentTogether(conn, marks, indexes, held); !st.ok()) {
        return st.error();
      }
    }
    for (size_t i : others) {
      util::Result<bool> one = WriteMark(conn, marks[i]);
      if (!one.ok()) return one.error();
      held[i] = one.value();
    }
    if (events_ != nullptr) {
      if (util::Status st = events_->OnMarks(conn, marks, held); !st.ok()) return st.error();
    }
    return held;
  };
  const bool verification_marks =
      events_ != nullptr && std::any_of(marks.begin(), marks.end(), [](const auto& mark) {
        return mark.verification_id != 0;
      });
  if (sent.size() + others.size() <= 1 && !verification_marks) return db_.Run(work);
  return db_.Transact(work);
}

util::Result<int> MysqlOutboxRepository::ExpireStale(int64_t now) {
  auto expired = db_.Run([&](Connection& conn) -> util::Result<int> {
    auto done = conn.Exec(
        "UPDATE outbox SET state = 'failed', last_error = 'expired', sealed_text = NULL, "
        "claim_token = NULL, lease_until = 0 WHERE expires_at <= ? "
        "AND (state IN ('queued', 'retry') OR (state = 'sending' AND lease_until <= ?))",
        {Param::Int(now), Param::Int(now)});
    if (!done.ok()) return done.error();
    if (util::Status st = Prune(conn, now, keep_finished_seconds_); !st.ok()) return st.error();
    return static_cast<int>(done.value().affected_rows);
  });
  if (!expired.ok() || events_ == nullptr) return expired;
  auto swept = db_.Transact(
      [&](Connection& conn) { return events_->ExpireDue(conn, now, kExpireBatch); });
  if (!swept.ok()) return swept.error();
  return expired;
}

util::Result<int> MysqlOutboxRepository::Depth() {
  return db_.Run([&](Connection& conn) -> util::Result<int> {
    auto rows =
        conn.Query("SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'retry', 'sending')", {});
    if (!rows.ok()) return rows.error();
    return rows.value().empty() ? 0 : static_cast<int>(rows.value()[0].Int(0));
  });
}

}  // namespace phoneverify::storage
