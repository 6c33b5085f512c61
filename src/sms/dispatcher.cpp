#include "sms/dispatcher.h"

#include <json/value.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "domain/phone_number.h"
#include "util/crypto.h"

namespace phoneverify::sms {
namespace {

constexpr int64_t kStorageLogIntervalSeconds = 30;
constexpr int kSleepSliceMs = 50;
constexpr size_t kClaimTokenBytes = 16;

const char* KindName(SendResult::Kind kind) {
  switch (kind) {
    case SendResult::Kind::kDelivered:
      return "delivered";
    case SendResult::Kind::kPermanent:
      return "permanent";
    case SendResult::Kind::kTransient:
      return "transient";
  }
  return "unknown";
}

void SleepUnlessStopped(int ms, const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop.load()) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::milliseconds::zero()) return;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        left, std::chrono::milliseconds(kSleepSliceMs)));
  }
}

}  // namespace

Dispatcher::Dispatcher(domain::OutboxRepository& outbox, SmsGateway& gateway,
                       const util::Clock& clock, util::Random& random, util::Logger& logger,
                       DispatcherOptions options, domain::MetricsStore* metrics)
    : outbox_(outbox),
      gateway_(gateway),
      clock_(clock),
      random_(random),
      logger_(logger),
      options_(std::move(options)),
      own_shared_(options_.shared != nullptr
                      ? nullptr
                      : std::make_unique<DispatcherShared>(options_.breaker_failures,
                                                           options_.breaker_cooloff_ms)),
      shared_(options_.shared != nullptr ? *options_.shared : *own_shared_),
      metrics_(metrics) {
  options_.max_tries = std::max(1, options_.max_tries);
  options_.batch_size = std::max(1, options_.batch_size);
  options_.max_batch_size = std::max(options_.batch_size, options_.max_batch_size);
  claim_size_ = options_.batch_size;
  options_.base_backoff_seconds = std::max<int64_t>(1, options_.base_backoff_seconds);
  options_.max_backoff_seconds =
      std::max(options_.base_backoff_seconds, options_.max_backoff_seconds);
}

int Dispatcher::RunOnce() {
  FlushMetrics(/*force=*/false);
  if (!FlushPending()) return 0;
  const int64_t now = clock_.NowSeconds();
  if (options_.expire_stale) {
    const auto expired = outbox_.ExpireStale(now);
    if (!expired.ok()) {
      StorageFailed("expire", expired.error());
      return 0;
    }
    if (expired.value() > 0) {
      Count("phoneverify_sms_expired_total", expired.value());
      Json::Value fields(Json::objectValue);
      fields["count"] = expired.value();
      logger_.Info("outbox messages expired", fields);
    }
  }
  const SharedCircuit::Pass pass =
      shared_.circuit.Admit(clock_.MonotonicMillis(), claim_size_);
  if (pass.limit == 0) return 0;
  // Fresh per pass: a stale claim of ours must not match after its lease was taken over.
  const std::string claim_token = random_.Hex(kClaimTokenBytes);
  const auto claimed = ClaimSerially(claim_token, now, pass.limit);
  if (!claimed.ok()) {
    shared_.circuit.EndPass(pass);
    StorageFailed("claim", claimed.error());
    return 0;
  }
  StorageOk();
  if (options_.on_full_claim &&
      claimed.value().size() >= static_cast<size_t>(options_.batch_size)) {
    options_.on_full_claim();
  }
  int handled = 0;
  for (const auto& message : claimed.value()) {
    if (handled > 0 && !MaySend(now, pass)) {
      Release(message, claim_token);
      continue;
    }
    Handle(message, claim_token, pass);
    ++handled;
  }
  shared_.circuit.EndPass(pass);
  ResizeClaims(claimed.value().size(), handled == static_cast<int>(claimed.value().size()));
  return handled;
}

void Dispatcher::ResizeClaims(size_t claimed, bool all_sent) {
  const bool full = claimed >= static_cast<size_t>(claim_size_);
  claim_size_ = full && all_sent ? std::min(2 * claim_size_, options_.max_batch_size)
                                 : options_.batch_size;
}

util::Result<std::vector<domain::OutboxMessage>> Dispatcher::ClaimSerially(
    const std::string& claim_token, int64_t now, int limit) {
  std::lock_guard<std::mutex> lock(shared_.claim_mu);
  return outbox_.Claim(claim_token, now, options_.lease_seconds, limit);
}

DispatcherOptions DispatcherOptionsFrom(const util::Config& config) {
  // Claims grow to this while a backlog lasts: at 50 ms a call, 40 messages keep a lane
  // busy 2 s, well inside the shortest lease.
  constexpr int kMaxBatchSize = 40;
  DispatcherOptions options;
  options.outbox_key = config.outbox_key_bytes;
  options.send_timeout_seconds = config.sms_backend == "sparrow" ? config.sparrow_timeout : 1;
  // A claim must outlive at least two gateway calls, or every batch shrinks to one.
  options.lease_seconds = std::max<int64_t>(options.lease_seconds,
                                            2 * options.send_timeout_seconds + 5);
  options.max_batch_size = kMaxBatchSize;
  options.max_tries = config.sms_max_tries;
  options.poll_ms = config.dispatcher_poll_ms;
  options.base_backoff_seconds = config.sms_retry_base;
  options.max_backoff_seconds = config.sms_retry_max;
  options.breaker_failures = config.sms_breaker_failures;
  options.breaker_cooloff_ms = int64_t{config.sms_breaker_cooloff} * 1000;
  options.credit_pause_seconds = config.sms_credit_pause;
  return options;
}

void Dispatcher::Run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  while (!stop.load()) {
    if (RunOnce() > 0) continue;
    if (options_.idle_wait) {
      options_.idle_wait(options_.poll_ms, stop);
    } else {
      SleepUnlessStopped(options_.poll_ms, stop);
    }
  }
  FlushPending();  // best effort: what stays owed is reclaimed after its lease
  FlushMetrics(/*force=*/true);
  stop_ = nullptr;
}

bool Dispatcher::MaySend(int64_t claimed_at, const SharedCircuit::Pass& pass) {
  return !Stopping() && HaveTimeToSend(claimed_at) && shared_.circuit.StillAllows(pass);
}

const SharedCircuit& Dispatcher::breaker() const { return shared_.circuit; }

size_t Dispatcher::pending_marks() const { return shared_.owed_count.load(); }

bool Dispatcher::HaveTimeToSend(int64_t claimed_at) const {
  return clock_.NowSeconds() + options_.send_timeout_seconds < claimed_at + options_.lease_seconds;
}

void Dispatcher::Release(const domain::OutboxMessage& message, const std::string& claim_token) {
  ++stats_.released;
  Record({message, claim_token, {Outcome::kReleased, 0, ""}, clock_.NowSeconds()});
}

void Dispatcher::Handle(const domain::OutboxMessage& message, const std::string& claim_token,
                        const SharedCircuit::Pass& pass) {
  if (message.expires_at <= clock_.NowSeconds()) {
    FailUnsent(message, claim_token, "expired");
    return;
  }
  const auto text = util::Open(options_.outbox_key, message.sealed_text);
  if (!text) {
    FailUnsent(message, claim_token, "undecryptable");
    return;
  }
  const int64_t started = clock_.MonotonicMillis();
  const SendResult result = gateway_.Send(message.phone, *text);
  const int64_t latency_ms = clock_.MonotonicMillis() - started;
  ObserveLatency(latency_ms);
  ObserveGateway(result, pass);
  const Applied applied = Decide(message, result);
  Apply(message, claim_token, applied);
  LogAttempt(message, result, applied, latency_ms);
}

Dispatcher::Applied Dispatcher::Decide(const domain::OutboxMessage& message,
                                       const SendResult& result) {
  const std::string detail = result.detail.empty() ? KindName(result.kind) : result.detail;
  switch (result.kind) {
    case SendResult::Kind::kDelivered:
      return {Outcome::kDelivered, 0, ""};
    case SendResult::Kind::kPermanent:
      return {Outcome::kFailed, 0, detail};
    case SendResult::Kind::kTransient:
      break;
  }
  if (message.tries >= options_.max_tries) return {Outcome::kFailed, 0, "gave up: " + detail};
  return {Outcome::kRetry, clock_.NowSeconds() + Backoff(message.tries), detail};
}

void Dispatcher::ObserveGateway(const SendResult& result, const SharedCircuit::Pass& pass) {
  const int64_t now_ms = clock_.MonotonicMillis();
  using Change = SharedCircuit::Change;
  if (result.out_of_credit) {
    ++stats_.out_of_credit;
    // Several lanes may hear it at once: the first one opens, logs and counts.
    if (shared_.circuit.Pause(now_ms, options_.credit_pause_seconds * 1000) != Change::kPaused) {
      return;
    }
    ++stats_.circuit_opened;
    Count("phoneverify_sms_circuit_opened_total{reason=\"out_of_credit\"}");
    SetGauge("phoneverify_sms_sending_paused", 1);
    LogCircuit("sms gateway out of credit: sending paused", true);
    return;
  }
  if (result.kind == SendResult::Kind::kTransient) {
    if (shared_.circuit.OnTransientFailure(pass, now_ms) == Change::kOpened) {
      ++stats_.circuit_opened;
      Count("phoneverify_sms_circuit_opened_total{reason=\"failures\"}");
      SetGauge("phoneverify_sms_sending_paused", 1);
      LogCircuit("sms gateway circuit open: sending paused", true);
    }
    return;
  }
  // Any other answer (delivered, or a refusal of that one message) shows the gateway works.
  if (shared_.circuit.OnSuccess(pass) == Change::kClosed) {
    SetGauge("phoneverify_sms_sending_paused", 0);
    LogCircuit("sms gateway circuit closed: sending resumed", false);
  }
}

void Dispatcher::Count(const std::string& series, double value) {
  if (metrics_ == nullptr) return;
  std::lock_guard<std::mutex> lock(shared_.metrics_mu);
  domain::MetricDelta& delta = shared_.metric_deltas[series];
  delta.series = series;
  delta.value += value;
}

void Dispatcher::SetGauge(const std::string& series, double value) {
  if (metrics_ == nullptr) return;
  std::lock_guard<std::mutex> lock(shared_.metrics_mu);
  shared_.metric_deltas[series] = {series, value, /*gauge=*/true};
}

void Dispatcher::ObserveLatency(int64_t latency_ms) {
  struct Bucket {
    int64_t le_ms;
    const char* le;
  };
  static constexpr Bucket kBuckets[] = {{50, "0.05"}, {100, "0.1"},  {250, "0.25"},
                                        {500, "0.5"}, {1000, "1"},   {2500, "2.5"},
                                        {5000, "5"},  {10000, "10"}};
  const std::string name = "phoneverify_sms_gateway_latency_seconds";
  const std::string gateway = std::string("gateway=\"") + gateway_.Name() + "\"";
  const double seconds = static_cast<double>(latency_ms) / 1000;
  for (const Bucket& bucket : kBuckets) {
    if (latency_ms > bucket.le_ms) continue;
    Count(name + "_bucket{" + gateway + ",le=\"" + bucket.le + "\"}");
  }
  Count(name + "_bucket{" + gateway + ",le=\"+Inf\"}");
  Count(name + "_sum{" + gateway + "}", seconds);
  Count(name + "_count{" + gateway + "}");
}

void Dispatcher::FlushMetrics(bool force) {
  if (metrics_ == nullptr) return;
  std::vector<domain::MetricDelta> deltas;
  {
    std::lock_guard<std::mutex> lock(shared_.metrics_mu);
    if (shared_.metric_deltas.empty()) return;
    const int64_t now_ms = clock_.MonotonicMillis();
    if (!force && now_ms - shared_.last_flush_ms < kMetricsFlushMillis) return;
    shared_.last_flush_ms = now_ms;
    for (auto& [series, delta] : shared_.metric_deltas) deltas.push_back(std::move(delta));
    shared_.metric_deltas.clear();
  }
  // Flushes by different lanes may overlap: a gauge says the circuit's state at this
  // flush, so a later flush never writes an older state over a newer one.
  const bool paused = shared_.circuit.state() != CircuitBreaker::State::kClosed;
  for (auto& delta : deltas) {
    if (delta.gauge && delta.series == "phoneverify_sms_sending_paused") delta.value = paused;
  }
  if (metrics_->Add(deltas, clock_.NowSeconds()).ok()) return;
  // Kept for the next flush: added to what was counted meanwhile (a gauge set meanwhile
  // is newer and stays).
  std::lock_guard<std::mutex> lock(shared_.metrics_mu);
  for (auto& delta : deltas) {
    auto [kept, inserted] = shared_.metric_deltas.try_emplace(delta.series, delta);
    if (!inserted && !delta.gauge) kept->second.value += delta.value;
  }
}

void Dispatcher::LogCircuit(const char* msg, bool error) {
  const SharedCircuit::Snapshot circuit = shared_.circuit.snapshot();
  Json::Value fields(Json::objectValue);
  fields["circuit"] = StateName(circuit.state);
  fields["consecutive_failures"] = circuit.consecutive_failures;
  if (circuit.state == CircuitBreaker::State::kOpen) {
    fields["open_ms"] = static_cast<Json::Int64>(circuit.open_until_ms - clock_.MonotonicMillis());
  }
  if (error) {
    fields["alert"] = true;  // for log-based alerting: an operator may have to act
    logger_.Error(msg, fields);
  } else {
    logger_.Info(msg, fields);
  }
}

void Dispatcher::Apply(const domain::OutboxMessage& message, const std::string& claim_token,
                       const Applied& applied) {
  switch (applied.outcome) {
    case Outcome::kDelivered:
      ++stats_.delivered;
      break;
    case Outcome::kFailed:
      ++stats_.failed;
      break;
    case Outcome::kRetry:
      ++stats_.retried;
      break;
    case Outcome::kReleased:
      ++stats_.released;
      break;
  }
  Record({message, claim_token, applied, clock_.NowSeconds()});
}

void Dispatcher::Record(Mark mark) {
  const util::Result<bool> written = Write(mark);
  if (!written.ok()) {
    // The outcome is known (the gateway answered); only writing it down failed. Keep it
    // and write it before claiming anything else.
    StorageFailed("mark", written.error());
    std::lock_guard<std::mutex> lock(shared_.owed_mu);
    shared_.owed.push_back(std::move(mark));
    shared_.owed_count.store(shared_.owed.size());
    return;
  }
  CheckMark(written, mark.message);
}

util::Result<bool> Dispatcher::Write(const Mark& mark) {
  const int64_t id = mark.message.id;
  switch (mark.applied.outcome) {
    case Outcome::kDelivered:
      return outbox_.MarkSent(id, mark.claim_token, mark.at);
    case Outcome::kFailed:
      return outbox_.MarkFailed(id, mark.claim_token, mark.at, mark.applied.error);
    case Outcome::kRetry:
      return outbox_.MarkRetry(id, mark.claim_token, mark.applied.next_attempt_at,
                               mark.applied.error);
    case Outcome::kReleased:
      return outbox_.Release(id, mark.claim_token);
  }
  return util::Error::Internal();
}

bool Dispatcher::FlushPending() {
  if (shared_.owed_count.load() == 0) return true;
  // Another lane writing them now: not clear yet, so no claim either.
  std::unique_lock<std::mutex> lock(shared_.owed_mu, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  std::vector<Mark>& owed = shared_.owed;
  while (!owed.empty()) {
    const util::Result<bool> written = Write(owed.front());
    if (!written.ok()) {
      StorageFailed("mark", written.error());
      return false;
    }
    StorageOk();
    CheckMark(written, owed.front().message);
    owed.erase(owed.begin());
    shared_.owed_count.store(owed.size());
  }
  return true;
}

void Dispatcher::FailUnsent(const domain::OutboxMessage& message, const std::string& claim_token,
                            const std::string& reason) {
  Count("phoneverify_sms_not_sent_total{reason=\"" + reason + "\"}");
  Apply(message, claim_token, {Outcome::kFailed, 0, reason});
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(message.id);
  fields["request_id"] = message.request_id;
  fields["phone"] = domain::MaskPhone(message.phone);
  fields["result"] = "failed";
  fields["detail"] = reason;
  fields["tries"] = message.tries;
  logger_.Error("sms not sent", fields);
}

void Dispatcher::CheckMark(const util::Result<bool>& marked, const domain::OutboxMessage& message) {
  if (!marked.ok() || marked.value()) return;
  // Our lease ran out and another dispatcher took the message over (or it expired).
  ++stats_.lost_claims;
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(message.id);
  fields["request_id"] = message.request_id;
  logger_.Warn("outbox claim lost", fields);
}

void Dispatcher::LogAttempt(const domain::OutboxMessage& message, const SendResult& result,
                            const Applied& applied, int64_t latency_ms) {
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(message.id);
  fields["request_id"] = message.request_id;
  fields["phone"] = domain::MaskPhone(message.phone);
  fields["gateway"] = gateway_.Name();
  fields["result"] = KindName(result.kind);
  fields["gateway_code"] = result.gateway_code;
  fields["latency_ms"] = static_cast<Json::Int64>(latency_ms);
  fields["tries"] = message.tries;
  if (!result.detail.empty()) fields["detail"] = result.detail;
  Count(std::string("phoneverify_sms_attempts_total{gateway=\"") + gateway_.Name() +
        "\",result=\"" + KindName(result.kind) + "\",code=\"" +
        std::to_string(result.gateway_code) + "\"}");
  switch (applied.outcome) {
    case Outcome::kDelivered:
      logger_.Info("sms sent", fields);
      return;
    case Outcome::kRetry:
      fields["retry_in"] = static_cast<Json::Int64>(applied.next_attempt_at - clock_.NowSeconds());
      logger_.Warn("sms attempt failed, will retry", fields);
      return;
    case Outcome::kFailed:
      fields["error"] = applied.error;
      logger_.Error("sms failed", fields);
      return;
    case Outcome::kReleased:
      return;
  }
}

int64_t Dispatcher::Backoff(int tries) {
  const int doublings = std::clamp(tries - 1, 0, 30);
  const int64_t full =
      std::min(options_.base_backoff_seconds << doublings, options_.max_backoff_seconds);
  const int64_t half = (full + 1) / 2;
  return half + random_.Uniform(static_cast<uint32_t>(full - half + 1));
}

void Dispatcher::StorageFailed(const char* operation, const util::Error& error) {
  ++stats_.storage_errors;
  storage_failing_ = true;
  const int64_t now = clock_.NowSeconds();
  if (last_storage_log_ && now - *last_storage_log_ < kStorageLogIntervalSeconds) {
    ++suppressed_storage_errors_;
    return;
  }
  Json::Value fields(Json::objectValue);
  fields["operation"] = operation;
  fields["error"] = error.details;
  fields["suppressed"] = static_cast<Json::Int64>(suppressed_storage_errors_);
  logger_.Error("outbox storage failed", fields);
  last_storage_log_ = now;
  suppressed_storage_errors_ = 0;
}

void Dispatcher::StorageOk() {
  if (!storage_failing_) return;
  storage_failing_ = false;
  Json::Value fields(Json::objectValue);
  fields["suppressed"] = static_cast<Json::Int64>(suppressed_storage_errors_);
  logger_.Info("outbox storage recovered", fields);
  last_storage_log_.reset();
  suppressed_storage_errors_ = 0;
}

}  // namespace phoneverify::sms
