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
                       DispatcherOptions options)
    : outbox_(outbox),
      gateway_(gateway),
      clock_(clock),
      random_(random),
      logger_(logger),
      options_(std::move(options)) {
  options_.max_tries = std::max(1, options_.max_tries);
  options_.batch_size = std::max(1, options_.batch_size);
  options_.base_backoff_seconds = std::max<int64_t>(1, options_.base_backoff_seconds);
  options_.max_backoff_seconds =
      std::max(options_.base_backoff_seconds, options_.max_backoff_seconds);
}

int Dispatcher::RunOnce() {
  const int64_t now = clock_.NowSeconds();
  if (options_.expire_stale) {
    const auto expired = outbox_.ExpireStale(now);
    if (!expired.ok()) {
      StorageFailed("expire", expired.error());
      return 0;
    }
    if (expired.value() > 0) {
      Json::Value fields(Json::objectValue);
      fields["count"] = expired.value();
      logger_.Info("outbox messages expired", fields);
    }
  }
  // Fresh per pass: a stale claim of ours must not match after its lease was taken over.
  const std::string claim_token = random_.Hex(kClaimTokenBytes);
  const auto claimed = outbox_.Claim(claim_token, now, options_.lease_seconds, options_.batch_size);
  if (!claimed.ok()) {
    StorageFailed("claim", claimed.error());
    return 0;
  }
  StorageOk();
  if (options_.on_full_claim && claimed.value().size() >= static_cast<size_t>(options_.batch_size)) {
    options_.on_full_claim();
  }
  int handled = 0;
  for (const auto& message : claimed.value()) {
    if (handled > 0 && (Stopping() || !HaveTimeToSend(now))) {
      Release(message, claim_token);
      continue;
    }
    Handle(message, claim_token);
    ++handled;
  }
  return handled;
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
  stop_ = nullptr;
}

bool Dispatcher::HaveTimeToSend(int64_t claimed_at) const {
  return clock_.NowSeconds() + options_.send_timeout_seconds < claimed_at + options_.lease_seconds;
}

void Dispatcher::Release(const domain::OutboxMessage& message, const std::string& claim_token) {
  ++stats_.released;
  CheckMark(outbox_.MarkRetry(message.id, claim_token, clock_.NowSeconds(), ""), message);
}

void Dispatcher::Handle(const domain::OutboxMessage& message, const std::string& claim_token) {
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

void Dispatcher::Apply(const domain::OutboxMessage& message, const std::string& claim_token,
                       const Applied& applied) {
  const int64_t now = clock_.NowSeconds();
  switch (applied.outcome) {
    case Outcome::kDelivered:
      ++stats_.delivered;
      CheckMark(outbox_.MarkSent(message.id, claim_token, now), message);
      return;
    case Outcome::kFailed:
      ++stats_.failed;
      CheckMark(outbox_.MarkFailed(message.id, claim_token, now, applied.error), message);
      return;
    case Outcome::kRetry:
      ++stats_.retried;
      CheckMark(outbox_.MarkRetry(message.id, claim_token, applied.next_attempt_at, applied.error),
                message);
      return;
  }
}

void Dispatcher::FailUnsent(const domain::OutboxMessage& message, const std::string& claim_token,
                            const std::string& reason) {
  ++stats_.failed;
  CheckMark(outbox_.MarkFailed(message.id, claim_token, clock_.NowSeconds(), reason), message);
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
  if (!marked.ok()) {
    StorageFailed("mark", marked.error());
    return;
  }
  if (marked.value()) return;
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
