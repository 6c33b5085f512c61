// domain::LimitRepository over MariaDB (table limit_events): plain sliding-window counters
// for limits that need no strict serialisation (login failures). Each call is one
// autocommit statement per limit. Thread-safe.
#pragma once

#include <vector>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlLimitRepository final : public domain::LimitRepository {
 public:
  explicit MysqlLimitRepository(Database& db) : db_(db) {}

  // Events with at > now - window, per limit, in order.
  util::Result<std::vector<domain::WindowUsage>> Usage(
      const std::vector<domain::WindowLimit>& limits, int64_t now) override;
  util::Status Record(const domain::WindowLimit& limit, int64_t now) override;
  // Deletes every event of (scope, key).
  util::Status Clear(const domain::WindowLimit& limit) override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
