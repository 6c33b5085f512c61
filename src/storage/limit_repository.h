// domain::LimitRepository over MariaDB (tables limit_events, limit_gates): sliding-window
// limits reserved before the work they guard (login failures, sign-ups per IP).
// Thread-safe.
#pragma once

#include <functional>
#include <vector>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlLimitRepository final : public domain::LimitRepository {
 public:
  explicit MysqlLimitRepository(Database& db) : db_(db) {}

  // Events with at > now - window, per limit, in order (autocommit reads).
  util::Result<std::vector<domain::WindowUsage>> Usage(
      const std::vector<domain::WindowLimit>& limits, int64_t now) override;
  // One transaction: stamps each limit's gate row (limit_gates, the same upsert as a
  // send's), which queues twins on one node behind the row lock and makes twins on two
  // Galera nodes conflict at certification (1213: the storage re-runs the whole of it);
  // then counts the events and, when `decide` accepts, inserts one per limit. A refusal
  // rolls the stamps back.
  util::Result<std::vector<int64_t>> Reserve(
      const std::vector<domain::WindowLimit>& limits, int64_t now,
      const std::function<util::Status(const std::vector<domain::WindowUsage>&)>& decide)
      override;
  // One autocommit DELETE by id per event (re-runnable: a second run finds nothing).
  util::Status Release(const std::vector<int64_t>& event_ids) override;
  // Deletes every event of (scope, key).
  util::Status Clear(const domain::WindowLimit& limit) override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
