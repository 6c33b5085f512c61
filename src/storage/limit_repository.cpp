#include "storage/limit_repository.h"

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {

util::Result<std::vector<domain::WindowUsage>> MysqlLimitRepository::Usage(
    const std::vector<domain::WindowLimit>& limits, int64_t now) {
  return db_.Run([&](Connection& conn) { return ReadUsage(conn, limits, now); });
}

util::Status MysqlLimitRepository::Record(const domain::WindowLimit& limit, int64_t now) {
  return db_.Run([&](Connection& conn) { return InsertEvents(conn, {limit}, now); });
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
