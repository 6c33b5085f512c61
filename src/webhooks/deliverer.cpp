#include "webhooks/deliverer.h"

#include <json/value.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "webhooks/retry_schedule.h"

namespace phoneverify::webhooks {
namespace {

constexpr size_t kClaimTokenBytes = 16;

std::string Outcome(const char* outcome) {
  return std::string("phoneverify_webhooks_total{outcome=\"") + outcome + "\"}";
}

}  // namespace

DelivererOptions DelivererOptionsFrom(const util::Config& config) {
  DelivererOptions options;
  options.outbox_key = config.outbox_key_bytes;
  options.keep_finished_seconds = int64_t{config.retention_days} * 24 * 3600;
  return options;
}

WebhookDeliverer::WebhookDeliverer(domain::WebhookEventStore& store, sms::Transport& transport,
                                   const util::Clock& clock, util::Random& random,
                                   util::Logger& logger, DelivererOptions options,
                                   domain::MetricsStore* metrics)
    : store_(store),
      transport_(transport),
      clock_(clock),
      random_(random),
      logger_(logger),
      options_(std::move(options)),
      tally_(metrics),
      storage_(logger, "webhook") {
  options_.max_in_flight = std::max(1, options_.max_in_flight);
  options_.max_per_client = std::clamp(options_.max_per_client, 1, options_.max_in_flight);
  options_.poll_ms = std::clamp(options_.poll_ms, 1, 1000);
}

int WebhookDeliverer::in_flight_for(int64_t client_id) const {
  const auto found = per_client_.find(client_id);
  return found == per_client_.end() ? 0 : found->second;
}

void WebhookDeliverer::Wake() {
  woken_.store(true);
  transport_.Wake();
}

int WebhookDeliverer::RunOnce(int max_ms) {
  handled_ = 0;
  const int64_t now_ms = clock_.MonotonicMillis();
  SweepIfDue(now_ms);
  if (ShouldClaim(now_ms)) ClaimAndStart();
  // Back by the next poll at the latest, sooner when woken or a call ends.
  const int64_t next_claim = last_claim_ms_.value_or(now_ms) + options_.poll_ms;
  const auto wait = std::clamp<int64_t>(next_claim - clock_.MonotonicMillis(), 0, max_ms);
  Collect(woken_.load() ? 0 : static_cast<int>(wait));
  tally_.Flush(clock_.MonotonicMillis(), clock_.NowSeconds(), /*force=*/false);
  return handled_;
}

void WebhookDeliverer::Run(const std::atomic<bool>& stop) {
  while (!stop.load()) RunOnce(options_.poll_ms);
  const int64_t deadline = clock_.MonotonicMillis() + options_.stop_grace_ms;
  while (!flights_.empty()) {
    const int64_t left = deadline - clock_.MonotonicMillis();
    if (left <= 0) break;
    Collect(static_cast<int>(left));
  }
  ReleaseAll();
  tally_.Flush(clock_.MonotonicMillis(), clock_.NowSeconds(), /*force=*/true);
}

void WebhookDeliverer::SweepIfDue(int64_t now_ms) {
  if (last_sweep_ms_ && now_ms - *last_sweep_ms_ < options_.sweep_every_ms) return;
  last_sweep_ms_ = now_ms;
  const int64_t now = clock_.NowSeconds();
  auto dropped = store_.Sweep(now, now - options_.keep_finished_seconds);
  if (!Checked(dropped.status(), "sweep") || dropped.value() == 0) return;
  stats_.dropped += dropped.value();
  tally_.Count(Outcome("dropped"), dropped.value());
  Json::Value fields(Json::objectValue);
  fields["dropped"] = dropped.value();
  logger_.Warn("webhook events dropped: their client takes no webhooks", fields);
}

bool WebhookDeliverer::ShouldClaim(int64_t now_ms) {
  if (static_cast<int>(flights_.size()) >= options_.max_in_flight) return false;
  const bool polled = !last_claim_ms_ || now_ms - *last_claim_ms_ >= options_.poll_ms;
  const bool room_for_more = more_due_ && finished_since_claim_;
  return woken_.exchange(false) || polled || room_for_more;
}

void WebhookDeliverer::ClaimAndStart() {
  last_claim_ms_ = clock_.MonotonicMillis();
  finished_since_claim_ = false;
  const int room = options_.max_in_flight - static_cast<int>(flights_.size());
  const int64_t now = clock_.NowSeconds();
  // Due lists at most max_per_client of each client; those of busy clients that cannot
  // be taken are at most the calls in flight, so max_in_flight rows always hold `room`.
  auto due = store_.Due(now, options_.max_per_client, options_.max_in_flight);
  if (!Checked(due.status(), "due")) return;
  const std::vector<int64_t> chosen = Choose(due.value(), room);
  more_due_ = chosen.size() < due.value().size();
  if (chosen.empty()) return;
  const std::string token = random_.Hex(kClaimTokenBytes);
  auto claimed = store_.Claim(chosen, token, now, options_.lease_seconds);
  if (!Checked(claimed.status(), "claim")) return;
  for (domain::WebhookEvent& event : claimed.value()) Start(std::move(event), token);
}

// In the store's order (oldest due first), while the client and the whole have room.
std::vector<int64_t> WebhookDeliverer::Choose(const std::vector<domain::WebhookCandidate>& due,
                                              int room) {
  std::vector<int64_t> chosen;
  std::unordered_map<int64_t, int> taken;
  for (const domain::WebhookCandidate& candidate : due) {
    if (static_cast<int>(chosen.size()) >= room) break;
    int& mine = taken[candidate.client_id];
    if (in_flight_for(candidate.client_id) + mine >= options_.max_per_client) continue;
    ++mine;
    chosen.push_back(candidate.id);
  }
  return chosen;
}

void WebhookDeliverer::Start(domain::WebhookEvent event, const std::string& claim_token) {
  const uint64_t tag = next_tag_++;
  Flight& flight = flights_[tag];
  flight.event = std::move(event);
  flight.claim_token = claim_token;
  flight.started_ms = clock_.MonotonicMillis();
  ++per_client_[flight.event.client_id];
  std::optional<std::string> key = SigningKey(options_.outbox_key, flight.event.secret_sealed);
  if (!key) {
    Json::Value fields(Json::objectValue);
    fields["client"] = flight.event.client_name;
    logger_.Error("webhook signing secret does not open (outbox_key changed?)", fields);
    Verdict unreadable;
    unreadable.detail = "signing secret unreadable";
    const Flight done = std::move(flight);
    flights_.erase(tag);
    Finish(done, unreadable);
    return;
  }
  transport_.Start(tag, BuildCall(flight.event, *key, clock_.NowSeconds()));
  std::fill(key->begin(), key->end(), '\0');
}

void WebhookDeliverer::Collect(int max_ms) {
  for (sms::Transport::Finished& finished : transport_.Wait(max_ms)) {
    auto found = flights_.find(finished.tag);
    if (found == flights_.end()) continue;
    const Flight flight = std::move(found->second);
    flights_.erase(found);
    Finish(flight, Judge(finished.answer));
  }
}

void WebhookDeliverer::Finish(const Flight& flight, const Verdict& verdict) {
  if (--per_client_[flight.event.client_id] <= 0) per_client_.erase(flight.event.client_id);
  finished_since_claim_ = true;
  ++handled_;
  std::optional<int64_t> next;
  const char* result = "delivered";
  if (verdict.kind == Verdict::Kind::kDelivered) {
    auto held = store_.MarkDelivered(flight.event.id, flight.claim_token, clock_.NowSeconds());
    if (Checked(held.status(), "mark delivered")) Held(held.value(), flight);
    ++stats_.delivered;
  } else if (verdict.kind == Verdict::Kind::kGone) {
    result = MarkGone(flight, verdict);
  } else {
    result = MarkRetryOrDrop(flight, verdict, next);
  }
  tally_.Count(Outcome(result));
  Log(flight, verdict, result, next);
}

const char* WebhookDeliverer::MarkRetryOrDrop(const Flight& flight, const Verdict& verdict,
                                              std::optional<int64_t>& next) {
  const int64_t now = clock_.NowSeconds();
  next = NextAttempt(flight.event.tries, flight.event.created_at, now, random_);
  if (!next) {
    auto held =
        store_.MarkDropped(flight.event.id, flight.claim_token, "gave up: " + verdict.detail);
    if (Checked(held.status(), "mark dropped")) Held(held.value(), flight);
    ++stats_.dropped;
    return "dropped";
  }
  auto held = store_.MarkRetry(flight.event, flight.claim_token, *next, verdict.detail);
  if (Checked(held.status(), "mark retry")) Held(held.value(), flight);
  ++stats_.retried;
  return "retry";
}

const char* WebhookDeliverer::MarkGone(const Flight& flight, const Verdict& verdict) {
  ++stats_.gone;
  auto gone = store_.MarkGone(flight.event, flight.claim_token, clock_.NowSeconds(),
                              "gone: " + verdict.detail);
  if (!Checked(gone.status(), "mark gone")) return "gone";
  Held(gone.value().held, flight);
  if (gone.value().disabled) {
    Json::Value fields(Json::objectValue);
    fields["client"] = flight.event.client_name;
    fields["event_id"] = flight.event.event_id;
    fields["dropped_pending"] = gone.value().dropped;
    logger_.Warn("webhook endpoint answered 410 Gone: client's webhook disabled", fields);
  }
  return "gone";
}

bool WebhookDeliverer::Checked(const util::Status& status, const char* operation) {
  if (status.ok()) {
    storage_.Ok();
    return true;
  }
  ++stats_.storage_errors;
  storage_.Failed(operation, status.error(), clock_.NowSeconds());
  return false;
}

void WebhookDeliverer::Held(bool held, const Flight& flight) {
  if (held) return;
  ++stats_.lost_claims;
  Json::Value fields(Json::objectValue);
  fields["event_id"] = flight.event.event_id;
  logger_.Warn("webhook claim lost (lease ran out): another deliverer has the event", fields);
}

void WebhookDeliverer::Log(const Flight& flight, const Verdict& verdict, const char* result,
                           std::optional<int64_t> next) {
  Json::Value fields(Json::objectValue);
  fields["event_id"] = flight.event.event_id;
  fields["client"] = flight.event.client_name;
  fields["type"] = flight.event.type;
  fields["result"] = result;
  fields["status"] = static_cast<Json::Int64>(verdict.status);
  fields["detail"] = verdict.detail;
  fields["latency_ms"] = static_cast<Json::Int64>(clock_.MonotonicMillis() - flight.started_ms);
  fields["tries"] = flight.event.tries;
  if (next) fields["retry_in"] = static_cast<Json::Int64>(*next - clock_.NowSeconds());
  if (std::string(result) == "dropped") {
    logger_.Warn("webhook event dropped: retries ran out", fields);
  } else {
    logger_.Info("webhook attempt", fields);
  }
}

void WebhookDeliverer::ReleaseAll() {
  for (const auto& [tag, flight] : flights_) {
    auto held = store_.Release(flight.event.id, flight.claim_token);
    if (Checked(held.status(), "release")) ++stats_.released;
  }
  flights_.clear();
  per_client_.clear();
}

}  // namespace phoneverify::webhooks
