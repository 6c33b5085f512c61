// The webhook deliverer: posts the events of webhook_events to the clients' URLs
// (contract section 7), many at once from one thread over its own Transport. It runs in
// phoneverify-dispatcher on a thread of its own, beside the SMS loop, with its own
// transport and its own storage calls, so a slow or dead endpoint never delays an SMS.
// Several may run (processes, hosts): claims are exclusive (domain::WebhookEventStore).
//
// One turn (RunOnce):
//   1. Sweep, every kSweepEveryMs: events no client can take are dropped, old finished
//      ones pruned (after keep_finished_seconds).
//   2. Claim, when woken (Wake), every poll_ms, or when calls finished while more were
//      due: the store's due events, at most max_per_client in flight per client and
//      max_in_flight in all, so one dead endpoint holds at most max_per_client slots.
//   3. Each claimed event's call starts (webhook_call.h: signed with the client's secret,
//      opened from its sealed form with the outbox key; a secret that does not open
//      counts as a failed try).
//   4. Answers (up to `max_ms` waited for) are judged and marked:
//        2xx                     -> delivered
//        410 Gone                -> dropped, the client's webhook disabled (logged with
//                                   the client's name) and its other pending events
//                                   dropped: a new URL starts afresh (MarkGone)
//        anything else, timeout  -> retry at retry_schedule's NextAttempt, or dropped
//                                   once it gives up (logged)
//      A mark that fails on a storage error leaves the event leased: it is tried again
//      once the lease runs out (at least once; receivers dedupe by webhook-id).
// Each try logs one line: event_id, client name, type, result, HTTP status, detail,
// latency_ms, tries. Never the body (it holds the phone), the URL or the secret.
// Figures (sms::DeliveryTally): phoneverify_webhooks_total{outcome="delivered|retry|
// dropped|gone"}.
//
// Run: turns until `stop`; then, without claiming, the calls in flight get up to
// stop_grace_ms to finish and be marked, and the rest are released (due again at once).
// Not thread-safe, except Wake.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "domain/ports.h"
#include "domain/webhook_events.h"
#include "sms/delivery_tally.h"
#include "sms/storage_trouble.h"
#include "sms/transport.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/logger.h"
#include "util/random.h"
#include "webhooks/webhook_call.h"

namespace phoneverify::webhooks {

// Every default is here; DelivererOptionsFrom sets what the configuration decides.
struct DelivererOptions {
  std::string outbox_key;  // raw key bytes (Config::outbox_key_bytes): opens the secrets
  int max_in_flight = 64;  // calls at once, all clients together
  int max_per_client = 8;  // calls at once to one client
  int poll_ms = 500;       // longest wait between claims (newly due events go out by then)
  int64_t lease_seconds = 3 * kTimeoutSeconds;  // outlives a call and its mark
  int64_t sweep_every_ms = 10'000;
  int64_t keep_finished_seconds = 30 * 24 * 3600;  // delivered/dropped rows kept
  int stop_grace_ms = 2000;                        // calls in flight at a stop get this long
};

// The options of `config`: the outbox key and the retention (retention_days).
DelivererOptions DelivererOptionsFrom(const util::Config& config);

struct DelivererStats {
  int64_t delivered = 0;
  int64_t retried = 0;
  int64_t dropped = 0;  // gave up after the retry window, or undeliverable (sweep)
  int64_t gone = 0;     // 410 answers
  int64_t released = 0;
  int64_t lost_claims = 0;
  int64_t storage_errors = 0;
};

class WebhookDeliverer {
 public:
  // All references (and `metrics`, optional) must outlive the deliverer.
  WebhookDeliverer(domain::WebhookEventStore& store, sms::Transport& transport,
                   const util::Clock& clock, util::Random& random, util::Logger& logger,
                   DelivererOptions options, domain::MetricsStore* metrics = nullptr);
  WebhookDeliverer(const WebhookDeliverer&) = delete;
  WebhookDeliverer& operator=(const WebhookDeliverer&) = delete;

  // One turn (above), waiting up to `max_ms` for answers. Returns the outcomes marked.
  int RunOnce(int max_ms);
  // Turns until `stop`, then the stop as above.
  void Run(const std::atomic<bool>& stop);
  // New events may be due: the next turn claims, and a wait on the transport ends.
  // Thread-safe.
  void Wake();

  const DelivererStats& stats() const { return stats_; }
  size_t in_flight() const { return flights_.size(); }
  // Calls in flight to one client.
  int in_flight_for(int64_t client_id) const;

 private:
  struct Flight {
    domain::WebhookEvent event;
    std::string claim_token;
    int64_t started_ms = 0;
  };

  void SweepIfDue(int64_t now_ms);
  bool ShouldClaim(int64_t now_ms);
  void ClaimAndStart();
  std::vector<int64_t> Choose(const std::vector<domain::WebhookCandidate>& due, int room);
  void Start(domain::WebhookEvent event, const std::string& claim_token);
  void Collect(int max_ms);
  void Finish(const Flight& flight, const Verdict& verdict);
  const char* MarkRetryOrDrop(const Flight& flight, const Verdict& verdict,
                              std::optional<int64_t>& next);
  const char* MarkGone(const Flight& flight, const Verdict& verdict);
  bool Checked(const util::Status& status, const char* operation);
  void Held(bool held, const Flight& flight);
  void Log(const Flight& flight, const Verdict& verdict, const char* result,
           std::optional<int64_t> next);
  void ReleaseAll();

  domain::WebhookEventStore& store_;
  sms::Transport& transport_;
  const util::Clock& clock_;
  util::Random& random_;
  util::Logger& logger_;
  DelivererOptions options_;
  DelivererStats stats_;
  sms::DeliveryTally tally_;
  sms::StorageTrouble storage_;
  std::atomic<bool> woken_{true};
  std::optional<int64_t> last_claim_ms_;
  std::optional<int64_t> last_sweep_ms_;
  bool more_due_ = false;  // the last claim left due events behind (no room then)
  bool finished_since_claim_ = false;
  uint64_t next_tag_ = 1;
  std::unordered_map<uint64_t, Flight> flights_;
  std::unordered_map<int64_t, int> per_client_;  // client id -> calls in flight
  int handled_ = 0;                              // outcomes marked this turn
};

}  // namespace phoneverify::webhooks
