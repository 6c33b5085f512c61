#include "storage/webhook_repository.h"

#include <string>
#include <utility>
#include <vector>

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

constexpr size_t kErrorChars = 255;    // webhook_events.last_error
constexpr int64_t kPruneBatch = 1000;  // finished events deleted per Sweep

// The due events, oldest due first, at most `per_client` of each client (ROW_NUMBER over
// the client's due events), so one client's backlog cannot fill the list and hide the
// others'. A claim sets next_attempt_at to the lease end as well as lease_until, so both
// kinds (pending, and sending whose lease ran out) are one range of ix_webhook_events_due.
// The order rule reads ix_webhook_events_verification (verification_id, id).
// MariaDB cannot name the updated table in a subquery of the UPDATE (error 1093): hence
// this read first, then Claim's conditional UPDATE by id.
// Parameters: now, now, per client, max.
constexpr const char kDueSql[] =
    "SELECT id, client_id FROM ("
    " SELECT e.id, e.client_id, e.next_attempt_at,"
    "  ROW_NUMBER() OVER (PARTITION BY e.client_id ORDER BY e.next_attempt_at, e.id) AS nth"
    " FROM webhook_events e JOIN api_clients c ON c.id = e.client_id"
    " WHERE e.state IN ('pending', 'sending') AND e.next_attempt_at <= ?"
    "  AND (e.state = 'pending' OR e.lease_until <= ?)"
    "  AND c.webhook_url <> '' AND c.webhook_disabled_at = 0 AND c.disabled = 0"
    "  AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.verification_id = e.verification_id"
    "   AND p.id < e.id AND p.state IN ('pending', 'sending'))"
    ") due WHERE nth <= ? ORDER BY next_attempt_at, id LIMIT ?";

// One event, if still claimable and its client still takes webhooks. The row lock makes
// it exclusive: a second claimer waits, then finds the event leased (or finished).
// Parameters: token, lease end, lease end, id, now, now.
constexpr const char kClaimSql[] =
    "UPDATE webhook_events e JOIN api_clients c ON c.id = e.client_id "
    "SET e.state = 'sending', e.claim_token = ?, e.lease_until = ?, e.next_attempt_at = ?, "
    "e.tries = e.tries + 1 "
    "WHERE e.id = ? AND e.next_attempt_at <= ? "
    "AND (e.state = 'pending' OR (e.state = 'sending' AND e.lease_until <= ?)) "
    "AND c.webhook_url <> '' AND c.webhook_disabled_at = 0 AND c.disabled = 0";

constexpr const char kReadClaimedSql[] =
    "SELECT e.id, e.event_id, e.client_id, e.verification_id, e.type, e.body, e.tries, "
    "e.created_at, c.name, c.webhook_url, c.webhook_secret_sealed "
    "FROM webhook_events e JOIN api_clients c ON c.id = e.client_id "
    "WHERE e.claim_token = ? AND e.state = 'sending' ORDER BY e.id";

// The token stays on a delivered row (no claim reads one; spares an index rewrite).
constexpr const char kDeliveredSql[] =
    "UPDATE webhook_events SET state = 'delivered', delivered_at = ?, lease_until = 0, "
    "last_error = '' WHERE id = ? AND claim_token = ? AND state = 'sending'";

constexpr const char kRetrySql[] =
    "UPDATE webhook_events SET state = 'pending', next_attempt_at = ?, last_error = ?, "
    "claim_token = NULL, lease_until = 0 WHERE id = ? AND claim_token = ? AND state = 'sending'";

// The later events of the verification wait for it: without this each would be read,
// and refused by the order rule, on every Due until the retry.
constexpr const char kHoldBackSql[] =
    "UPDATE webhook_events SET next_attempt_at = GREATEST(next_attempt_at, ?) "
    "WHERE verification_id = ? AND id > ? AND state = 'pending'";

constexpr const char kDroppedSql[] =
    "UPDATE webhook_events SET state = 'dropped', last_error = ?, claim_token = NULL, "
    "lease_until = 0 WHERE id = ? AND claim_token = ? AND state = 'sending'";

// Only the URL that answered 410 is gone: a URL set since then stays on.
constexpr const char kDisableSql[] =
    "UPDATE api_clients SET webhook_disabled_at = ? "
    "WHERE id = ? AND webhook_url = ? AND webhook_disabled_at = 0";

constexpr const char kDropClientPendingSql[] =
    "UPDATE webhook_events SET state = 'dropped', last_error = ?, next_attempt_at = ? "
    "WHERE client_id = ? AND state = 'pending'";

constexpr const char kReleaseSql[] =
    "UPDATE webhook_events SET state = 'pending', tries = GREATEST(tries - 1, 0), "
    "claim_token = NULL, lease_until = 0, next_attempt_at = 0 "
    "WHERE id = ? AND claim_token = ? AND state = 'sending'";

// Pending events no client can take any more. next_attempt_at becomes the time they
// finished, which pruning goes by (ix_webhook_events_due).
constexpr const char kDropUndeliverableSql[] =
    "UPDATE webhook_events e LEFT JOIN api_clients c ON c.id = e.client_id "
    "SET e.state = 'dropped', e.next_attempt_at = ?, e.last_error = CASE "
    "WHEN c.id IS NULL THEN 'client deleted' WHEN c.disabled <> 0 THEN 'client disabled' "
    "WHEN c.webhook_url = '' THEN 'no webhook url' ELSE 'webhook gone (410)' END "
    "WHERE e.state = 'pending' AND (c.id IS NULL OR c.disabled <> 0 OR c.webhook_url = '' "
    "OR c.webhook_disabled_at <> 0)";

constexpr const char kPruneSql[] =
    "DELETE FROM webhook_events WHERE state IN ('delivered', 'dropped') "
    "AND next_attempt_at <= ? LIMIT ?";

constexpr const char kClientCountsSql[] =
    "SELECT state, COUNT(*) FROM webhook_events WHERE client_id = ? GROUP BY state";
constexpr const char kClientLastErrorSql[] =
    "SELECT last_error FROM webhook_events WHERE client_id = ? AND last_error <> '' "
    "ORDER BY id DESC LIMIT 1";
constexpr const char kClientDisabledSql[] =
    "SELECT webhook_disabled_at FROM api_clients WHERE id = ?";

util::Result<bool> Applied(util::Result<ExecResult> done) {
  if (!done.ok()) return done.error();
  return done.value().affected_rows > 0;
}

Param ErrorText(const std::string& error) { return Param::Text(ClampUtf8(error, kErrorChars)); }

domain::WebhookEvent EventOf(const Row& row) {
  domain::WebhookEvent event;
  event.id = row.Int(0);
  event.event_id = row.Text(1);
  event.client_id = row.Int(2);
  event.verification_id = row.Int(3);
  event.type = row.Text(4);
  event.body = row.Text(5);
  event.tries = static_cast<int>(row.Int(6));
  event.created_at = row.Int(7);
  event.client_name = row.Text(8);
  event.url = row.Text(9);
  event.secret_sealed = row.Text(10);
  return event;
}

util::Result<std::vector<domain::WebhookEvent>> ReadClaimed(Connection& conn,
                                                            const std::string& claim_token) {
  auto rows = conn.Query(kReadClaimedSql, {Param::Bytes(claim_token)});
  if (!rows.ok()) return rows.error();
  std::vector<domain::WebhookEvent> events;
  events.reserve(rows.value().size());
  for (const Row& row : rows.value()) events.push_back(EventOf(row));
  return events;
}

util::Status FillCounts(Connection& conn, int64_t client_id, domain::WebhookClientState& state) {
  auto counts = conn.Query(kClientCountsSql, {Param::Int(client_id)});
  if (!counts.ok()) return counts.error();
  for (const Row& row : counts.value()) {
    const std::string& name = row.Text(0);
    if (name == "pending" || name == "sending") state.pending += row.Int(1);
    if (name == "delivered") state.delivered += row.Int(1);
    if (name == "dropped") state.dropped += row.Int(1);
  }
  return util::Status::Ok();
}

}  // namespace

util::Result<std::vector<domain::WebhookCandidate>> MysqlWebhookRepository::Due(int64_t now,
                                                                                int per_client,
                                                                                int max) {
  if (max <= 0 || per_client <= 0) return std::vector<domain::WebhookCandidate>();
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<domain::WebhookCandidate>> {
    auto rows = conn.Query(
        kDueSql, {Param::Int(now), Param::Int(now), Param::Int(per_client), Param::Int(max)});
    if (!rows.ok()) return rows.error();
    std::vector<domain::WebhookCandidate> due;
    for (const Row& row : rows.value()) due.push_back({row.Int(0), row.Int(1)});
    return due;
  });
}

util::Result<std::vector<domain::WebhookEvent>> MysqlWebhookRepository::Claim(
    const std::vector<int64_t>& ids, const std::string& claim_token, int64_t now,
    int64_t lease_seconds) {
  if (ids.empty()) return std::vector<domain::WebhookEvent>();
  const int64_t lease_until = now + lease_seconds;
  // Each UPDATE commits on its own: a lost answer leaves that event leased until the
  // lease ends, as a dead deliverer would. The token is fresh per call, so a re-run
  // (deadlock) reads back every event it took.
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<domain::WebhookEvent>> {
    uint64_t claimed = 0;
    for (int64_t id : ids) {
      auto done = conn.Exec(
          kClaimSql, {Param::Bytes(claim_token), Param::Int(lease_until), Param::Int(lease_until),
                      Param::Int(id), Param::Int(now), Param::Int(now)});
      if (!done.ok()) return done.error();
      claimed += done.value().affected_rows;
    }
    if (claimed == 0) return std::vector<domain::WebhookEvent>();
    return ReadClaimed(conn, claim_token);
  });
}

util::Result<bool> MysqlWebhookRepository::MarkDelivered(int64_t id, const std::string& claim_token,
                                                         int64_t now) {
  return db_.Run([&](Connection& conn) {
    return Applied(
        conn.Exec(kDeliveredSql, {Param::Int(now), Param::Int(id), Param::Bytes(claim_token)}));
  });
}

util::Result<bool> MysqlWebhookRepository::MarkRetry(const domain::WebhookEvent& event,
                                                     const std::string& claim_token,
                                                     int64_t next_attempt_at,
                                                     const std::string& error) {
  return db_.Transact([&](Connection& conn) -> util::Result<bool> {
    auto held = Applied(conn.Exec(kRetrySql, {Param::Int(next_attempt_at), ErrorText(error),
                                              Param::Int(event.id), Param::Bytes(claim_token)}));
    if (!held.ok() || !held.value()) return held;
    auto later = conn.Exec(kHoldBackSql, {Param::Int(next_attempt_at),
                                          Param::Int(event.verification_id), Param::Int(event.id)});
    if (!later.ok()) return later.error();
    return true;
  });
}

util::Result<bool> MysqlWebhookRepository::MarkDropped(int64_t id, const std::string& claim_token,
                                                       const std::string& error) {
  return db_.Run([&](Connection& conn) {
    return Applied(
        conn.Exec(kDroppedSql, {ErrorText(error), Param::Int(id), Param::Bytes(claim_token)}));
  });
}

util::Result<domain::WebhookGone> MysqlWebhookRepository::MarkGone(
    const domain::WebhookEvent& event, const std::string& claim_token, int64_t now,
    const std::string& error) {
  return db_.Transact([&](Connection& conn) -> util::Result<domain::WebhookGone> {
    domain::WebhookGone gone;
    auto held = Applied(conn.Exec(
        kDroppedSql, {ErrorText(error), Param::Int(event.id), Param::Bytes(claim_token)}));
    if (!held.ok()) return held.error();
    gone.held = held.value();
    // The endpoint's answer stands even when this claim was lost meanwhile.
    auto disabled = Applied(conn.Exec(
        kDisableSql, {Param::Int(now), Param::Int(event.client_id), Param::Text(event.url)}));
    if (!disabled.ok()) return disabled.error();
    gone.disabled = disabled.value();
    if (!gone.disabled) return gone;
    auto dropped = conn.Exec(kDropClientPendingSql, {Param::Text("webhook gone (410)"),
                                                     Param::Int(now), Param::Int(event.client_id)});
    if (!dropped.ok()) return dropped.error();
    gone.dropped = static_cast<int>(dropped.value().affected_rows);
    return gone;
  });
}

util::Result<bool> MysqlWebhookRepository::Release(int64_t id, const std::string& claim_token) {
  return db_.Run([&](Connection& conn) {
    return Applied(conn.Exec(kReleaseSql, {Param::Int(id), Param::Bytes(claim_token)}));
  });
}

util::Result<int> MysqlWebhookRepository::Sweep(int64_t now, int64_t prune_before) {
  return db_.Run([&](Connection& conn) -> util::Result<int> {
    auto dropped = conn.Exec(kDropUndeliverableSql, {Param::Int(now)});
    if (!dropped.ok()) return dropped.error();
    auto pruned = conn.Exec(kPruneSql, {Param::Int(prune_before), Param::Int(kPruneBatch)});
    if (!pruned.ok()) return pruned.error();
    return static_cast<int>(dropped.value().affected_rows);
  });
}

util::Result<domain::WebhookClientState> MysqlWebhookRepository::ClientState(int64_t client_id) {
  return db_.Run([&](Connection& conn) -> util::Result<domain::WebhookClientState> {
    auto disabled = conn.Query(kClientDisabledSql, {Param::Int(client_id)});
    if (!disabled.ok()) return disabled.error();
    if (disabled.value().empty()) {
      return util::Error::Make(util::ErrorKind::kNotFound, "not_found", "No such client.");
    }
    domain::WebhookClientState state;
    state.disabled_at = disabled.value()[0].Int(0);
    if (util::Status st = FillCounts(conn, client_id, state); !st.ok()) return st.error();
    auto error = conn.Query(kClientLastErrorSql, {Param::Int(client_id)});
    if (!error.ok()) return error.error();
    if (!error.value().empty()) state.last_error = error.value()[0].Text(0);
    return state;
  });
}

}  // namespace phoneverify::storage
