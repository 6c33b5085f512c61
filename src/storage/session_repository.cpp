#include "storage/session_repository.h"

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

using OptionalSession = std::optional<domain::SessionRecord>;

// Column order of the SELECT in Find.
domain::SessionRecord SessionFromRow(const Row& row) {
  domain::SessionRecord record;
  record.account = ReadAccount(row);  // columns 0-9
  record.created_at = row.Int(10);
  record.last_seen_at = row.Int(11);
  return record;
}

}  // namespace

util::Status MysqlSessionRepository::Create(const std::string& id_hash, int64_t account_id,
                                            int64_t now) {
  return db_.Run([&](Connection& conn) {
    return conn
        .Exec("INSERT INTO sessions (id_hash, account_id, created_at, last_seen_at) "
              "VALUES (?, ?, ?, ?)",
              {Param::Bytes(id_hash), Param::Int(account_id), Param::Int(now), Param::Int(now)})
        .status();
  });
}

util::Result<OptionalSession> MysqlSessionRepository::Find(const std::string& id_hash) {
  return db_.Run([&](Connection& conn) -> util::Result<OptionalSession> {
    auto rows = conn.Query(
        "SELECT a.id, a.username, a.email, a.first_name, a.last_name, a.phone, "
        "a.pending_phone, a.phone_verified, a.is_active, a.date_joined, "
        "s.created_at, s.last_seen_at "
        "FROM sessions s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.id_hash = ? AND a.is_active = 1",
        {Param::Bytes(id_hash)});
    if (!rows.ok()) return rows.error();
    if (rows.value().empty()) return OptionalSession();
    return OptionalSession(SessionFromRow(rows.value()[0]));
  });
}

util::Status MysqlSessionRepository::Touch(const std::string& id_hash, int64_t now) {
  return db_.Run([&](Connection& conn) {
    // GREATEST: a slower request finishing late never moves last_seen backwards.
    return conn
        .Exec("UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, ?) WHERE id_hash = ?",
              {Param::Int(now), Param::Bytes(id_hash)})
        .status();
  });
}

util::Result<bool> MysqlSessionRepository::Delete(const std::string& id_hash) {
  return db_.Run([&](Connection& conn) -> util::Result<bool> {
    auto done = conn.Exec("DELETE FROM sessions WHERE id_hash = ?", {Param::Bytes(id_hash)});
    if (!done.ok()) return done.error();
    return done.value().affected_rows > 0;
  });
}

util::Result<int> MysqlSessionRepository::DeleteExpired(int64_t idle_before,
                                                        int64_t created_before, int max) {
  return db_.Run([&](Connection& conn) -> util::Result<int> {
    auto done = conn.Exec(
        "DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ? LIMIT ?",
        {Param::Int(idle_before), Param::Int(created_before), Param::Int(max)});
    if (!done.ok()) return done.error();
    return static_cast<int>(done.value().affected_rows);
  });
}

}  // namespace phoneverify::storage
