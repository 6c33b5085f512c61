// The SMS dispatcher: drains the outbox through the configured backends (sms_backend, in
// failover order) with many messages in flight at once from one thread. Runs in its own
// process (phoneverify-dispatcher); several may run at once, on one host or several: the
// outbox claim tokens and leases hand a message to one dispatcher at a time.
//
// One turn (RunOnce):
//   0. Outbox writes that failed on a storage error earlier (the gateway had answered)
//      are written first; while they still fail, nothing is claimed (so a delivered
//      message is never claimed and sent again because its "sent" mark was lost).
//   1. ExpireStale(now), at most once a second: undelivered messages past their expiry
//      fail as "expired".
//   2. Claim up to the claim size of due messages, no more than the room left under
//      max_in_flight, under a fresh random claim token and lease (rows of a dispatcher
//      that died, their lease run out, are looked for at most once a second). Each backend's circuit
//      (SharedCircuit: breaker, credit pause, one probe while half-open) says how many it
//      takes; the messages go to the first backend in order that takes them. The claim
//      size starts at batch_size and doubles, up to max_batch_size, after each claim
//      that came back full; any other claim sets it back. A full claim whose calls are
//      in flight is followed by another in the same turn while there is room.
//   3. Per message: open the sealed text (failure -> failed "undecryptable"), the
//      backend Prepares the call and the Transport starts it (a synchronous backend
//      answers at once).
//   4. Calls that finished are interpreted:
//        delivered            -> MarkSent (erases the text)
//        whole-gateway failure (no credit, invalid token) -> that backend pauses for
//                                credit_pause_seconds; the message moves to the next
//                                backend that takes it, or else fails (permanent)
//        permanent            -> MarkFailed(detail), never retried, never failed over
//        transient            -> feeds that backend's breaker; the message moves to the
//                                next backend that takes it (a timeout may have gone
//                                out: the log says so), or else tries >= max_tries ?
//                                MarkFailed("gave up: ...") : MarkRetry(now + backoff)
//      backoff = random in [d/2, d], d = min(base * 2^(tries-1), cap). A message moves
//      on only while its lease outlasts another call.
//   5. The outcomes are written together (one transaction): while calls are in flight,
//      those decided within 20 ms of each other (up to 100); else at once.
// A claimed message that may not be sent (its circuit opened meanwhile, a stop, the lease
// would not cover the call) is released at once for the next turn, its try given back.
// Each attempt logs one line: outbox_id, request_id, masked phone, gateway, result,
// gateway code, detail, latency_ms, tries. The text is never logged. Storage failures are
// logged sparingly (StorageTrouble); circuit changes once each, naming the backend.
// Figures: DeliveryTally.
//
// Run: turns until `stop`; while calls are in flight it waits on the Transport (which
// Wake ends early: new messages), else through options.idle_wait or a plain sleep of
// poll_ms. A stop lets the calls in flight finish (each bounded by its timeout), writes
// their outcomes, and returns.
// Not thread-safe, except Wake: one Dispatcher per thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "domain/ports.h"
#include "sms/delivery_tally.h"
#include "sms/shared_circuit.h"
#include "sms/sms_backend.h"
#include "sms/sms_gateway.h"
#include "sms/storage_trouble.h"
#include "sms/transport.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::sms {

// Made from a Config by DispatcherOptionsFrom: the configured fields have no defaults of
// their own (util::Config's initialisers are their one home).
struct DispatcherOptions {
  std::string outbox_key;          // raw key bytes (Config::outbox_key_bytes)
  int64_t lease_seconds = 30;      // how long a claim keeps others away
  int batch_size = 10;             // messages claimed per turn, at first
  int max_batch_size = 0;          // largest claim under a backlog (< batch_size: batch_size)
  int max_in_flight = 0;           // messages at the gateways at once (Config::dispatcher_in_flight)
  int max_tries = 0;               // Config::sms_max_tries
  int64_t base_backoff_seconds = 0;  // first retry delay (before jitter): sms_retry_base
  int64_t max_backoff_seconds = 0;   // cap on the retry delay: sms_retry_max
  int64_t send_timeout_seconds = 0;  // worst-case duration of one gateway call
  int poll_ms = 0;                   // idle sleep in Run (Config::dispatcher_poll_ms)
  int breaker_failures = 0;  // consecutive transient failures that open a circuit (0 = none)
  int64_t breaker_cooloff_ms = 0;    // open time before a probe (doubles per failed probe)
  int64_t credit_pause_seconds = 0;  // pause after a whole-gateway failure
  // How Run waits when nothing is in flight and a turn handled nothing: returns after at
  // most `max_ms`, earlier when woken or when `stop` is set. Empty: a plain sleep in slices.
  std::function<void(int max_ms, const std::atomic<bool>& stop)> idle_wait;
};

// The options `config` sets: its retry, breaker, credit, poll and in-flight settings, the
// slowest backend's timeout, a lease that outlives two gateway calls, and claims that grow
// to kMaxBatchSize under a backlog.
DispatcherOptions DispatcherOptionsFrom(const util::Config& config);

struct DispatcherStats {
  int64_t delivered = 0;
  int64_t failed = 0;  // permanent, gave up, undecryptable, expired at send time
  int64_t retried = 0;
  int64_t released = 0;  // handed back unsent (lease running out, stop requested)
  int64_t failovers = 0;  // messages moved to the next backend
  int64_t lost_claims = 0;
  int64_t storage_errors = 0;
  int64_t circuit_opened = 0;  // times a circuit opened (failures or whole-gateway)
  int64_t out_of_credit = 0;   // out-of-credit answers
};

class Dispatcher {
 public:
  // `backends` in failover order, each with its own circuit. `transport` runs their HTTP
  // calls (may be null when every backend answers synchronously). All references (and
  // `metrics`, optional) must outlive the Dispatcher.
  Dispatcher(domain::OutboxRepository& outbox, std::vector<SmsBackend*> backends,
             Transport* transport, const util::Clock& clock, util::Random& random,
             util::Logger& logger, DispatcherOptions options,
             domain::MetricsStore* metrics = nullptr);
  // One synchronous gateway.
  Dispatcher(domain::OutboxRepository& outbox, SmsGateway& gateway, const util::Clock& clock,
             util::Random& random, util::Logger& logger, DispatcherOptions options,
             domain::MetricsStore* metrics = nullptr);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // One turn without waiting. Returns the number of messages whose outcome it wrote
  // (sent, failed or rescheduled); 0 when nothing was due or the storage failed.
  int RunOnce();
  // Waits up to `max_ms` for calls in flight, then does what RunOnce does.
  int RunOnce(int max_ms);

  // Turns until `stop` becomes true (see above).
  void Run(const std::atomic<bool>& stop);
  // New messages may be due: the next turn claims even if the last claim came back
  // short, and a wait on the Transport ends. Thread-safe.
  void Wake();

  const DispatcherStats& stats() const { return stats_; }
  // The circuit of the `backend`-th backend (0: the first).
  SharedCircuit& circuit(size_t backend = 0) { return *circuits_.at(backend); }
  const SharedCircuit& breaker() const { return *circuits_.front(); }
  size_t pending_marks() const { return owed_.size(); }
  size_t in_flight() const { return in_flight_.size(); }

 private:
  struct Batch;
  struct Flight;
  enum class Outcome { kDelivered, kFailed, kRetry, kReleased };
  struct Applied {
    Outcome outcome;
    int64_t next_attempt_at = 0;
    std::string error;
  };

  bool MarksDue() const;
  int WaitMs(int max_ms) const;
  bool ExpireStale(int64_t now);
  bool ShouldClaim() const;
  void ClaimWhileFull(int64_t now);
  void ClaimAndStart(int64_t now);
  std::vector<std::shared_ptr<Batch>> Admit(int want);
  void StartClaimed(std::vector<domain::OutboxMessage>& claimed, const std::string& claim_token,
                    std::vector<std::shared_ptr<Batch>>& batches, int64_t claimed_at);
  void Start(std::unique_ptr<Flight> flight, size_t backend, std::shared_ptr<Batch> batch);
  void Collect(int max_ms);
  void Finished(std::unique_ptr<Flight> flight, const SendResult& result);
  bool FailOver(std::unique_ptr<Flight>& flight, const SendResult& result);
  std::shared_ptr<Batch> AdmitOne(size_t from_backend);
  void DoneWith(Flight& flight);
  Applied Decide(const domain::OutboxMessage& message, const SendResult& result);
  void ObserveGateway(size_t backend, const SendResult& result, const SharedCircuit::Pass& pass);
  void Record(const domain::OutboxMessage& message, const std::string& claim_token,
              const Applied& applied, const char* backend = "");
  void Release(const domain::OutboxMessage& message, const std::string& claim_token);
  void FailUnsent(const domain::OutboxMessage& message, const std::string& claim_token,
                  const std::string& reason);
  // Outcome writes not done yet, each with its message's request id (for the log).
  using PendingMarks = std::vector<std::pair<domain::OutboxMark, std::string>>;
  void WriteMarks();
  bool WriteOwed();
  bool Write(PendingMarks& pending);
  void LogAttempt(const Flight& flight, const SendResult& result, const Applied& applied,
                  int64_t latency_ms);
  void LogFailover(const Flight& flight, const SendResult& result, size_t to_backend);
  void LogCircuit(size_t backend, const char* msg, bool error);
  void SetPausedGauges();
  void CheckMark(bool held, int64_t id, const std::string& request_id);
  int64_t Backoff(int tries);
  bool HaveTimeToSend(int64_t claimed_at) const;
  bool Stopping() const { return stop_ != nullptr && stop_->load(); }

  domain::OutboxRepository& outbox_;
  std::unique_ptr<SmsBackend> own_backend_;  // the synchronous gateway's adapter
  std::vector<SmsBackend*> backends_;
  std::vector<std::unique_ptr<SharedCircuit>> circuits_;  // one per backend
  Transport* transport_;
  const util::Clock& clock_;
  util::Random& random_;
  util::Logger& logger_;
  DispatcherOptions options_;
  DispatcherStats stats_;
  DeliveryTally tally_;
  StorageTrouble storage_;
  const std::atomic<bool>* stop_ = nullptr;
  std::atomic<bool> woken_{true};
  int claim_size_ = 1;         // set from options_.batch_size
  bool last_claim_full_ = false;
  int64_t last_claim_ms_ = 0;
  std::optional<int64_t> last_expiry_ms_;
  std::optional<int64_t> last_abandoned_ms_;  // the last claim that looked for abandoned rows
  uint64_t next_tag_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Flight>> in_flight_;
  PendingMarks marks_;  // decided, not written yet
  PendingMarks owed_;   // failed to write earlier
  int64_t marks_since_ms_ = 0;  // when the oldest of marks_ was decided
  int handled_ = 0;  // outcomes decided this turn
};

}  // namespace phoneverify::sms
