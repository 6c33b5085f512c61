#include "sms/delivery_tally.h"

#include <utility>
#include <vector>

namespace phoneverify::sms {

void DeliveryTally::Count(const std::string& series, double value) {
  if (store_ == nullptr) return;
  domain::MetricDelta& delta = deltas_[series];
  delta.series = series;
  delta.value += value;
}

void DeliveryTally::SetGauge(const std::string& series, double value) {
  if (store_ == nullptr) return;
  deltas_[series] = {series, value, /*gauge=*/true};
}

void DeliveryTally::ObserveLatency(const char* gateway, int64_t latency_ms) {
  struct Bucket {
    int64_t le_ms;
    const char* le;
  };
  static constexpr Bucket kBuckets[] = {{50, "0.05"}, {100, "0.1"},  {250, "0.25"},
                                        {500, "0.5"}, {1000, "1"},   {2500, "2.5"},
                                        {5000, "5"},  {10000, "10"}};
  const std::string name = "phoneverify_sms_gateway_latency_seconds";
  const std::string label = std::string("gateway=\"") + gateway + "\"";
  for (const Bucket& bucket : kBuckets) {
    if (latency_ms > bucket.le_ms) continue;
    Count(name + "_bucket{" + label + ",le=\"" + bucket.le + "\"}");
  }
  Count(name + "_bucket{" + label + ",le=\"+Inf\"}");
  Count(name + "_sum{" + label + "}", static_cast<double>(latency_ms) / 1000);
  Count(name + "_count{" + label + "}");
}

void DeliveryTally::Flush(int64_t now_ms, int64_t now, bool force) {
  if (store_ == nullptr || deltas_.empty()) return;
  if (!force && now_ms - last_flush_ms_ < kFlushMillis) return;
  last_flush_ms_ = now_ms;
  std::vector<domain::MetricDelta> deltas;
  deltas.reserve(deltas_.size());
  for (auto& [series, delta] : deltas_) deltas.push_back(delta);
  if (store_->Add(deltas, now).ok()) deltas_.clear();
  // else: kept, and added to until the next write
}

}  // namespace phoneverify::sms
