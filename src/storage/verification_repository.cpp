#include "storage/verification_repository.h"

#include <utility>

#include "domain/limits.h"
#include "domain/verification_rules.h"
#include "storage/api_answers.h"
#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

using domain::VerificationRecord;

// The record's columns (ReadRecord's order), and its message's state and error.
#define PV_VERIFICATION_COLUMNS                                                            \
  "v.id, v.public_id, v.client_id, v.phone, v.status, v.reference, v.lang, v.app_hash, " \
  "v.ip_key, v.code_hash, v.code_length, v.max_attempts, v.attempts_used, v.sends, "     \
  "v.created_at, v.sent_at, v.expires_at, v.outbox_id, "                                  \
  "(SELECT o.state FROM outbox o WHERE o.id = v.outbox_id), "                             \
  "(SELECT o.last_error FROM outbox o WHERE o.id = v.outbox_id) "

constexpr char kFindSql[] = "SELECT " PV_VERIFICATION_COLUMNS
                            "FROM verifications v WHERE v.public_id = ? AND v.client_id = ?";
constexpr char kLockSql[] = "SELECT " PV_VERIFICATION_COLUMNS
                            "FROM verifications v WHERE v.public_id = ? AND v.client_id = ? "
                            "FOR UPDATE";
constexpr char kLockPendingSql[] = "SELECT " PV_VERIFICATION_COLUMNS
                                   "FROM verifications v WHERE v.client_id = ? AND v.phone = ? "
                                   "AND v.status = 'pending' ORDER BY v.id FOR UPDATE";
// With the client's webhook URL and daily cap (columns 20 and 21), for the event writer.
constexpr char kEventSourceSql[] = "SELECT " PV_VERIFICATION_COLUMNS
                                   ", c.webhook_url, c.max_sends_per_day "
                                   "FROM verifications v JOIN api_clients c ON c.id = v.client_id "
                                   "WHERE v.id = ? FOR UPDATE";
constexpr char kExpiringSql[] = "SELECT " PV_VERIFICATION_COLUMNS
                                ", c.webhook_url, c.max_sends_per_day "
                                "FROM verifications v JOIN api_clients c ON c.id = v.client_id "
                                "WHERE v.status = 'pending' AND v.expires_at <= ? "
                                "ORDER BY v.expires_at LIMIT ? FOR UPDATE SKIP LOCKED";
#undef PV_VERIFICATION_COLUMNS

constexpr char kInsertSql[] =
    "INSERT INTO verifications (public_id, client_id, phone, status, reference, lang, "
    "app_hash, ip_key, code_hash, code_length, max_attempts, attempts_used, sends, "
    "created_at, sent_at, expires_at, updated_at) "
    "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)";
constexpr char kUpdateSql[] =
    "UPDATE verifications SET status = ?, lang = ?, code_hash = ?, code_length = ?, "
    "max_attempts = ?, attempts_used = ?, sends = ?, sent_at = ?, expires_at = ?, "
    "updated_at = ? WHERE id = ?";
constexpr char kSetOutboxSql[] = "UPDATE verifications SET outbox_id = ? WHERE id = ?";
constexpr char kSupersedeSql[] =
    "UPDATE outbox SET state = 'superseded', sealed_text = NULL "
    "WHERE id = ? AND state IN ('queued', 'retry')";
constexpr char kQueueSql[] =
    "INSERT INTO outbox (account_id, verification_id, phone, sealed_text, state, tries, "
    "next_attempt_at, lease_until, last_error, created_at, expires_at, request_id) "
    "VALUES (0, ?, ?, ?, 'queued', 0, ?, 0, '', ?, ?, ?)";
constexpr char kEventSql[] =
    "INSERT INTO webhook_events (event_id, client_id, verification_id, type, body, state, "
    "tries, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)";
constexpr char kPhoneGatePrevSql[] =
    "SELECT prev_at FROM limit_gates WHERE scope = 'last_send' AND key_ = ?";

struct Stored {
  VerificationRecord record;
  int64_t outbox_id = 0;  // 0 when none
};

Stored ReadRecord(const Row& row) {
  Stored s;
  VerificationRecord& r = s.record;
  r.id = row.Int(0);
  r.public_id = row.Text(1);
  r.client_id = row.Int(2);
  r.phone = row.Text(3);
  r.status = domain::StatusFromName(row.Text(4)).value_or(domain::VerificationStatus::kPending);
  if (!row.IsNull(5)) r.reference = row.Text(5);
  r.lang = domain::LanguageFromCode(row.Text(6)).value_or(domain::Language::kEnglish);
  r.app_hash = row.Text(7);
  r.ip_key = row.Text(8);
  r.code_hash = row.Text(9);
  r.code_length = static_cast<int>(row.Int(10));
  r.max_attempts = static_cast<int>(row.Int(11));
  r.attempts_used = static_cast<int>(row.Int(12));
  r.sends = static_cast<int>(row.Int(13));
  r.created_at = row.Int(14);
  r.sent_at = row.Int(15);
  r.expires_at = row.Int(16);
  s.outbox_id = row.Int(17);
  r.delivery_state = row.Text(18);
  r.delivery_error = row.Text(19);
  return s;
}

util::Result<std::vector<Stored>> ReadRecords(Connection& conn, const char* sql,
                                              const std::vector<Param>& params) {
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.error();
  std::vector<Stored> out;
  for (const Row& row : rows.value()) out.push_back(ReadRecord(row));
  return out;
}

util::Error NotFound() {
  return util::Error::Make(util::ErrorKind::kNotFound, "not_found", "No such verification.");
}

// Locks the gates of `limits` and the phone's; the phone's latest send before now.
util::Result<int64_t> LockSendGates(Connection& conn, const std::vector<domain::WindowLimit>& limits,
                                    const std::string& phone, int64_t now) {
  if (auto st = LockGates(conn, GatesFor(limits, {{kLastSendScope, phone}}), now); !st.ok()) {
    return st.error();
  }
  auto rows = conn.Query(kPhoneGatePrevSql, {Param::Bytes(StoredKey(phone))});
  if (!rows.ok()) return rows.error();
  return rows.value().empty() ? int64_t{0} : rows.value()[0].Int(0);
}

util::Status WriteRecord(Connection& conn, VerificationRecord& r, int64_t now) {
  const Param lang = Param::Text(domain::LanguageCode(r.lang));
  if (r.id != 0) {
    return conn
        .Exec(kUpdateSql,
              {Param::Text(domain::StatusName(r.status)), lang, Param::Bytes(r.code_hash),
               Param::Int(r.code_length), Param::Int(r.max_attempts),
               Param::Int(r.attempts_used), Param::Int(r.sends), Param::Int(r.sent_at),
               Param::Int(r.expires_at), Param::Int(now), Param::Int(r.id)})
        .status();
  }
  auto done = conn.Exec(
      kInsertSql,
      {Param::Text(r.public_id), Param::Int(r.client_id), Param::Text(r.phone),
       r.reference ? Param::Text(*r.reference) : Param::Null(), lang, Param::Text(r.app_hash),
       Param::Bytes(r.ip_key), Param::Bytes(r.code_hash), Param::Int(r.code_length),
       Param::Int(r.max_attempts), Param::Int(r.sends), Param::Int(r.created_at),
       Param::Int(r.sent_at), Param::Int(r.expires_at), Param::Int(now)});
  if (!done.ok()) return done.error();
  r.id = static_cast<int64_t>(done.value().insert_id);
  return util::Status::Ok();
}

util::Status Supersede(Connection& conn, int64_t outbox_id) {
  if (outbox_id == 0) return util::Status::Ok();
  return conn.Exec(kSupersedeSql, {Param::Int(outbox_id)}).status();
}

// Queues the message for `r` in place of `old_outbox_id`'s.
util::Status Queue(Connection& conn, const VerificationRecord& r, int64_t old_outbox_id,
                   const domain::NewMessage& message, int64_t now) {
  if (auto st = Supersede(conn, old_outbox_id); !st.ok()) return st;
  auto queued = conn.Exec(kQueueSql, {Param::Int(r.id), Param::Text(r.phone),
                                      Param::Bytes(message.sealed_text), Param::Int(now),
                                      Param::Int(now), Param::Int(message.expires_at),
                                      Param::Text(ClampUtf8(message.request_id, 64))});
  if (!queued.ok()) return queued.error();
  return conn
      .Exec(kSetOutboxSql, {Param::Int(static_cast<int64_t>(queued.value().insert_id)),
                            Param::Int(r.id)})
      .status();
}

util::Status StoreEvents(Connection& conn, const domain::VerificationChange& change,
                         const std::vector<Stored>& canceled, const VerificationRecord& main,
                         int64_t now) {
  for (const domain::NewEvent& event : change.events) {
    int64_t verification_id = main.id;
    for (const Stored& c : canceled) {
      if (c.record.public_id == event.public_id) verification_id = c.record.id;
    }
    auto done = conn.Exec(kEventSql, {Param::Text(event.event_id), Param::Int(main.client_id),
                                      Param::Int(verification_id), Param::Text(event.type),
                                      Param::Text(event.body), Param::Int(now), Param::Int(now)});
    if (!done.ok()) return done.error();
  }
  return util::Status::Ok();
}

// Writes everything `change` asks for; `outbox_id` is the record's current message.
util::Result<Outcome> Apply(Connection& conn, domain::VerificationChange& change,
                            const std::vector<Stored>& canceled, int64_t outbox_id,
                            const std::vector<domain::WindowLimit>& limits, int64_t now) {
  if (!change.record) return Outcome{std::move(change.answer), false};
  for (const Stored& c : canceled) {
    VerificationRecord r = c.record;
    r.status = domain::VerificationStatus::kCanceled;
    if (auto st = WriteRecord(conn, r, now); !st.ok()) return st.error();
    if (auto st = Supersede(conn, c.outbox_id); !st.ok()) return st.error();
  }
  VerificationRecord& record = *change.record;
  if (auto st = WriteRecord(conn, record, now); !st.ok()) return st.error();
  if (change.message) {
    if (auto st = Queue(conn, record, outbox_id, *change.message, now); !st.ok()) {
      return st.error();
    }
  }
  if (change.count_send) {
    if (auto st = InsertEvents(conn, limits, now); !st.ok()) return st.error();
  }
  if (auto st = StoreEvents(conn, change, canceled, record, now); !st.ok()) return st.error();
  return Outcome{std::move(change.answer), true};
}

}  // namespace

util::Result<domain::ApiAnswer> MysqlVerificationStore::Start(
    const domain::ApiRequest& request, const domain::StartPlan& plan,
    const std::function<domain::VerificationChange(const domain::StartSnapshot&)>& decide) {
  return RunOnce(db_, random_, request, [&](Connection& conn) -> util::Result<Outcome> {
    domain::StartSnapshot snap;
    auto last_send = LockSendGates(conn, plan.limits, plan.phone, request.now);
    if (!last_send.ok()) return last_send.error();
    snap.last_send_to_phone = last_send.value();
    auto usage = ReadUsage(conn, plan.limits, request.now);
    if (!usage.ok()) return usage.error();
    snap.usage = std::move(usage.value());
    auto pending = ReadRecords(conn, kLockPendingSql,
                               {Param::Int(request.client_id), Param::Text(plan.phone)});
    if (!pending.ok()) return pending.error();
    for (const Stored& s : pending.value()) snap.pending.push_back(s.record);
    domain::VerificationChange change = decide(snap);
    return Apply(conn, change, pending.value(), 0, plan.limits, request.now);
  });
}

util::Result<domain::ApiAnswer> MysqlVerificationStore::Change(
    const domain::ApiRequest& request, const std::string& public_id,
    const std::function<domain::ChangePlan(const VerificationRecord&)>& plan,
    const std::function<domain::VerificationChange(const domain::VerificationSnapshot&)>&
        decide) {
  const std::vector<Param> key = {Param::Text(public_id), Param::Int(request.client_id)};
  return RunOnce(db_, random_, request, [&](Connection& conn) -> util::Result<Outcome> {
    auto seen = ReadRecords(conn, kFindSql, key);
    if (!seen.ok()) return seen.error();
    if (seen.value().empty()) return Outcome{domain::ApiAnswer{NotFound(), {}, false}, false};
    const domain::ChangePlan change_plan = plan(seen.value()[0].record);
    const std::string& phone = seen.value()[0].record.phone;
    domain::VerificationSnapshot snap;
    if (change_plan.locks) {
      auto last_send = LockSendGates(conn, change_plan.limits, phone, request.now);
      if (!last_send.ok()) return last_send.error();
      snap.last_send_to_phone = last_send.value();
    } else {
      auto last_send = GateLastAt(conn, {kLastSendScope, phone});
      if (!last_send.ok()) return last_send.error();
      snap.last_send_to_phone = last_send.value();
    }
    auto locked = ReadRecords(conn, kLockSql, key);
    if (!locked.ok()) return locked.error();
    if (locked.value().empty()) return util::Error::Internal();  // rows are never deleted
    auto usage = ReadUsage(conn, change_plan.limits, request.now);
    if (!usage.ok()) return usage.error();
    snap.usage = std::move(usage.value());
    snap.record = locked.value()[0].record;
    domain::VerificationChange change = decide(snap);
    return Apply(conn, change, {}, locked.value()[0].outbox_id, change_plan.limits, request.now);
  });
}

util::Result<std::optional<domain::VerificationSnapshot>> MysqlVerificationStore::Find(
    int64_t client_id, const std::string& public_id, int64_t now,
    const std::function<domain::ChangePlan(const VerificationRecord&)>& plan) {
  using Found = std::optional<domain::VerificationSnapshot>;
  return db_.Run([&](Connection& conn) -> util::Result<Found> {
    auto seen = ReadRecords(conn, kFindSql, {Param::Text(public_id), Param::Int(client_id)});
    if (!seen.ok()) return seen.error();
    if (seen.value().empty()) return Found();
    domain::VerificationSnapshot snap;
    snap.record = seen.value()[0].record;
    auto last_send = GateLastAt(conn, {kLastSendScope, snap.record.phone});
    if (!last_send.ok()) return last_send.error();
    snap.last_send_to_phone = last_send.value();
    auto usage = ReadUsage(conn, plan(snap.record).limits, now);
    if (!usage.ok()) return usage.error();
    snap.usage = std::move(usage.value());
    return Found(std::move(snap));
  });
}

struct VerificationEventWriter::Source {
  Stored stored;
  std::string webhook_url;
  domain::ApiClient client;  // only what the figures need: id and daily cap
};

namespace {

util::Result<std::vector<VerificationEventWriter::Source>> ReadSources(
    Connection& conn, const char* sql, const std::vector<Param>& params) {
  auto rows = conn.Query(sql, params);
  if (!rows.ok()) return rows.error();
  std::vector<VerificationEventWriter::Source> out;
  for (const Row& row : rows.value()) {
    VerificationEventWriter::Source source;
    source.stored = ReadRecord(row);
    source.webhook_url = row.Text(20);
    source.client.id = source.stored.record.client_id;
    if (!row.IsNull(21)) source.client.max_sends_per_day = static_cast<int>(row.Int(21));
    out.push_back(std::move(source));
  }
  return out;
}

}  // namespace

util::Status VerificationEventWriter::Emit(Connection& conn, const Source& source,
                                           const char* type, int64_t now) const {
  if (source.webhook_url.empty()) return util::Status::Ok();
  const VerificationRecord& record = source.stored.record;
  const auto limits = domain::DailySendLimits(
      policy_, domain::CodeRulesOf(source.client, policy_), record.client_id, record.phone);
  auto usage = ReadUsage(conn, limits, now);
  if (!usage.ok()) return usage.error();
  auto last_send = GateLastAt(conn, {kLastSendScope, record.phone});
  if (!last_send.ok()) return last_send.error();
  const domain::NewEvent event = domain::MakeEvent(
      random_, type, record,
      domain::FiguresOf(policy_, limits, usage.value(), last_send.value(), 0, now), now);
  return conn
      .Exec(kEventSql, {Param::Text(event.event_id), Param::Int(record.client_id),
                        Param::Int(record.id), Param::Text(event.type), Param::Text(event.body),
                        Param::Int(now), Param::Int(now)})
      .status();
}

util::Status VerificationEventWriter::OnMarks(Connection& conn,
                                              const std::vector<domain::OutboxMark>& marks,
                                              const std::vector<bool>& held) const {
  using Kind = domain::OutboxMark::Kind;
  for (size_t i = 0; i < marks.size() && i < held.size(); ++i) {
    const domain::OutboxMark& mark = marks[i];
    const bool failed = mark.kind == Kind::kFailed && mark.error != "expired";
    if (!held[i] || mark.verification_id == 0 || (mark.kind != Kind::kSent && !failed)) continue;
    auto sources = ReadSources(conn, kEventSourceSql, {Param::Int(mark.verification_id)});
    if (!sources.ok()) return sources.error();
    if (sources.value().empty()) continue;
    Source& source = sources.value()[0];
    VerificationRecord& record = source.stored.record;
    // The row as it now is (the mark above is part of this transaction).
    record.delivery_state = failed ? "failed" : "sent";
    record.delivery_error = failed ? mark.error : "";
    if (!failed) {
      if (auto st = Emit(conn, source, domain::kEventMessageSent, mark.at); !st.ok()) return st;
      continue;
    }
    const bool current = source.stored.outbox_id == mark.id;
    if (record.status != domain::VerificationStatus::kPending || !current) continue;
    record.status = domain::VerificationStatus::kFailed;
    if (auto st = WriteRecord(conn, record, mark.at); !st.ok()) return st;
    if (auto st = Emit(conn, source, domain::kEventFailed, mark.at); !st.ok()) return st;
  }
  return util::Status::Ok();
}

util::Result<int> VerificationEventWriter::ExpireDue(Connection& conn, int64_t now,
                                                     int max) const {
  auto sources = ReadSources(conn, kExpiringSql, {Param::Int(now), Param::Int(max)});
  if (!sources.ok()) return sources.error();
  for (Source& source : sources.value()) {
    VerificationRecord& record = source.stored.record;
    record.status = domain::VerificationStatus::kExpired;
    if (auto st = WriteRecord(conn, record, now); !st.ok()) return st.error();
    if (auto st = Emit(conn, source, domain::kEventExpired, now); !st.ok()) return st.error();
  }
  return static_cast<int>(sources.value().size());
}

}  // namespace phoneverify::storage
