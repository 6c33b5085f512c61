#include "storage/health_check.h"

#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {

util::Result<std::string> MysqlHealthCheck::AnsweringNode() {
  return db_.Run([](Connection& conn) -> util::Result<std::string> {
    auto rows = conn.Query("SELECT 1", {});
    if (!rows.ok()) return rows.error();
    if (rows.value().size() != 1 || rows.value()[0].Int(0) != 1) return util::Error::Internal();
    return conn.address();  // the connection that answered: no race with a node change
  });
}

}  // namespace phoneverify::storage
