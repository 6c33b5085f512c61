// sms::Dispatcher with a fake clock, seeded randomness, the scripted fake gateway and the
// in-memory outbox: no sleeping, no network.
#include "sms/dispatcher.h"

#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fakes/counting_outbox.h"
#include "fakes/fake_gateway.h"
#include "fakes/memory_outbox.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::sms {
namespace {

using fakes::FakeGateway;
using fakes::MemoryOutbox;

constexpr const char* kPhone = "9841234567";
constexpr const char* kText = "Your phoneverify code is 482913. It expires in 5 minutes.";

std::string TempLogPath() {
  char pattern[] = "/tmp/dispatcher_test.XXXXXX";
  const int fd = ::mkstemp(pattern);
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A clock one thread moves while others read it (util::FakeClock is single-threaded).
class SharedClock final : public util::Clock {
 public:
  explicit SharedClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_.load(); }
  int64_t MonotonicMillis() const override { return now_.load() * 1000; }
  void Advance(int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<int64_t> now_;
};

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{42};
  MemoryOutbox outbox;
  FakeGateway gateway;
  std::string log_path = TempLogPath();
  util::Logger logger{log_path, "dispatcher"};
  std::string key;
  DispatcherOptions options = DispatcherOptionsFrom(util::Config());

  Fixture() {
    BOOST_REQUIRE(util::InitCrypto());
    key = random.Bytes(util::kKeyBytes);
    options.outbox_key = key;
    options.max_tries = 5;
    options.breaker_failures = 0;  // the breaker has its own tests below
  }
  ~Fixture() { std::filesystem::remove(log_path); }

  int64_t Queue(const std::string& text = kText, int64_t ttl = 300,
                const std::string& phone = kPhone) {
    return outbox.Enqueue(phone, util::Seal(key, text), clock.NowSeconds(),
                          clock.NowSeconds() + ttl, "req-" + text.substr(0, 8));
  }
  Dispatcher Make() { return Dispatcher(outbox, gateway, clock, random, logger, options); }
  std::string State(int64_t id) { return outbox.Row(id)->state; }
  std::string Log() { return ReadFile(log_path); }
};

BOOST_FIXTURE_TEST_SUITE(dispatcher, Fixture)

BOOST_AUTO_TEST_CASE(delivered_message_is_marked_sent_and_its_text_erased) {
  const int64_t id = Queue();
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  const auto calls = gateway.Calls();
  BOOST_REQUIRE(calls.size() == 1u);
  BOOST_TEST(calls[0].to == kPhone);
  BOOST_TEST(calls[0].text == kText);
  const auto row = *outbox.Row(id);
  BOOST_TEST(row.state == "sent");
  BOOST_TEST(row.sealed_text.empty());
  BOOST_TEST(row.sent_at == clock.NowSeconds());
  BOOST_TEST(dispatcher.stats().delivered == 1);
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(gateway.CallCount() == 1u);
}

BOOST_AUTO_TEST_CASE(log_has_one_line_per_attempt_with_masked_phone_and_no_text) {
  Queue();
  gateway.Push(FakeGateway::Transient("timeout"));
  auto dispatcher = Make();
  dispatcher.RunOnce();
  clock.Advance(10);
  dispatcher.RunOnce();
  const std::string log = Log();
  BOOST_TEST(Count(log, "\"outbox_id\"") == 2u);
  BOOST_TEST(Count(log, "\"latency_ms\"") == 2u);
  BOOST_TEST(log.find("98******67") != std::string::npos);
  BOOST_TEST(log.find("req-Your pho") != std::string::npos);
  BOOST_TEST(log.find(kPhone) == std::string::npos);
  BOOST_TEST(log.find("482913") == std::string::npos);
  BOOST_TEST(log.find("\"result\":\"transient\"") != std::string::npos);
  BOOST_TEST(log.find("\"result\":\"delivered\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(permanent_failure_is_recorded_and_never_retried) {
  const int64_t id = Queue();
  gateway.Push(FakeGateway::Permanent(1007, "sparrow 1007: Invalid Receiver"));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  const auto row = *outbox.Row(id);
  BOOST_TEST(row.state == "failed");
  BOOST_TEST(row.error == "sparrow 1007: Invalid Receiver");
  BOOST_TEST(row.sealed_text.empty());
  clock.Advance(1000);
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(gateway.CallCount() == 1u);
}

BOOST_AUTO_TEST_CASE(transient_failures_back_off_exponentially_with_jitter_and_a_cap) {
  options.max_tries = 12;
  gateway.SetDefault(FakeGateway::Transient("http 502", 502));
  const int64_t id = Queue(kText, 100'000);
  auto dispatcher = Make();
  for (int attempt = 1; attempt <= 11; ++attempt) {
    BOOST_TEST_CONTEXT("attempt " << attempt) {
      BOOST_REQUIRE(dispatcher.RunOnce() == 1);
      const auto row = *outbox.Row(id);
      BOOST_TEST(row.state == "retry");
      BOOST_TEST(row.error == "http 502");
      BOOST_TEST(row.tries == attempt);
      const int64_t ceiling = std::min<int64_t>(2LL << (attempt - 1), 300);
      const int64_t delay = row.next_attempt_at - clock.NowSeconds();
      BOOST_TEST(delay >= (ceiling + 1) / 2);
      BOOST_TEST(delay <= ceiling);
      // Not due a second early.
      clock.Set(row.next_attempt_at - 1);
      BOOST_TEST(dispatcher.RunOnce() == 0);
      clock.Set(row.next_attempt_at);
    }
  }
  BOOST_TEST(gateway.CallCount() == 11u);
  BOOST_TEST(dispatcher.stats().retried == 11);
}

BOOST_AUTO_TEST_CASE(gives_up_after_max_tries) {
  options.max_tries = 3;
  gateway.SetDefault(FakeGateway::Transient("timeout"));
  const int64_t id = Queue(kText, 100'000);
  auto dispatcher = Make();
  for (int i = 0; i < 10; ++i) {
    dispatcher.RunOnce();
    clock.Advance(400);
  }
  BOOST_TEST(gateway.CallCount() == 3u);
  const auto row = *outbox.Row(id);
  BOOST_TEST(row.state == "failed");
  BOOST_TEST(row.error == "gave up: timeout");
  BOOST_TEST(row.sealed_text.empty());
}

BOOST_AUTO_TEST_CASE(expired_messages_are_never_sent) {
  const int64_t retrying = Queue("first", 10);
  const int64_t delivered = Queue("second", 10);
  gateway.Push(FakeGateway::Transient("timeout"));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 2);
  BOOST_TEST(State(retrying) == "retry");
  const int64_t queued = Queue("third", 10);
  clock.Advance(11);
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(gateway.CallCount() == 2u);
  for (int64_t id : {retrying, queued}) {
    const auto row = *outbox.Row(id);
    BOOST_TEST(row.state == "failed");
    BOOST_TEST(row.error == "expired");
    BOOST_TEST(row.sealed_text.empty());
  }
  BOOST_TEST(State(delivered) == "sent");
}

BOOST_AUTO_TEST_CASE(message_expiring_while_its_batch_waits_is_failed_unsent) {
  const int64_t slow = Queue("slow", 300);
  const int64_t short_lived = Queue("short", 3);
  gateway.SetHook([&](const std::string&, const std::string&) { clock.Advance(5); });
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 2);
  BOOST_TEST(gateway.CallCount() == 1u);
  BOOST_TEST(State(slow) == "sent");
  BOOST_TEST(State(short_lived) == "failed");
  BOOST_TEST(outbox.Row(short_lived)->error == "expired");
}

BOOST_AUTO_TEST_CASE(undecryptable_text_fails_without_sending) {
  const int64_t id = outbox.Enqueue(kPhone, util::Seal(random.Bytes(32), kText), clock.NowSeconds(),
                                    clock.NowSeconds() + 300, "req");
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(gateway.CallCount() == 0u);
  BOOST_TEST(State(id) == "failed");
  BOOST_TEST(outbox.Row(id)->error == "undecryptable");
}

BOOST_AUTO_TEST_CASE(lost_claim_is_logged_and_does_not_overwrite_the_new_owner) {
  const int64_t id = Queue();
  gateway.SetHook([&](const std::string&, const std::string&) { outbox.StealClaim(id); });
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(dispatcher.stats().lost_claims == 1);
  const auto row = *outbox.Row(id);
  BOOST_TEST(row.state == "sending");
  BOOST_TEST(row.claim_token == "stolen");
  BOOST_TEST(Log().find("outbox claim lost") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_claimed_message_is_invisible_to_a_second_dispatcher) {
  options.batch_size = 1;
  util::SeededRandom other_random{43};
  FakeGateway other_gateway;
  Dispatcher other(outbox, other_gateway, clock, other_random, logger, options);
  for (int i = 0; i < 5; ++i) Queue("message " + std::to_string(i));
  bool ran_other = false;
  gateway.SetHook([&](const std::string&, const std::string&) {
    if (ran_other) return;
    ran_other = true;
    while (other.RunOnce() > 0) {
    }
  });
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(gateway.CallCount() == 1u);
  BOOST_TEST(other_gateway.CallCount() == 4u);
  for (const auto& call : other_gateway.Calls()) {
    BOOST_TEST(call.text != gateway.Calls()[0].text);
  }
}

BOOST_AUTO_TEST_CASE(two_dispatcher_threads_send_every_message_exactly_once) {
  const uint64_t seed =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  BOOST_TEST_MESSAGE("seed " << seed);
  constexpr int kMessages = 300;
  options.batch_size = 3;
  options.max_tries = 100;
  options.lease_seconds = 1'000'000;  // a descheduled thread must not lose its claim here
  for (int i = 0; i < kMessages; ++i) Queue("message " + std::to_string(i));
  util::SeededRandom random_a{seed};
  util::SeededRandom random_b{seed + 1};
  FakeGateway gateway_a;
  FakeGateway gateway_b;
  // Some transient failures so messages come back around (the clock moves on below).
  util::SeededRandom script{seed + 2};
  for (int i = 0; i < 40; ++i) {
    (script.Uniform(2) ? gateway_a : gateway_b).Push(FakeGateway::Transient("x"));
  }
  SharedClock shared_clock(clock.NowSeconds());
  Dispatcher a(outbox, gateway_a, shared_clock, random_a, logger, options);
  Dispatcher b(outbox, gateway_b, shared_clock, random_b, logger, options);
  std::atomic<bool> done{false};
  auto work = [&](Dispatcher& d) {
    while (!done.load()) d.RunOnce();
  };
  std::thread ta(work, std::ref(a));
  std::thread tb(work, std::ref(b));
  for (int i = 0; i < 2000 && outbox.Depth().value() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (i % 20 == 19) shared_clock.Advance(10);
  }
  done = true;
  ta.join();
  tb.join();
  BOOST_TEST(outbox.Depth().value() == 0);
  std::map<std::string, int> attempts;
  for (const auto* g : {&gateway_a, &gateway_b}) {
    for (const auto& call : g->Calls()) ++attempts[call.text];
  }
  for (const auto& row : outbox.Rows()) BOOST_TEST(row.state == "sent");
  const int64_t retried = a.stats().retried + b.stats().retried;
  BOOST_TEST(attempts.size() == static_cast<size_t>(kMessages));
  BOOST_TEST(a.stats().delivered + b.stats().delivered == kMessages);
  BOOST_TEST(gateway_a.CallCount() + gateway_b.CallCount() == kMessages + retried);
  BOOST_TEST(a.stats().lost_claims + b.stats().lost_claims == 0);
  BOOST_TEST(retried <= 40);
}

BOOST_AUTO_TEST_CASE(the_outcomes_of_a_turn_are_written_in_one_go) {
  for (int i = 0; i < 5; ++i) Queue("message " + std::to_string(i));
  gateway.Push(FakeGateway::Transient("http 502", 502));
  gateway.Push(FakeGateway::Permanent(1007, "sparrow 1007: invalid receiver"));
  fakes::CountingOutbox counting(outbox);
  Dispatcher dispatcher(counting, gateway, clock, random, logger, options);
  BOOST_TEST(dispatcher.RunOnce() == 5);
  BOOST_TEST(counting.sizes == std::vector<size_t>{5}, boost::test_tools::per_element());
  BOOST_TEST(counting.single_marks == 0);
  BOOST_TEST(dispatcher.stats().delivered == 3);
  BOOST_TEST(dispatcher.stats().retried == 1);
  BOOST_TEST(dispatcher.stats().failed == 1);
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(counting.sizes.size() == 1u);  // nothing decided, nothing written
}

BOOST_AUTO_TEST_CASE(storage_outage_is_logged_sparingly_and_recovers_alone) {
  const int64_t id = Queue();
  outbox.FailNextCalls(10);
  auto dispatcher = Make();
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(dispatcher.RunOnce() == 0);
    clock.Advance(1);
  }
  BOOST_TEST(dispatcher.stats().storage_errors == 10);
  BOOST_TEST(Count(Log(), "outbox storage failed") == 1u);
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(id) == "sent");
  const std::string log = Log();
  BOOST_TEST(Count(log, "outbox storage recovered") == 1u);
  BOOST_TEST(log.find("\"suppressed\":9") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(storage_errors_are_logged_again_after_the_interval) {
  outbox.FailNextCalls(100);
  auto dispatcher = Make();
  for (int i = 0; i < 61; ++i) {
    dispatcher.RunOnce();
    clock.Advance(1);
  }
  BOOST_TEST(Count(Log(), "outbox storage failed") == 3u);  // t = 0, 30, 60
}

BOOST_AUTO_TEST_CASE(messages_the_lease_cannot_cover_are_released_for_the_next_pass) {
  options.lease_seconds = 30;
  options.send_timeout_seconds = 10;
  const int64_t first = Queue("one");
  const int64_t second = Queue("two");
  const int64_t third = Queue("three");
  gateway.SetHook([&](const std::string&, const std::string&) { clock.Advance(15); });
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 2);
  BOOST_TEST(State(first) == "sent");
  BOOST_TEST(State(second) == "sent");
  const auto row = *outbox.Row(third);
  BOOST_TEST(row.state == "retry");
  BOOST_TEST(row.error.empty());
  BOOST_TEST(row.tries == 0);  // released unsent: the try is given back
  BOOST_TEST(row.next_attempt_at <= clock.NowSeconds());
  BOOST_TEST(dispatcher.stats().released == 1);
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(third) == "sent");
}

// Claims double while they come back full and are sent in full, up to max_batch_size;
// any other claim (short, empty, or with messages released) sets them back.
BOOST_AUTO_TEST_CASE(claims_grow_under_a_backlog_and_shrink_when_it_is_gone) {
  options.batch_size = 2;
  options.max_batch_size = 8;
  for (int i = 0; i < 27; ++i) Queue("m" + std::to_string(i));
  auto dispatcher = Make();
  std::vector<int> handled;
  for (int i = 0; i < 6; ++i) handled.push_back(dispatcher.RunOnce());
  BOOST_TEST(handled == (std::vector<int>{2, 4, 8, 8, 5, 0}), boost::test_tools::per_element());
  for (int i = 0; i < 5; ++i) Queue("n" + std::to_string(i));
  BOOST_TEST(dispatcher.RunOnce() == 2);  // back to batch_size after the short claims
  BOOST_TEST(dispatcher.RunOnce() == 3);  // grew to 4 after a full claim: took the rest
  BOOST_TEST(gateway.CallCount() == 32u);
}

BOOST_AUTO_TEST_CASE(a_claim_that_had_to_release_messages_does_not_grow) {
  options.batch_size = 2;
  options.max_batch_size = 8;
  options.lease_seconds = 30;
  options.send_timeout_seconds = 10;
  for (int i = 0; i < 6; ++i) Queue("m" + std::to_string(i));
  gateway.SetHook([&](const std::string&, const std::string&) { clock.Advance(15); });
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 2);  // full and all sent: grows to 4
  BOOST_TEST(dispatcher.RunOnce() == 2);  // claimed 4, the lease covered 2: back to 2
  BOOST_TEST(dispatcher.stats().released == 2);
  BOOST_TEST(dispatcher.RunOnce() == 2);  // claims 2 again, not 8
  BOOST_TEST(dispatcher.stats().released == 2);
}

// An idle Run waits through options.idle_wait with the poll interval and the stop flag,
// and a stop that arrives during that wait ends Run (no timing asserted: the wait is ours).
BOOST_AUTO_TEST_CASE(run_stops_when_the_stop_arrives_while_idle) {
  options.poll_ms = 60'000;
  std::atomic<bool> stop{false};
  int waits = 0;
  int waited_ms = 0;
  options.idle_wait = [&](int max_ms, const std::atomic<bool>& halt) {
    ++waits;
    waited_ms = max_ms;
    BOOST_TEST(&halt == &stop);  // the wait can see the stop
    stop = true;                 // ...which arrives now
  };
  auto dispatcher = Make();
  dispatcher.Run(stop);  // returns, or the test hangs here
  BOOST_TEST(waits == 1);
  BOOST_TEST(waited_ms == 60'000);
  BOOST_TEST(gateway.CallCount() == 0u);
}

BOOST_AUTO_TEST_CASE(run_sends_what_is_due_then_idles) {
  options.poll_ms = 5;
  for (int i = 0; i < 25; ++i) Queue("m" + std::to_string(i));
  auto dispatcher = Make();
  std::atomic<bool> stop{false};
  std::thread runner([&] { dispatcher.Run(stop); });
  for (int i = 0; i < 200 && gateway.CallCount() < 25u; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  runner.join();
  BOOST_TEST(gateway.CallCount() == 25u);
  BOOST_TEST(outbox.Depth().value() == 0);
}

BOOST_AUTO_TEST_CASE(stop_during_a_batch_releases_the_rest) {
  for (int i = 0; i < 4; ++i) Queue("m" + std::to_string(i));
  std::atomic<bool> stop{false};
  gateway.SetHook([&](const std::string&, const std::string&) { stop = true; });
  auto dispatcher = Make();
  dispatcher.Run(stop);
  BOOST_TEST(gateway.CallCount() == 1u);
  BOOST_TEST(dispatcher.stats().released == 3);
  int retry = 0;
  for (const auto& row : outbox.Rows()) retry += row.state == "retry" ? 1 : 0;
  BOOST_TEST(retry == 3);
}

BOOST_AUTO_TEST_CASE(breaker_opens_after_consecutive_failures_and_probes_after_cooloff) {
  options.breaker_failures = 3;
  options.breaker_cooloff_ms = 10'000;
  options.max_tries = 100;
  gateway.SetDefault(FakeGateway::Transient("http 503", 503));
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Queue("m" + std::to_string(i), 100'000));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 3);
  BOOST_TEST(gateway.CallCount() == 3u);
  BOOST_TEST(dispatcher.breaker().state() == CircuitBreaker::State::kOpen);
  for (int i = 3; i < 5; ++i) {
    BOOST_TEST(State(ids[i]) == "retry");
    BOOST_TEST(outbox.Row(ids[i])->tries == 0);  // released, not charged
  }
  clock.Advance(9);  // every message is due again, but the circuit is open
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(gateway.CallCount() == 3u);
  clock.Advance(1);  // half-open: exactly one probe
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(gateway.CallCount() == 4u);
  BOOST_TEST(dispatcher.breaker().state() == CircuitBreaker::State::kOpen);
  clock.Advance(19);  // a failed probe doubles the cool-off
  BOOST_TEST(dispatcher.RunOnce() == 0);
  gateway.SetDefault(FakeGateway::Delivered());
  clock.Advance(1);
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(dispatcher.breaker().state() == CircuitBreaker::State::kClosed);
  clock.Advance(1000);
  BOOST_TEST(dispatcher.RunOnce() == 4);
  for (int64_t id : ids) BOOST_TEST(State(id) == "sent");
  BOOST_TEST(gateway.CallCount() == 9u);
  BOOST_TEST(dispatcher.stats().circuit_opened == 2);
  const std::string log = Log();
  BOOST_TEST(Count(log, "sms gateway circuit open") == 2u);
  BOOST_TEST(Count(log, "sms gateway circuit closed") == 1u);
}

BOOST_AUTO_TEST_CASE(permanent_answers_keep_the_breaker_closed) {
  options.breaker_failures = 2;
  gateway.Push(FakeGateway::Transient("timeout"));
  gateway.Push(FakeGateway::Permanent(1007, "sparrow 1007: Invalid Receiver"));
  gateway.Push(FakeGateway::Transient("timeout"));
  for (int i = 0; i < 4; ++i) Queue("m" + std::to_string(i));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 4);
  BOOST_TEST(dispatcher.breaker().state() == CircuitBreaker::State::kClosed);
  BOOST_TEST(dispatcher.stats().circuit_opened == 0);
}

BOOST_AUTO_TEST_CASE(out_of_credit_fails_that_message_pauses_and_resumes_on_success) {
  options.breaker_failures = 5;
  options.credit_pause_seconds = 60;
  const int64_t first = Queue("first");
  const int64_t second = Queue("second");
  const int64_t third = Queue("third");
  gateway.Push(FakeGateway::NoCredit(1013));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(first) == "failed");  // contract: 1000-1013 are permanent for the message
  BOOST_TEST(outbox.Row(first)->error == "sparrow 1013: no credits");
  BOOST_TEST(State(second) == "retry");
  BOOST_TEST(State(third) == "retry");
  BOOST_TEST(dispatcher.breaker().paused());
  clock.Advance(59);
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(gateway.CallCount() == 1u);
  clock.Advance(1);
  BOOST_TEST(dispatcher.RunOnce() == 1);  // one probe
  BOOST_TEST(State(second) == "sent");
  BOOST_TEST(dispatcher.RunOnce() == 1);  // resumed
  BOOST_TEST(State(third) == "sent");
  BOOST_TEST(dispatcher.stats().out_of_credit == 1);
  const std::string log = Log();
  BOOST_TEST(Count(log, "out of credit") == 1u);
  BOOST_TEST(log.find("\"alert\":true") != std::string::npos);
  BOOST_TEST(Count(log, "sms gateway circuit closed") == 1u);
}

BOOST_AUTO_TEST_CASE(a_mark_lost_to_a_storage_error_is_written_before_anything_is_claimed) {
  options.batch_size = 1;
  const int64_t first = Queue("first");
  const int64_t second = Queue("second");
  // The gateway accepts the first message, then the storage fails the "sent" mark.
  gateway.SetHook([&](const std::string&, const std::string&) { outbox.FailNextCalls(1); });
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  gateway.SetHook(nullptr);
  BOOST_TEST(State(first) == "sending");
  BOOST_TEST(dispatcher.pending_marks() == 1u);
  outbox.FailNextCalls(1);
  clock.Advance(31);  // the claim's lease ran out meanwhile
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(gateway.CallCount() == 1u);
  BOOST_TEST(dispatcher.RunOnce() == 1);  // the owed mark first, then the next message
  BOOST_TEST(dispatcher.pending_marks() == 0u);
  BOOST_TEST(State(first) == "sent");
  BOOST_TEST(State(second) == "sent");
  BOOST_TEST(gateway.CallCount() == 2u);  // the first message went out once
  BOOST_TEST(dispatcher.RunOnce() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(circuit_breaker)

BOOST_AUTO_TEST_CASE(closed_until_the_threshold_then_open_then_half_open) {
  CircuitBreaker breaker(3, 1000);
  BOOST_TEST(breaker.Allows(0));
  BOOST_TEST(!breaker.OnTransientFailure(0));
  BOOST_TEST(!breaker.OnTransientFailure(0));
  BOOST_TEST(breaker.OnTransientFailure(10));
  BOOST_TEST(!breaker.Allows(1009));
  BOOST_TEST(breaker.BatchLimit(10) == 10);
  BOOST_TEST(breaker.Allows(1010));
  BOOST_TEST(breaker.state() == CircuitBreaker::State::kHalfOpen);
  BOOST_TEST(breaker.BatchLimit(10) == 1);
  BOOST_TEST(breaker.OnSuccess());
  BOOST_TEST(breaker.state() == CircuitBreaker::State::kClosed);
  BOOST_TEST(!breaker.OnSuccess());
}

BOOST_AUTO_TEST_CASE(failed_probes_double_the_cooloff_up_to_a_cap) {
  CircuitBreaker breaker(1, 1000);
  int64_t now = 0;
  breaker.OnTransientFailure(now);
  std::vector<int64_t> waits;
  for (int i = 0; i < 6; ++i) {
    const int64_t wait = breaker.open_until_ms() - now;
    waits.push_back(wait);
    now += wait;
    BOOST_REQUIRE(breaker.Allows(now));
    breaker.OnTransientFailure(now);
  }
  BOOST_TEST(waits == (std::vector<int64_t>{1000, 2000, 4000, 8000, 8000, 8000}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(threshold_zero_never_opens_but_pause_does) {
  CircuitBreaker breaker(0, 1000);
  for (int i = 0; i < 100; ++i) breaker.OnTransientFailure(i);
  BOOST_TEST(breaker.Allows(100));
  breaker.Pause(100, 5000);
  BOOST_TEST(breaker.paused());
  BOOST_TEST(!breaker.Allows(5099));
  BOOST_TEST(breaker.Allows(5100));
  BOOST_TEST(breaker.OnSuccess());
  BOOST_TEST(!breaker.paused());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
