// Several backends in failover order (contract section 6): sms::Dispatcher over two
// scripted gateways, "sparrow" then "http", on fake time.
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "fakes/fake_gateway.h"
#include "fakes/memory_metrics.h"
#include "fakes/memory_outbox.h"
#include "fakes/temp_files.h"
#include "sms/dispatcher.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::sms {
namespace {

using fakes::FakeGateway;
using State = CircuitBreaker::State;


struct TwoBackends {
  std::string dir = fakes::MakeTempDir("failover_test");
  util::FakeClock clock;
  util::SeededRandom random{5};
  fakes::MemoryOutbox outbox;
  FakeGateway first{"sparrow"};
  FakeGateway second{"http"};
  GatewayBackend first_backend{first};
  GatewayBackend second_backend{second};
  fakes::MemoryMetricsStore metrics;
  util::Logger logger{dir + "/log", "dispatcher"};
  std::string key;
  DispatcherOptions options = DispatcherOptionsFrom(util::Config());

  TwoBackends() {
    BOOST_REQUIRE(util::InitCrypto());
    key = random.Bytes(util::kKeyBytes);
    options.outbox_key = key;
    options.breaker_failures = 2;
    options.breaker_cooloff_ms = 10'000;
    options.credit_pause_seconds = 60;
    options.batch_size = 1;  // one message per turn: each RunOnce is one message
    options.max_batch_size = 1;
  }
  ~TwoBackends() { std::filesystem::remove_all(dir); }

  int64_t Queue() {
    const std::string name = std::to_string(queued++);
    return outbox.Enqueue("9841234567", util::Seal(key, "code " + name), clock.NowSeconds(),
                          clock.NowSeconds() + 3600, "req-" + name);
  }
  int queued = 0;
  Dispatcher Make() {
    return Dispatcher(outbox, {&first_backend, &second_backend}, nullptr, clock, random, logger,
                      options, &metrics);
  }
  std::string State(int64_t id) { return outbox.Row(id)->state; }
  std::string Log() { return fakes::ReadWholeFile(dir + "/log"); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(failover, TwoBackends)

BOOST_AUTO_TEST_CASE(messages_go_to_the_first_backend_while_it_works) {
  const int64_t id = Queue();
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(id) == "sent");
  BOOST_TEST(first.CallCount() == 1u);
  BOOST_TEST(second.CallCount() == 0u);
}

// No credit concerns the whole gateway: it pauses, the message moves on, and the next
// messages go straight to the second backend until the pause ends.
BOOST_AUTO_TEST_CASE(a_whole_gateway_failure_pauses_that_backend_and_the_next_takes_over) {
  const int64_t a = Queue();
  const int64_t b = Queue();
  first.Push(FakeGateway::NoCredit(1012));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(a) == "sent");
  BOOST_TEST(second.Calls().at(0).text == "code 0");
  BOOST_TEST(dispatcher.circuit(0).paused());
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(b) == "sent");
  BOOST_TEST(first.CallCount() == 1u);  // paused: not asked again
  BOOST_TEST(second.CallCount() == 2u);
  BOOST_TEST(dispatcher.stats().failovers == 1);
  clock.Advance(60);  // the pause ends: the first backend gets the next message (the probe)
  const int64_t c = Queue();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(c) == "sent");
  BOOST_TEST(first.CallCount() == 2u);
  BOOST_TEST(!dispatcher.circuit(0).paused());
}

BOOST_AUTO_TEST_CASE(an_invalid_token_pauses_that_backend_too) {
  const int64_t id = Queue();
  first.Push(FakeGateway::InvalidToken());
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(id) == "sent");
  BOOST_TEST(dispatcher.circuit(0).state() == State::kOpen);
  BOOST_TEST(Log().find("sms gateway refused the account: sending paused") != std::string::npos);
}

// A refusal of that one message (invalid receiver) would be the same anywhere.
BOOST_AUTO_TEST_CASE(a_failure_of_the_message_itself_never_fails_over) {
  const int64_t id = Queue();
  first.Push(FakeGateway::Permanent(1007, "sparrow 1007: Invalid Receiver"));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(id) == "failed");
  BOOST_TEST(second.CallCount() == 0u);
  BOOST_TEST(dispatcher.stats().failovers == 0);
}

// A timeout may have gone out through the first gateway (Sparrow returns no id): the
// second delivers it, and the log says the phone may get it twice.
BOOST_AUTO_TEST_CASE(a_transient_failure_moves_the_message_on_and_a_timeout_says_so) {
  const int64_t id = Queue();
  first.Push(FakeGateway::Transient("timeout"));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(id) == "sent");
  BOOST_TEST(outbox.Row(id)->tries == 1);  // one claim, two backends
  BOOST_TEST(second.CallCount() == 1u);
  BOOST_TEST(Log().find("it may arrive twice") != std::string::npos);
  BOOST_TEST(Log().find("\"may_duplicate\":true") != std::string::npos);
  BOOST_TEST(dispatcher.circuit(0).state() == State::kClosed);  // one failure of two
}

// Only the backends after the one that failed are tried, each once: when the last fails
// too, the message waits for a retry like with one backend.
BOOST_AUTO_TEST_CASE(when_every_backend_fails_the_message_is_retried_later) {
  const int64_t id = Queue();
  first.Push(FakeGateway::Transient("http 502", 502));
  second.Push(FakeGateway::Transient("connect failed"));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(id) == "retry");
  BOOST_TEST(outbox.Row(id)->error == "connect failed");
  BOOST_TEST(first.CallCount() + second.CallCount() == 2u);
}

// While every backend is paused, messages wait (and expire with their code).
BOOST_AUTO_TEST_CASE(while_every_backend_is_paused_messages_wait) {
  const int64_t a = Queue();
  const int64_t b = Queue();
  first.Push(FakeGateway::NoCredit(1012));
  second.Push(FakeGateway::NoCredit(1013));
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(State(a) == "failed");  // it met both failures: there is no third backend
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(State(b) == "queued");
  BOOST_TEST(first.CallCount() + second.CallCount() == 2u);
  BOOST_TEST(metrics.Value("phoneverify_sms_sending_paused") == 1);
}

// The first backend's breaker opens after failures; once its cool-off is over it gets one
// probe while the second keeps taking the rest of each claim.
BOOST_AUTO_TEST_CASE(a_half_open_backend_gets_the_probe_and_the_next_takes_the_rest) {
  options.batch_size = 5;
  options.max_batch_size = 5;
  for (int i = 0; i < 2; ++i) Queue();
  first.Push(FakeGateway::Transient("http 503", 503), 2);
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 2);
  BOOST_TEST(dispatcher.circuit(0).state() == State::kOpen);
  BOOST_TEST(second.CallCount() == 2u);
  clock.Advance(10);
  for (int i = 0; i < 5; ++i) Queue();
  BOOST_TEST(dispatcher.RunOnce() == 5);
  BOOST_TEST(first.CallCount() == 3u);   // two failures, then the probe
  BOOST_TEST(second.CallCount() == 6u);  // the other four
  BOOST_TEST(dispatcher.circuit(0).state() == State::kClosed);
}

// Each delivered message is sent by exactly one backend, once; figures per backend.
BOOST_AUTO_TEST_CASE(each_delivered_message_is_sent_by_exactly_one_backend_once) {
  options.batch_size = 4;
  options.max_batch_size = 4;
  options.breaker_failures = 0;
  for (int i = 0; i < 20; ++i) Queue();
  for (int i = 0; i < 20; ++i) {
    first.Push(i % 3 == 0 ? FakeGateway::Transient("http 500", 500) : FakeGateway::Delivered());
  }
  auto dispatcher = Make();
  for (int turn = 0; turn < 10; ++turn) dispatcher.RunOnce();
  std::map<std::string, int> delivered;  // text -> deliveries
  int i = 0;
  for (const auto& call : first.Calls()) delivered[call.text] += i++ % 3 != 0;
  for (const auto& call : second.Calls()) ++delivered[call.text];
  BOOST_TEST(delivered.size() == 20u);
  for (const auto& [text, times] : delivered) BOOST_TEST(times == 1, text);
  for (const auto& row : outbox.Rows()) BOOST_TEST(row.state == "sent");
  clock.Advance(5);
  dispatcher.RunOnce();  // flushes the figures
  BOOST_TEST(metrics.Value("phoneverify_sms_failovers_total{from=\"sparrow\",to=\"http\"}") == 7);
  BOOST_TEST(metrics.Value(
                 "phoneverify_sms_attempts_total{gateway=\"http\",result=\"delivered\",code=\"200\"}") ==
             7);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::sms
