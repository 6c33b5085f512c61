-- phoneverify schema, version 5: operational figures the dispatcher keeps (GET /metrics).
-- One row per series, e.g. phoneverify_sms_attempts_total{gateway="sparrow",result=
-- "delivered",code="200"}: counters grow by the deltas a dispatcher flushes every few
-- seconds (so they add up across dispatchers and survive restarts); gauges hold the
-- latest value written. Nothing decides anything from this table.
CREATE TABLE IF NOT EXISTS metrics (
  series     VARBINARY(190) NOT NULL,
  milli      BIGINT NOT NULL DEFAULT 0,  -- the value times 1000 (latencies have fractions)
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (series)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
