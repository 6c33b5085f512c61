#include "storage/limit_repository.h"

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {

util::Result<std::vector<domain::WindowUsage>> MysqlLimitRepository::Usage(
    const std::vector<domain::WindowLimit>& limits, int64_t now) {
  return db_.Run([&](Connection& conn) { return ReadUsage(conn, limits, now); });
}

util::Result<std::vector<int64_t>> MysqlLimitRepository::Reserve(
    const std::vector<domain::WindowLimit>& limits, int64_t now,
    const std::function<util::Status(const std::vector<domain::WindowUsage>&)>& decide) {
  const std::vector<GateKey> gates = GatesFor(limits, {});
  return db_.Transact([&](Connection& conn) -> util::Result<std::vector<int64_t>> {
    // The gate write first: the count below is read after any twin holding it committed
    // (READ COMMITTED), and on a cluster it is the row certification compares.
    if (util::Status st = LockGates(conn, gates, now); !st.ok()) return st.error();
    auto usage = ReadUsage(conn, limits, now);
    if (!usage.ok()) return usage.error();
    if (util::Status st = decide(usage.value()); !st.ok()) return st.error();
    return InsertEventIds(conn, limits, now);
  });
}

util::Status MysqlLimitRepository::Release(const std::vector<int64_t>& event_ids) {
  return db_.Run([&](Connection& conn) -> util::Status {
    for (int64_t id : event_ids) {
      auto done = conn.Exec("DELETE FROM limit_events WHERE id = ?", {Param::Int(id)});
      if (!done.ok()) return done.error();
    }
    return util::Status::Ok();
  });
}

util::Status MysqlLimitRepository::Clear(const domain::WindowLimit& limit) {
  return db_.Run([&](Connection& conn) {
    return conn
        .Exec("DELETE FROM limit_events WHERE scope = ? AND key_ = ?",
              {Param::Text(limit.scope), Param::Bytes(StoredKey(limit.key))})
        .status();
  });
}

}  // namespace phoneverify::storage
