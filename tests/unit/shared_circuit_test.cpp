// One circuit breaker, credit pause and list of owed writes for all the lanes of a
// dispatcher process (sms::SharedCircuit, sms::DispatcherShared). Lanes are Dispatchers
// sharing one DispatcherShared, driven from one thread with a fake clock: "lane B runs
// while lane A is inside a gateway call" is lane B's RunOnce called from lane A's gateway
// hook. No sleeping, no threads.
#include "sms/shared_circuit.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "fakes/fake_gateway.h"
#include "fakes/memory_metrics.h"
#include "fakes/memory_outbox.h"
#include "sms/dispatcher.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::sms {
namespace {

using fakes::FakeGateway;
using State = CircuitBreaker::State;
using Change = SharedCircuit::Change;

constexpr const char* kPhone = "9841234567";

std::string TempLogPath() {
  char pattern[] = "/tmp/shared_circuit_test.XXXXXX";
  const int fd = ::mkstemp(pattern);
  BOOST_REQUIRE(fd >= 0);
  ::close(fd);
  return pattern;
}

// Two lanes (A and B), each with its own gateway and Random, one outbox, one shared state.
struct Lanes {
  util::FakeClock clock;
  util::SeededRandom random_a{1};
  util::SeededRandom random_b{2};
  fakes::MemoryOutbox outbox;
  FakeGateway gateway_a;
  FakeGateway gateway_b;
  std::string log_path = TempLogPath();
  util::Logger logger{log_path, "dispatcher"};
  std::string key;
  fakes::MemoryMetricsStore metrics;
  DispatcherShared shared{/*breaker_failures=*/2, /*breaker_cooloff_ms=*/10'000};
  std::unique_ptr<Dispatcher> a;
  std::unique_ptr<Dispatcher> b;

  Lanes() {
    BOOST_REQUIRE(util::InitCrypto());
    key = random_a.Bytes(util::kKeyBytes);
    DispatcherOptions options = DispatcherOptionsFrom(util::Config());
    options.outbox_key = key;
    options.max_tries = 100;
    options.batch_size = 1;  // one message per pass: each RunOnce is one gateway call
    options.max_batch_size = 1;
    options.credit_pause_seconds = 60;
    options.shared = &shared;
    a = std::make_unique<Dispatcher>(outbox, gateway_a, clock, random_a, logger, options,
                                     &metrics);
    options.expire_stale = false;
    b = std::make_unique<Dispatcher>(outbox, gateway_b, clock, random_b, logger, options,
                                     &metrics);
  }
  ~Lanes() { std::filesystem::remove(log_path); }

  // Queues n messages; returns the last one's id.
  int64_t Queue(int n = 1) {
    int64_t id = 0;
    for (int i = 0; i < n; ++i, ++queued) {
      const std::string name = std::to_string(queued);
      id = outbox.Enqueue(kPhone, util::Seal(key, "code " + name), clock.NowSeconds(),
                          clock.NowSeconds() + 100'000, "req-" + name);
    }
    return id;
  }
  int queued = 0;
  size_t Calls() const { return gateway_a.CallCount() + gateway_b.CallCount(); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(shared_circuit)

BOOST_AUTO_TEST_CASE(half_open_gives_one_probe_to_one_lane_and_an_unused_probe_back) {
  SharedCircuit circuit(1, 1000);
  const auto first = circuit.Admit(0, 10);
  BOOST_TEST(first.limit == 10);
  BOOST_TEST(circuit.OnTransientFailure(first, 0) == Change::kOpened);
  BOOST_TEST(circuit.Admit(999, 10).limit == 0);
  const auto probe = circuit.Admit(1000, 10);
  BOOST_TEST(probe.limit == 1);
  BOOST_TEST(probe.probe);
  BOOST_TEST(circuit.Admit(1000, 10).limit == 0);  // the probe is out: no other lane sends
  BOOST_TEST(!circuit.StillAllows(probe));         // a probe is one message only
  circuit.EndPass(probe);                          // nothing was due: the probe comes back
  const auto again = circuit.Admit(1001, 10);
  BOOST_TEST(again.probe);
  BOOST_TEST(circuit.OnSuccess(again) == Change::kClosed);
  BOOST_TEST(circuit.Admit(1002, 10).limit == 10);
}

BOOST_AUTO_TEST_CASE(answers_to_sends_admitted_before_an_opening_change_nothing) {
  SharedCircuit circuit(2, 1000);
  const auto early = circuit.Admit(0, 10);  // a lane mid-call while others fail
  const auto other = circuit.Admit(0, 10);
  circuit.OnTransientFailure(other, 0);
  BOOST_TEST(circuit.OnTransientFailure(other, 0) == Change::kOpened);
  BOOST_TEST(!circuit.StillAllows(early));
  BOOST_TEST(circuit.OnSuccess(early) == Change::kNone);  // a late success does not close it
  BOOST_TEST(circuit.state() == State::kOpen);
  BOOST_TEST(circuit.OnTransientFailure(early, 0) == Change::kNone);
  const int64_t until = circuit.snapshot().open_until_ms;
  BOOST_TEST(until == 1000);  // nor does a late failure open it again (or longer)
}

BOOST_AUTO_TEST_CASE(a_pause_heard_by_several_lanes_opens_once_and_a_late_success_keeps_it) {
  SharedCircuit circuit(5, 1000);
  const auto a = circuit.Admit(0, 10);
  const auto b = circuit.Admit(0, 10);
  BOOST_TEST(circuit.Pause(0, 60'000) == Change::kPaused);
  BOOST_TEST(circuit.Pause(5, 60'000) == Change::kNone);  // already paused: extended, no alert
  BOOST_TEST(circuit.paused());
  BOOST_TEST(circuit.OnSuccess(b) == Change::kNone);
  BOOST_TEST(circuit.paused());
  BOOST_TEST(!circuit.StillAllows(a));
  BOOST_TEST(circuit.Admit(60'004, 10).limit == 0);
  const auto probe = circuit.Admit(60'005, 10);
  BOOST_TEST(probe.probe);
  BOOST_TEST(circuit.OnSuccess(probe) == Change::kClosed);
  BOOST_TEST(!circuit.paused());
}

BOOST_FIXTURE_TEST_CASE(failures_on_one_lane_stop_every_lane, Lanes) {
  Queue(6);
  gateway_a.SetDefault(FakeGateway::Transient("http 503", 503));
  BOOST_TEST(a->RunOnce() == 1);
  BOOST_TEST(a->RunOnce() == 1);  // threshold 2: open
  BOOST_TEST(shared.circuit.state() == State::kOpen);
  BOOST_TEST(b->RunOnce() == 0);  // lane B's gateway works, but the circuit is shared
  BOOST_TEST(gateway_b.CallCount() == 0u);
  BOOST_TEST(b->breaker().state() == State::kOpen);
  clock.Advance(10);
  BOOST_TEST(b->RunOnce() == 1);  // lane B gets the probe, succeeds, closes for everyone
  BOOST_TEST(shared.circuit.state() == State::kClosed);
  gateway_a.SetDefault(FakeGateway::Delivered());
  BOOST_TEST(a->RunOnce() == 1);
  BOOST_TEST(a->stats().circuit_opened + b->stats().circuit_opened == 1);
}

BOOST_FIXTURE_TEST_CASE(while_one_lane_probes_the_others_send_nothing, Lanes) {
  Queue(4);
  gateway_a.Push(FakeGateway::Transient("timeout"), 2);
  a->RunOnce();
  a->RunOnce();
  BOOST_REQUIRE(shared.circuit.state() == State::kOpen);
  clock.Advance(10);
  int during_probe = -1;
  size_t b_calls_during_probe = 0;
  gateway_a.SetHook([&](const std::string&, const std::string&) {
    during_probe = b->RunOnce();
    b_calls_during_probe = gateway_b.CallCount();
  });
  BOOST_TEST(a->RunOnce() == 1);  // the probe
  BOOST_TEST(during_probe == 0);
  BOOST_TEST(b_calls_during_probe == 0u);
  BOOST_TEST(shared.circuit.state() == State::kClosed);
}

BOOST_FIXTURE_TEST_CASE(out_of_credit_on_one_lane_pauses_every_lane_until_the_probe, Lanes) {
  const int64_t last = Queue(4);
  // Lane B hears "no credit" while lane A is inside its call; A's call then succeeds.
  gateway_b.Push(FakeGateway::NoCredit(1012));
  gateway_a.SetHook([&](const std::string&, const std::string&) {
    gateway_a.SetHook(nullptr);
    BOOST_TEST(b->RunOnce() == 1);
  });
  BOOST_TEST(a->RunOnce() == 1);
  BOOST_TEST(shared.circuit.paused());  // A's late success did not end the pause
  BOOST_TEST(a->RunOnce() == 0);
  BOOST_TEST(b->RunOnce() == 0);
  clock.Advance(59);
  BOOST_TEST(a->RunOnce() == 0);
  BOOST_TEST(Calls() == 2u);
  clock.Advance(1);
  BOOST_TEST(a->RunOnce() == 1);  // the probe
  BOOST_TEST(!shared.circuit.paused());
  BOOST_TEST(b->RunOnce() == 1);
  BOOST_TEST(outbox.Row(last)->state == "sent");
  BOOST_TEST(a->stats().circuit_opened + b->stats().circuit_opened == 1);
}

BOOST_FIXTURE_TEST_CASE(a_write_owed_by_one_lane_blocks_every_lanes_claims, Lanes) {
  const int64_t first = Queue(1);
  const int64_t second = Queue(1);
  // The gateway accepts the first message on lane A; then the storage fails its "sent" mark.
  gateway_a.SetHook([&](const std::string&, const std::string&) { outbox.FailNextCalls(1); });
  BOOST_TEST(a->RunOnce() == 1);
  gateway_a.SetHook(nullptr);
  BOOST_TEST(outbox.Row(first)->state == "sending");
  BOOST_TEST(b->pending_marks() == 1u);
  clock.Advance(10'000);  // the first claim's lease ran out long ago
  outbox.FailNextCalls(1);
  BOOST_TEST(b->RunOnce() == 0);  // lane B has no write of its own owed, yet claims nothing
  BOOST_TEST(Calls() == 1u);
  BOOST_TEST(b->RunOnce() == 1);  // B writes A's owed mark first, then sends the next one
  BOOST_TEST(outbox.Row(first)->state == "sent");
  BOOST_TEST(outbox.Row(second)->state == "sent");
  BOOST_TEST(Calls() == 2u);  // the first message went out once
  BOOST_TEST(a->pending_marks() == 0u);
}

BOOST_FIXTURE_TEST_CASE(lanes_keep_one_tally_of_figures_and_flush_it_together, Lanes) {
  const std::string delivered =
      "phoneverify_sms_attempts_total{gateway=\"fake\",result=\"delivered\",code=\"200\"}";
  Queue(4);
  BOOST_TEST(a->RunOnce() == 1);
  BOOST_TEST(a->RunOnce() == 1);  // flushes the first attempt (nothing flushed before)
  BOOST_TEST(metrics.flushes() == 1);
  BOOST_TEST(b->RunOnce() == 1);
  BOOST_TEST(b->RunOnce() == 1);
  BOOST_TEST(metrics.flushes() == 1);  // lane B's first flush is not due: the tally is shared
  clock.Advance(5);
  BOOST_TEST(a->RunOnce() == 0);  // one flush carries lane B's attempts too
  BOOST_TEST(metrics.flushes() == 2);
  BOOST_TEST(metrics.Value(delivered) == 4);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::sms
