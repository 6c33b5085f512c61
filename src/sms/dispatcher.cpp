#include "sms/dispatcher.h"

#include <json/value.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>
#include <variant>

#include "domain/phone_number.h"
#include "util/crypto.h"

namespace phoneverify::sms {
namespace {

constexpr int kSleepSliceMs = 50;
constexpr size_t kClaimTokenBytes = 16;
constexpr int64_t kExpireEveryMs = 1000;
constexpr int kMaxClaimsPerTurn = 8;
constexpr size_t kMarkBatch = 100;
constexpr int64_t kMarkDelayMs = 20;
// Longest wait on the Transport while calls are in flight: it ends at once when one
// finishes or on Wake, so this only bounds how late a retry that came due is claimed.
constexpr int kBusyWaitMs = 200;

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

std::string Label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + value + "\"";
}

}  // namespace

// The messages of one claim (or one failover) that one backend takes under one pass of
// its circuit. The last owner gives an unused probe back.
struct Dispatcher::Batch {
  Batch(SharedCircuit& c, size_t b, SharedCircuit::Pass p) : circuit(c), backend(b), pass(p) {}
  ~Batch() { circuit.EndPass(pass); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  SharedCircuit& circuit;
  size_t backend;
  SharedCircuit::Pass pass;
};

// One claimed message on its way: which backend has it, since when.
struct Dispatcher::Flight {
  ~Flight() { std::fill(sms.text.begin(), sms.text.end(), '\0'); }
  domain::OutboxMessage message;
  std::string claim_token;
  int64_t claimed_at = 0;
  OutgoingSms sms;
  std::shared_ptr<Batch> batch;
  int64_t started_ms = 0;
};

Dispatcher::Dispatcher(domain::OutboxRepository& outbox, std::vector<SmsBackend*> backends,
                       Transport* transport, const util::Clock& clock, util::Random& random,
                       util::Logger& logger, DispatcherOptions options,
                       domain::MetricsStore* metrics)
    : outbox_(outbox),
      backends_(std::move(backends)),
      transport_(transport),
      clock_(clock),
      random_(random),
      logger_(logger),
      options_(std::move(options)),
      tally_(metrics),
      storage_(logger) {
  for (size_t i = 0; i < backends_.size(); ++i) {
    circuits_.push_back(std::make_unique<SharedCircuit>(options_.breaker_failures,
                                                        options_.breaker_cooloff_ms));
  }
  options_.max_tries = std::max(1, options_.max_tries);
  options_.batch_size = std::max(1, options_.batch_size);
  options_.max_batch_size = std::max(options_.batch_size, options_.max_batch_size);
  options_.max_in_flight = std::max(1, options_.max_in_flight);
  claim_size_ = options_.batch_size;
  options_.base_backoff_seconds = std::max<int64_t>(1, options_.base_backoff_seconds);
  options_.max_backoff_seconds =
      std::max(options_.base_backoff_seconds, options_.max_backoff_seconds);
}

Dispatcher::Dispatcher(domain::OutboxRepository& outbox, SmsGateway& gateway,
                       const util::Clock& clock, util::Random& random, util::Logger& logger,
                       DispatcherOptions options, domain::MetricsStore* metrics)
    : Dispatcher(outbox, {}, nullptr, clock, random, logger, std::move(options), metrics) {
  own_backend_ = std::make_unique<GatewayBackend>(gateway);
  backends_ = {own_backend_.get()};
  circuits_.push_back(
      std::make_unique<SharedCircuit>(options_.breaker_failures, options_.breaker_cooloff_ms));
}

Dispatcher::~Dispatcher() = default;

DispatcherOptions DispatcherOptionsFrom(const util::Config& config) {
  // Claims grow to this while a backlog lasts (bounded by the room under max_in_flight).
  constexpr int kMaxBatchSize = 100;
  DispatcherOptions options;
  options.outbox_key = config.outbox_key_bytes;
  const bool http = config.UsesBackend("sparrow") || config.UsesBackend("http");
  options.send_timeout_seconds = http ? config.sparrow_timeout : 1;
  // A claim must outlive two gateway calls (a message may fail over once), and no more:
  // the messages of a dispatcher that died are sent again once it has run out.
  options.lease_seconds = 2 * options.send_timeout_seconds + 5;
  options.max_batch_size = kMaxBatchSize;
  options.max_in_flight = config.dispatcher_in_flight;
  options.max_tries = config.sms_max_tries;
  options.poll_ms = config.dispatcher_poll_ms;
  options.base_backoff_seconds = config.sms_retry_base;
  options.max_backoff_seconds = config.sms_retry_max;
  options.breaker_failures = config.sms_breaker_failures;
  options.breaker_cooloff_ms = int64_t{config.sms_breaker_cooloff} * 1000;
  options.credit_pause_seconds = config.sms_credit_pause;
  return options;
}

int Dispatcher::RunOnce() { return RunOnce(0); }

int Dispatcher::RunOnce(int max_ms) {
  handled_ = 0;
  tally_.Flush(clock_.MonotonicMillis(), clock_.NowSeconds(), /*force=*/false);
  Collect(WaitMs(max_ms));
  if (MarksDue()) WriteMarks();  // what the gateways answered, before claiming more
  if (WriteOwed() && !Stopping()) {
    const int64_t now = clock_.NowSeconds();
    if (ExpireStale(now) && ShouldClaim()) ClaimWhileFull(now);
  }
  if (MarksDue()) WriteMarks();  // what synchronous backends answered, and releases
  return handled_;
}

void Dispatcher::Run(const std::atomic<bool>& stop) {
  stop_ = &stop;
  while (!stop.load()) {
    const bool busy = !in_flight_.empty();
    const int handled = RunOnce(busy ? kBusyWaitMs : 0);
    if (busy || !in_flight_.empty() || handled > 0) continue;
    if (options_.idle_wait) {
      options_.idle_wait(options_.poll_ms, stop);
    } else {
      SleepUnlessStopped(options_.poll_ms, stop);
    }
  }
  // The calls in flight end within their timeout; their outcomes are written.
  while (!in_flight_.empty()) RunOnce(kBusyWaitMs);
  WriteMarks();
  WriteOwed();  // best effort: what stays owed is reclaimed after its lease
  tally_.Flush(clock_.MonotonicMillis(), clock_.NowSeconds(), /*force=*/true);
  stop_ = nullptr;
}

// Outcomes wait up to kMarkDelayMs for others to share their transaction, while calls
// are in flight (more answers are coming); at once when nothing is in flight (a
// synchronous backend, the last answers of a burst) or the batch is full.
bool Dispatcher::MarksDue() const {
  if (marks_.empty()) return false;
  return in_flight_.empty() || Stopping() || marks_.size() >= kMarkBatch ||
         clock_.MonotonicMillis() - marks_since_ms_ >= kMarkDelayMs;
}

// A wait on calls in flight ends in time to write the outcomes already in.
int Dispatcher::WaitMs(int max_ms) const {
  if (marks_.empty()) return max_ms;
  const int64_t left = marks_since_ms_ + kMarkDelayMs - clock_.MonotonicMillis();
  return static_cast<int>(std::clamp<int64_t>(left, 0, max_ms));
}

void Dispatcher::Wake() {
  woken_.store(true);
  if (transport_ != nullptr) transport_->Wake();
}

bool Dispatcher::ExpireStale(int64_t now) {
  const int64_t now_ms = clock_.MonotonicMillis();
  if (last_expiry_ms_ && now_ms - *last_expiry_ms_ < kExpireEveryMs) return true;
  const auto expired = outbox_.ExpireStale(now);
  if (!expired.ok()) {
    ++stats_.storage_errors;
    storage_.Failed("expire", expired.error(), now);
    return false;
  }
  last_expiry_ms_ = now_ms;
  if (expired.value() > 0) {
    tally_.Count("phoneverify_sms_expired_total", expired.value());
    Json::Value fields(Json::objectValue);
    fields["count"] = expired.value();
    logger_.Info("outbox messages expired", fields);
  }
  return true;
}

// Nothing in flight: always. Otherwise only when more is likely due (the last claim came
// back full, or a wake-up), or poll_ms after the last claim (retries coming due): under
// load a turn runs per finished call, and most would claim nothing.
bool Dispatcher::ShouldClaim() const {
  if (in_flight_.size() >= static_cast<size_t>(options_.max_in_flight)) return false;
  if (in_flight_.empty() || last_claim_full_ || woken_.load()) return true;
  return clock_.MonotonicMillis() - last_claim_ms_ >= options_.poll_ms;
}

// A claim that came back full and whose calls are in flight (not answered at once, as a
// synchronous backend does) is followed by another at once, while there is room: a burst
// fills the room in one turn instead of one claim per wait.
void Dispatcher::ClaimWhileFull(int64_t now) {
  for (int i = 0; i < kMaxClaimsPerTurn; ++i) {
    ClaimAndStart(now);
    const bool room = in_flight_.size() < static_cast<size_t>(options_.max_in_flight);
    if (!last_claim_full_ || in_flight_.empty() || !room) return;
  }
}

void Dispatcher::ClaimAndStart(int64_t now) {
  last_claim_full_ = false;
  const int room = options_.max_in_flight - static_cast<int>(in_flight_.size());
  std::vector<std::shared_ptr<Batch>> batches = Admit(std::min(claim_size_, room));
  int total = 0;
  for (const auto& batch : batches) total += batch->pass.limit;
  if (total == 0) return;
  woken_.store(false);
  // Fresh per claim: a stale claim of ours must not match after its lease was taken over.
  const std::string claim_token = random_.Hex(kClaimTokenBytes);
  // Rows a dead dispatcher left behind are looked for once a second: in nearly every
  // claim there are none, and the look is a statement of its own.
  const int64_t now_ms = clock_.MonotonicMillis();
  const bool take_abandoned = !last_abandoned_ms_ || now_ms - *last_abandoned_ms_ >= kExpireEveryMs;
  auto claimed =
      outbox_.Claim(claim_token, now, options_.lease_seconds, total, take_abandoned);
  if (!claimed.ok()) {
    ++stats_.storage_errors;
    storage_.Failed("claim", claimed.error(), now);
    return;
  }
  storage_.Ok();
  if (take_abandoned) last_abandoned_ms_ = now_ms;
  last_claim_ms_ = now_ms;
  last_claim_full_ = claimed.value().size() >= static_cast<size_t>(total);
  const int64_t released_before = stats_.released;
  StartClaimed(claimed.value(), claim_token, batches, now);
  const bool grow = last_claim_full_ && stats_.released == released_before;
  claim_size_ = grow ? std::min(2 * claim_size_, options_.max_batch_size) : options_.batch_size;
}

// Each backend's circuit, in order, takes what it may of `want` messages.
std::vector<std::shared_ptr<Dispatcher::Batch>> Dispatcher::Admit(int want) {
  std::vector<std::shared_ptr<Batch>> batches;
  const int64_t now_ms = clock_.MonotonicMillis();
  for (size_t i = 0; i < backends_.size() && want > 0; ++i) {
    SharedCircuit::Pass pass = circuits_[i]->Admit(now_ms, want);
    if (pass.limit == 0) continue;
    pass.limit = std::min(pass.limit, want);
    want -= pass.limit;
    batches.push_back(std::make_shared<Batch>(*circuits_[i], i, pass));
  }
  return batches;
}

void Dispatcher::StartClaimed(std::vector<domain::OutboxMessage>& claimed,
                              const std::string& claim_token,
                              std::vector<std::shared_ptr<Batch>>& batches, int64_t claimed_at) {
  size_t batch = 0;
  int taken = 0;
  for (size_t i = 0; i < claimed.size(); ++i) {
    while (taken >= batches[batch]->pass.limit) {
      ++batch;
      taken = 0;
    }
    ++taken;
    domain::OutboxMessage& message = claimed[i];
    const SharedCircuit::Pass& pass = batches[batch]->pass;
    // The first is always sent; the others while the circuit, the lease and no stop allow.
    if (i > 0 && (Stopping() || !HaveTimeToSend(claimed_at) ||
                  !batches[batch]->circuit.StillAllows(pass))) {
      Release(message, claim_token);
      continue;
    }
    if (message.expires_at <= clock_.NowSeconds()) {
      FailUnsent(message, claim_token, "expired");
      continue;
    }
    auto text = util::Open(options_.outbox_key, message.sealed_text);
    if (!text) {
      FailUnsent(message, claim_token, "undecryptable");
      continue;
    }
    auto flight = std::make_unique<Flight>();
    flight->sms = {"msg_" + std::to_string(message.id), message.phone, std::move(*text), 0};
    std::fill(text->begin(), text->end(), '\0');
    flight->message = std::move(message);
    flight->claim_token = claim_token;
    flight->claimed_at = claimed_at;
    Start(std::move(flight), batches[batch]->backend, batches[batch]);
  }
}

void Dispatcher::Start(std::unique_ptr<Flight> flight, size_t backend,
                       std::shared_ptr<Batch> batch) {
  flight->batch = std::move(batch);
  flight->started_ms = clock_.MonotonicMillis();
  flight->sms.now = clock_.NowSeconds();
  SmsBackend::Prepared prepared = backends_[backend]->Prepare(flight->sms);
  if (auto* result = std::get_if<SendResult>(&prepared)) {
    Finished(std::move(flight), *result);
    return;
  }
  if (transport_ == nullptr) {
    SendResult nowhere;
    nowhere.detail = "no transport";
    Finished(std::move(flight), nowhere);
    return;
  }
  const uint64_t tag = next_tag_++;
  transport_->Start(tag, std::move(std::get<HttpCall>(prepared)));
  in_flight_.emplace(tag, std::move(flight));
}

void Dispatcher::Collect(int max_ms) {
  if (transport_ == nullptr || in_flight_.empty()) return;
  for (const Transport::Finished& done : transport_->Wait(max_ms)) {
    auto found = in_flight_.find(done.tag);
    if (found == in_flight_.end()) continue;
    std::unique_ptr<Flight> flight = std::move(found->second);
    in_flight_.erase(found);
    const SendResult result = backends_[flight->batch->backend]->Interpret(flight->sms, done.answer);
    Finished(std::move(flight), result);
  }
}

void Dispatcher::Finished(std::unique_ptr<Flight> flight, const SendResult& result) {
  const size_t backend = flight->batch->backend;
  const char* gateway = backends_[backend]->Name();
  const int64_t latency_ms = clock_.MonotonicMillis() - flight->started_ms;
  tally_.ObserveLatency(gateway, latency_ms);
  tally_.Count("phoneverify_sms_attempts_total{" + Label("gateway", gateway) + "," +
               Label("result", KindName(result.kind)) + "," +
               Label("code", std::to_string(result.gateway_code)) + "}");
  ObserveGateway(backend, result, flight->batch->pass);
  const bool may_move = result.kind == SendResult::Kind::kTransient || result.whole_gateway;
  if (may_move && FailOver(flight, result)) return;
  const Applied applied = Decide(flight->message, result);
  Record(flight->message, flight->claim_token, applied, gateway);
  LogAttempt(*flight, result, applied, latency_ms);
}

// The message goes on to the next backend that takes it, if its lease covers the call.
bool Dispatcher::FailOver(std::unique_ptr<Flight>& flight, const SendResult& result) {
  const size_t from = flight->batch->backend;
  if (from + 1 >= backends_.size() || Stopping() || !HaveTimeToSend(flight->claimed_at)) {
    return false;
  }
  std::shared_ptr<Batch> next = AdmitOne(from + 1);
  if (!next) return false;
  ++stats_.failovers;
  tally_.Count("phoneverify_sms_failovers_total{" + Label("from", backends_[from]->Name()) +
               "," + Label("to", backends_[next->backend]->Name()) + "}");
  LogFailover(*flight, result, next->backend);
  const size_t to = next->backend;
  Start(std::move(flight), to, std::move(next));
  return true;
}

std::shared_ptr<Dispatcher::Batch> Dispatcher::AdmitOne(size_t from_backend) {
  const int64_t now_ms = clock_.MonotonicMillis();
  for (size_t i = from_backend; i < backends_.size(); ++i) {
    const SharedCircuit::Pass pass = circuits_[i]->Admit(now_ms, 1);
    if (pass.limit > 0) return std::make_shared<Batch>(*circuits_[i], i, pass);
  }
  return nullptr;
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

void Dispatcher::ObserveGateway(size_t backend, const SendResult& result,
                                const SharedCircuit::Pass& pass) {
  const int64_t now_ms = clock_.MonotonicMillis();
  SharedCircuit& circuit = *circuits_[backend];
  using Change = SharedCircuit::Change;
  if (result.whole_gateway || result.out_of_credit) {
    if (result.out_of_credit) ++stats_.out_of_credit;
    if (circuit.Pause(now_ms, options_.credit_pause_seconds * 1000) != Change::kPaused) return;
    ++stats_.circuit_opened;
    const char* reason = result.out_of_credit ? "out_of_credit" : "account_refused";
    tally_.Count(std::string("phoneverify_sms_circuit_opened_total{reason=\"") + reason + "\"}");
    SetPausedGauges();
    LogCircuit(backend,
               result.out_of_credit ? "sms gateway out of credit: sending paused"
                                    : "sms gateway refused the account: sending paused",
               true);
    return;
  }
  if (result.kind == SendResult::Kind::kTransient) {
    if (circuit.OnTransientFailure(pass, now_ms) == Change::kOpened) {
      ++stats_.circuit_opened;
      tally_.Count("phoneverify_sms_circuit_opened_total{reason=\"failures\"}");
      SetPausedGauges();
      LogCircuit(backend, "sms gateway circuit open: sending paused", true);
    }
    return;
  }
  // Any other answer (delivered, or a refusal of that one message) shows the gateway works.
  if (circuit.OnSuccess(pass) == Change::kClosed) {
    SetPausedGauges();
    LogCircuit(backend, "sms gateway circuit closed: sending resumed", false);
  }
}

void Dispatcher::SetPausedGauges() {
  bool all_paused = true;
  for (size_t i = 0; i < backends_.size(); ++i) {
    const bool paused = circuits_[i]->state() != CircuitBreaker::State::kClosed;
    all_paused = all_paused && paused;
    tally_.SetGauge("phoneverify_sms_backend_paused{" + Label("gateway", backends_[i]->Name()) +
                        "}",
                    paused);
  }
  tally_.SetGauge("phoneverify_sms_sending_paused", all_paused);
}

void Dispatcher::LogCircuit(size_t backend, const char* msg, bool error) {
  const SharedCircuit::Snapshot circuit = circuits_[backend]->snapshot();
  Json::Value fields(Json::objectValue);
  fields["gateway"] = backends_[backend]->Name();
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

void Dispatcher::Record(const domain::OutboxMessage& message, const std::string& claim_token,
                        const Applied& applied, const char* backend) {
  using Kind = domain::OutboxMark::Kind;
  domain::OutboxMark mark{Kind::kReleased, message.id, claim_token, clock_.NowSeconds(), "", ""};
  mark.verification_id = message.verification_id;
  switch (applied.outcome) {
    case Outcome::kDelivered:
      ++stats_.delivered;
      mark.kind = Kind::kSent;
      mark.backend = backend;
      break;
    case Outcome::kFailed:
      ++stats_.failed;
      mark.kind = Kind::kFailed;
      mark.error = applied.error;
      break;
    case Outcome::kRetry:
      ++stats_.retried;
      mark.kind = Kind::kRetry;
      mark.at = applied.next_attempt_at;
      mark.error = applied.error;
      break;
    case Outcome::kReleased:
      ++stats_.released;
      break;
  }
  if (applied.outcome != Outcome::kReleased) ++handled_;
  if (marks_.empty()) marks_since_ms_ = clock_.MonotonicMillis();
  marks_.emplace_back(std::move(mark), message.request_id);
}

void Dispatcher::Release(const domain::OutboxMessage& message, const std::string& claim_token) {
  Record(message, claim_token, {Outcome::kReleased, 0, ""});
}

void Dispatcher::FailUnsent(const domain::OutboxMessage& message, const std::string& claim_token,
                            const std::string& reason) {
  tally_.Count("phoneverify_sms_not_sent_total{reason=\"" + reason + "\"}");
  Record(message, claim_token, {Outcome::kFailed, 0, reason});
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(message.id);
  fields["request_id"] = message.request_id;
  fields["phone"] = domain::MaskPhone(message.phone);
  fields["result"] = "failed";
  fields["detail"] = reason;
  fields["tries"] = message.tries;
  logger_.Error("sms not sent", fields);
}

// This turn's marks in one write; on a storage error they are owed (WriteOwed).
void Dispatcher::WriteMarks() {
  if (marks_.empty() || Write(marks_)) return;
  // The outcomes are known (the gateways answered); only writing them down failed.
  for (auto& entry : marks_) owed_.push_back(std::move(entry));
  marks_.clear();
}

bool Dispatcher::WriteOwed() { return owed_.empty() || Write(owed_); }

// `pending` in one MarkMany: on success each is checked and the list emptied; on a
// storage error it is kept and false returned.
bool Dispatcher::Write(PendingMarks& pending) {
  std::vector<domain::OutboxMark> marks;
  marks.reserve(pending.size());
  for (const auto& [mark, request_id] : pending) marks.push_back(mark);
  const auto held = outbox_.MarkMany(marks);
  if (!held.ok()) {
    ++stats_.storage_errors;
    storage_.Failed("mark", held.error(), clock_.NowSeconds());
    return false;
  }
  storage_.Ok();
  for (size_t i = 0; i < pending.size(); ++i) {
    CheckMark(held.value()[i], pending[i].first.id, pending[i].second);
  }
  pending.clear();
  return true;
}

void Dispatcher::CheckMark(bool held, int64_t id, const std::string& request_id) {
  if (held) return;
  // Our lease ran out and another dispatcher took the message over (or it expired).
  ++stats_.lost_claims;
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(id);
  fields["request_id"] = request_id;
  logger_.Warn("outbox claim lost", fields);
}

void Dispatcher::LogAttempt(const Flight& flight, const SendResult& result,
                            const Applied& applied, int64_t latency_ms) {
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(flight.message.id);
  fields["request_id"] = flight.message.request_id;
  fields["phone"] = domain::MaskPhone(flight.message.phone);
  fields["gateway"] = backends_[flight.batch->backend]->Name();
  fields["result"] = KindName(result.kind);
  fields["gateway_code"] = result.gateway_code;
  fields["latency_ms"] = static_cast<Json::Int64>(latency_ms);
  fields["tries"] = flight.message.tries;
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
    case Outcome::kReleased:
      return;
  }
}

void Dispatcher::LogFailover(const Flight& flight, const SendResult& result, size_t to_backend) {
  Json::Value fields(Json::objectValue);
  fields["outbox_id"] = static_cast<Json::Int64>(flight.message.id);
  fields["request_id"] = flight.message.request_id;
  fields["phone"] = domain::MaskPhone(flight.message.phone);
  fields["gateway"] = backends_[flight.batch->backend]->Name();
  fields["next_gateway"] = backends_[to_backend]->Name();
  fields["result"] = KindName(result.kind);
  fields["gateway_code"] = result.gateway_code;
  if (!result.detail.empty()) fields["detail"] = result.detail;
  // Sparrow returns no message id: after a timeout the first gateway may still have sent
  // it, so the phone may get this code twice.
  const bool may_duplicate = result.detail == "timeout";
  fields["may_duplicate"] = may_duplicate;
  if (may_duplicate) {
    logger_.Warn("sms attempt timed out, failing over: it may arrive twice", fields);
  } else {
    logger_.Warn("sms attempt failed, failing over", fields);
  }
}

int64_t Dispatcher::Backoff(int tries) {
  const int doublings = std::clamp(tries - 1, 0, 30);
  const int64_t full =
      std::min(options_.base_backoff_seconds << doublings, options_.max_backoff_seconds);
  const int64_t half = (full + 1) / 2;
  return half + random_.Uniform(static_cast<uint32_t>(full - half + 1));
}

bool Dispatcher::HaveTimeToSend(int64_t claimed_at) const {
  return clock_.NowSeconds() + options_.send_timeout_seconds < claimed_at + options_.lease_seconds;
}

}  // namespace phoneverify::sms
