// The dispatcher's figures for GET /metrics, added up in memory and written to the
// MetricsStore every kFlushMillis (and when asked to, e.g. at stop); a failed write keeps
// them for the next. Series (gateway = the backend's name):
//   phoneverify_sms_attempts_total{gateway,result,code}
//   phoneverify_sms_gateway_latency_seconds{gateway} (histogram)
//   phoneverify_sms_not_sent_total{reason}, phoneverify_sms_expired_total
//   phoneverify_sms_circuit_opened_total{reason}      (all backends together)
//   phoneverify_sms_circuit_opened_total{gateway,reason}
//   phoneverify_sms_failovers_total{from,to}
//   phoneverify_sms_sending_paused                      (gauge: every backend paused)
//   phoneverify_sms_backend_paused{gateway}             (gauge)
// Without a store it counts nothing. Not thread-safe: the dispatcher's loop owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "domain/ports.h"

namespace phoneverify::sms {

class DeliveryTally {
 public:
  static constexpr int64_t kFlushMillis = 5000;

  explicit DeliveryTally(domain::MetricsStore* store) : store_(store) {}

  void Count(const std::string& series, double value = 1);
  void SetGauge(const std::string& series, double value);
  void ObserveLatency(const char* gateway, int64_t latency_ms);
  // Writes what was counted when kFlushMillis passed since the last write (or `force`).
  // `now_ms` is monotonic, `now` Unix seconds.
  void Flush(int64_t now_ms, int64_t now, bool force);

 private:
  domain::MetricsStore* store_;
  std::map<std::string, domain::MetricDelta> deltas_;  // not yet written
  int64_t last_flush_ms_ = 0;
};

}  // namespace phoneverify::sms
