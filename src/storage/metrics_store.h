// domain::MetricsStore over MariaDB: table metrics (sql/003), the outbox's depth and the
// webhook events' (phoneverify_webhooks_pending{state="pending|sending"}).
// Thread-safe; errors as described in domain/ports.h.
#pragma once

#include <vector>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlMetricsStore final : public domain::MetricsStore {
 public:
  explicit MysqlMetricsStore(Database& db) : db_(db) {}

  util::Status Add(const std::vector<domain::MetricDelta>& deltas, int64_t now) override;
  util::Result<std::vector<domain::MetricSample>> Read() override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
