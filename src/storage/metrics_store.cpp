#include "storage/metrics_store.h"

#include <cmath>

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

constexpr const char* kDepthStates[] = {"queued", "retry", "sending"};

// Webhook events not delivered yet, by state (ix_webhook_events_due's leading column).
util::Status AddWebhookDepth(Connection& conn, std::vector<domain::MetricSample>& samples) {
  auto depth = conn.Query(
      "SELECT state, COUNT(*) FROM webhook_events WHERE state IN ('pending', 'sending') "
      "GROUP BY state",
      {});
  if (!depth.ok()) return depth.error();
  for (const char* state : {"pending", "sending"}) {
    double count = 0;
    for (const Row& row : depth.value()) {
      if (row.Text(0) == state) count = static_cast<double>(row.Int(1));
    }
    samples.push_back({std::string("phoneverify_webhooks_pending{state=\"") + state + "\"}", count});
  }
  return util::Status::Ok();
}

util::Status AddOne(Connection& conn, const domain::MetricDelta& delta, int64_t now) {
  const char* sql =
      delta.gauge ? "INSERT INTO metrics (series, milli, updated_at) VALUES (?, ?, ?) "
                    "ON DUPLICATE KEY UPDATE milli = VALUES(milli), updated_at = VALUES(updated_at)"
                  : "INSERT INTO metrics (series, milli, updated_at) VALUES (?, ?, ?) "
                    "ON DUPLICATE KEY UPDATE milli = milli + VALUES(milli), "
                    "updated_at = VALUES(updated_at)";
  const auto milli = static_cast<int64_t>(std::llround(delta.value * 1000));
  return conn.Exec(sql, {Param::Bytes(delta.series), Param::Int(milli), Param::Int(now)}).status();
}

}  // namespace

util::Status MysqlMetricsStore::Add(const std::vector<domain::MetricDelta>& deltas, int64_t now) {
  if (deltas.empty()) return util::Status::Ok();
  return db_.Transact([&](Connection& conn) -> util::Status {
    for (const auto& delta : deltas) {
      if (delta.series.empty() || delta.series.size() > kKeyColumnBytes) continue;
      if (util::Status st = AddOne(conn, delta, now); !st.ok()) return st;
    }
    return util::Status::Ok();
  });
}

util::Result<std::vector<domain::MetricSample>> MysqlMetricsStore::Read() {
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<domain::MetricSample>> {
    std::vector<domain::MetricSample> samples;
    auto rows = conn.Query("SELECT series, milli FROM metrics ORDER BY series", {});
    if (!rows.ok()) return rows.error();
    for (const Row& row : rows.value()) {
      samples.push_back({row.Text(0), static_cast<double>(row.Int(1)) / 1000});
    }
    auto depth = conn.Query(
        "SELECT state, COUNT(*) FROM outbox WHERE state IN ('queued', 'retry', 'sending') "
        "GROUP BY state",
        {});
    if (!depth.ok()) return depth.error();
    for (const char* state : kDepthStates) {
      double count = 0;
      for (const Row& row : depth.value()) {
        if (row.Text(0) == state) count = static_cast<double>(row.Int(1));
      }
      samples.push_back({std::string("phoneverify_outbox_depth{state=\"") + state + "\"}", count});
    }
    if (util::Status st = AddWebhookDepth(conn, samples); !st.ok()) return st.error();
    return samples;
  });
}

}  // namespace phoneverify::storage
