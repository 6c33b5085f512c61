// The SMS dispatcher: drains the outbox through an SmsGateway. Runs in its own process
// (phoneverify-dispatcher); several may run at once: the outbox claim tokens and leases
// guarantee a message is handed to the gateway by one dispatcher at a time.
//
// One pass (RunOnce):
//   0. Outbox writes that failed on a storage error earlier (the gateway had answered)
//      are written first, those of every lane sharing this one's DispatcherShared; while
//      they still fail, nothing else happens (so a delivered message is never claimed and
//      sent again because its "sent" mark was lost).
//   1. ExpireStale(now): undelivered messages past their expiry fail as "expired"
//      (unless options.expire_stale is off: another dispatcher of the process does it).
//   2. Unless the gateway circuit is open (see SharedCircuit), claim up to the claim size
//      of due messages (1, the probe, while half-open) under a fresh random claim token
//      and lease. The claim size starts at batch_size and doubles, up to max_batch_size,
//      after each claim that came back full and was sent in full; any other claim sets
//      it back to batch_size. Under a backlog a claim then serves more messages for the
//      same few statements (claims of a process's lanes take turns, so their rate caps
//      the delivery rate); a short queue still spreads over lanes batch_size at a time.
//   3. Per message: open the sealed text with the outbox key (failure -> failed
//      "undecryptable"); Send; then
//        kDelivered -> MarkSent (erases the text)
//        kPermanent -> MarkFailed(detail), never retried; when the result says the
//                      gateway account is out of credit, sending pauses for
//                      credit_pause_seconds (an "alert" log line), then one probe
//                      message goes out; sending resumes on its success
//        kTransient -> tries >= max_tries ? MarkFailed("gave up: " + detail)
//                                         : MarkRetry(now + backoff, detail)
//      backoff = random in [d/2, d], d = min(base * 2^(tries-1), cap).
//      Transient failures also feed the circuit breaker.
//      A message is sent only while the claim's lease outlasts a gateway call
//      (send_timeout_seconds) and the circuit lets it; later ones in the batch, and the
//      rest after a stop request, are released at once for the next pass, their try
//      given back (the first is always sent).
// Each attempt logs one line: outbox_id, request_id, masked phone, result, gateway code,
// detail, latency_ms, tries. The text is never logged. Storage failures are logged at
// most once per 30 s (with a suppressed count) and a "storage recovered" line follows.
// Circuit changes are logged once each ("sms gateway circuit open/closed").
//
// Figures (when given a MetricsStore): per attempt phoneverify_sms_attempts_total{gateway,
// result,code} and the phoneverify_sms_gateway_latency_seconds histogram; also messages
// failed unsent by reason, expired, circuit openings by reason and the
// phoneverify_sms_sending_paused gauge. They are added up in memory (one tally for all
// the lanes sharing a DispatcherShared) and flushed every kMetricsFlushMillis by
// whichever lane comes by (and when Run ends); a failed flush keeps them for the next.
//
// Lanes: several Dispatchers (one per thread, each with its own gateway, Random and
// database connection) may share one DispatcherShared (options.shared): one circuit
// breaker and credit pause for all of them, and one list of owed writes that blocks every
// lane's claims until written. Without one, a Dispatcher keeps its own.
// Not thread-safe: one Dispatcher per thread (the gateway and Random are not shared).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "sms/circuit_breaker.h"
#include "sms/shared_circuit.h"
#include "sms/sms_gateway.h"
#include "util/config.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::sms {

struct DispatcherShared;

// Made from a Config by DispatcherOptionsFrom: the configured fields have no defaults of
// their own (util::Config's initialisers are their one home).
struct DispatcherOptions {
  std::string outbox_key;          // raw key bytes (Config::outbox_key_bytes)
  int64_t lease_seconds = 30;      // how long a claim keeps others away (the least one)
  int batch_size = 10;             // messages claimed per pass, at first
  int max_batch_size = 0;          // largest claim under a backlog (< batch_size: batch_size)
  int max_tries = 0;               // Config::sms_max_tries
  int64_t base_backoff_seconds = 0;  // first retry delay (before jitter): sms_retry_base
  int64_t max_backoff_seconds = 0;   // cap on the retry delay: sms_retry_max
  int64_t send_timeout_seconds = 0;  // worst-case duration of one gateway call
  int poll_ms = 0;                   // idle sleep in Run (Config::dispatcher_poll_ms)
  int breaker_failures = 0;  // consecutive transient failures that open the circuit
                             // (0 = no breaker); ignored with `shared`
  int64_t breaker_cooloff_ms = 0;    // open time before a probe (doubles per failed
                                     // probe); ignored with `shared`
  int64_t credit_pause_seconds = 0;  // pause after an out-of-credit answer
  // Step 1 of a pass; several dispatchers sharing a process let one of them do it.
  bool expire_stale = true;
  // How Run sleeps when a pass handled nothing: returns after at most `max_ms`, earlier
  // when woken (new messages) or when `stop` is set. Empty: a plain sleep in slices.
  std::function<void(int max_ms, const std::atomic<bool>& stop)> idle_wait;
  // Called when a claim came back full (more messages are probably due), e.g. to wake
  // another dispatcher of the same process. Optional.
  std::function<void()> on_full_claim;
  // The circuit and owed writes of the process's lanes (not owned; must outlive the
  // Dispatcher). Null: the Dispatcher keeps its own.
  DispatcherShared* shared = nullptr;
};

// The options `config` sets: its retry, breaker, credit and poll settings, the gateway's
// timeout (sms_backend's), a lease that outlives two gateway calls, and claims that grow
// to kMaxBatchSize under a backlog.
DispatcherOptions DispatcherOptionsFrom(const util::Config& config);

struct DispatcherStats {
  int64_t delivered = 0;
  int64_t failed = 0;  // permanent, gave up, undecryptable, expired at send time
  int64_t retried = 0;
  int64_t released = 0;  // handed back unsent (lease running out, stop requested)
  int64_t lost_claims = 0;
  int64_t storage_errors = 0;
  int64_t circuit_opened = 0;  // times the breaker opened (failures or out of credit)
  int64_t out_of_credit = 0;   // out-of-credit answers
};

class Dispatcher {
 public:
  static constexpr int64_t kMetricsFlushMillis = 5000;

  // All references (and `metrics`, optional) must outlive the Dispatcher.
  Dispatcher(domain::OutboxRepository& outbox, SmsGateway& gateway, const util::Clock& clock,
             util::Random& random, util::Logger& logger, DispatcherOptions options,
             domain::MetricsStore* metrics = nullptr);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // One pass. Returns the number of messages handled (sent, failed or rescheduled);
  // 0 when nothing was due or the storage failed.
  int RunOnce();

  // Passes until `stop` becomes true; when a pass handled nothing, waits through
  // options.idle_wait, or else sleeps poll_ms in slices of at most 50 ms so a stop
  // request is honoured promptly. A stop during a batch
  // waits for the gateway call in progress only (bounded by its timeout).
  void Run(const std::atomic<bool>& stop);

  const DispatcherStats& stats() const { return stats_; }
  const SharedCircuit& breaker() const;
  // Outbox writes waiting for the storage to come back (of every lane sharing ours).
  size_t pending_marks() const;

  enum class Outcome { kDelivered, kFailed, kRetry, kReleased };
  struct Applied {
    Outcome outcome;
    int64_t next_attempt_at = 0;
    std::string error;
  };
  // One outbox write owed for a claimed message.
  struct Mark {
    domain::OutboxMessage message;
    std::string claim_token;
    Applied applied;
    int64_t at = 0;  // when the outcome was decided
  };

 private:
  void ResizeClaims(size_t claimed, bool all_sent);
  util::Result<std::vector<domain::OutboxMessage>> ClaimSerially(const std::string& claim_token,
                                                                 int64_t now, int limit);
  bool MaySend(int64_t claimed_at, const SharedCircuit::Pass& pass);
  bool HaveTimeToSend(int64_t claimed_at) const;
  void Release(const domain::OutboxMessage& message, const std::string& claim_token);
  void Handle(const domain::OutboxMessage& message, const std::string& claim_token,
              const SharedCircuit::Pass& pass);
  Applied Decide(const domain::OutboxMessage& message, const SendResult& result);
  void ObserveGateway(const SendResult& result, const SharedCircuit::Pass& pass);
  void Apply(const domain::OutboxMessage& message, const std::string& claim_token,
             const Applied& applied);
  void FailUnsent(const domain::OutboxMessage& message, const std::string& claim_token,
                  const std::string& reason);
  void Record(Mark mark);
  util::Result<bool> Write(const Mark& mark);
  bool FlushPending();
  void CheckMark(const util::Result<bool>& marked, const domain::OutboxMessage& message);
  void LogAttempt(const domain::OutboxMessage& message, const SendResult& result,
                  const Applied& applied, int64_t latency_ms);
  void LogCircuit(const char* msg, bool error);
  void Count(const std::string& series, double value = 1);
  void SetGauge(const std::string& series, double value);
  void ObserveLatency(int64_t latency_ms);
  void FlushMetrics(bool force);
  int64_t Backoff(int tries);
  void StorageFailed(const char* operation, const util::Error& error);
  void StorageOk();
  bool Stopping() const { return stop_ != nullptr && stop_->load(); }

  domain::OutboxRepository& outbox_;
  SmsGateway& gateway_;
  const util::Clock& clock_;
  util::Random& random_;
  util::Logger& logger_;
  DispatcherOptions options_;
  DispatcherStats stats_;
  std::unique_ptr<DispatcherShared> own_shared_;  // when options_.shared is null
  DispatcherShared& shared_;
  domain::MetricsStore* metrics_;
  const std::atomic<bool>* stop_ = nullptr;
  int claim_size_ = 1;  // set from options_.batch_size
  bool storage_failing_ = false;
  std::optional<int64_t> last_storage_log_;
  int64_t suppressed_storage_errors_ = 0;
};

// What the lanes of one dispatcher process share. Thread-safe.
struct DispatcherShared {
  DispatcherShared(int breaker_failures, int64_t breaker_cooloff_ms)
      : circuit(breaker_failures, breaker_cooloff_ms) {}
  SharedCircuit circuit;
  // One claim at a time per process. Claims of the lanes all take the head of the queue:
  // run at once they only queue up on its row locks inside the server (spinning and
  // switching threads there); here they wait on a mutex. Other processes and hosts still
  // claim concurrently; the database keeps claims apart.
  std::mutex claim_mu;
  std::mutex owed_mu;  // guards `owed`; held by the lane writing them
  std::vector<Dispatcher::Mark> owed;
  std::atomic<size_t> owed_count{0};  // owed.size(), readable without the lock
  std::mutex metrics_mu;              // guards the two below
  std::map<std::string, domain::MetricDelta> metric_deltas;  // not yet flushed
  int64_t last_flush_ms = 0;
};

}  // namespace phoneverify::sms
