#include "storage/health_check.h"

#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {

bool MysqlHealthCheck::DatabaseAnswers() {
  util::Status st = db_.Run([](Connection& conn) -> util::Status {
    auto rows = conn.Query("SELECT 1", {});
    if (!rows.ok()) return rows.error();
    if (rows.value().size() != 1 || rows.value()[0].Int(0) != 1) return util::Error::Internal();
    return util::Status::Ok();
  });
  return st.ok();
}

}  // namespace phoneverify::storage
