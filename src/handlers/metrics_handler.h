// GET /metrics: Prometheus text format (version 0.0.4) for scrapers on the same host.
//
// Served only to a loopback peer (REMOTE_ADDR 127.0.0.0/8 or ::1; the shipped nginx
// config also refuses other addresses before the request gets here): anyone else gets
// 403 forbidden. Families:
//   from the workers' shared counters (util::Counters, this server since its start):
//     phoneverify_http_requests_total{route,method,status}
//     phoneverify_http_errors_total{route,status,code}
//     phoneverify_otp_sent_total, phoneverify_otp_verified_total,
//     phoneverify_otp_verify_failed_total{code}, phoneverify_rate_limited_total{route,code}
//       (derived from the two above)
//   from the database (domain::MetricsStore; what every dispatcher flushed, so across
//   restarts and hosts):
//     phoneverify_sms_attempts_total{gateway,result,code},
//     phoneverify_sms_gateway_latency_seconds (histogram), phoneverify_sms_expired_total,
//     phoneverify_sms_not_sent_total{reason}, phoneverify_sms_circuit_opened_total{reason},
//     phoneverify_sms_sending_paused, phoneverify_outbox_depth{state}
//   phoneverify_database_up (0 when the database figures could not be read; the rest is
//   still served).
#pragma once

#include <string>
#include <vector>

#include "domain/ports.h"
#include "http/request.h"
#include "http/response.h"
#include "util/counters.h"
#include "util/status.h"

namespace phoneverify::handlers {

inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// `counters` and `store` may be null (their families are then absent).
util::Result<http::Response> Metrics(const util::Counters* counters, domain::MetricsStore* store,
                                     const http::Request& request);

// The exposition text for these samples: grouped by family with # HELP and # TYPE lines,
// histogram buckets in increasing `le` order (exposed for tests).
std::string RenderPrometheus(std::vector<domain::MetricSample> samples);

// Adds the phoneverify_otp_* and phoneverify_rate_limited_total samples computed from the
// phoneverify_http_* ones (exposed for tests).
void AddDerivedSamples(std::vector<domain::MetricSample>& samples);

}  // namespace phoneverify::handlers
