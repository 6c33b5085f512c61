// The dispatcher's event loop on fake time: SparrowBackend's calls run on a scripted
// Transport (fakes::FakeTransport) whose calls take 200 ms of fake time each; time moves
// only while the loop waits on it. No sleeping, no network.
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "fakes/counting_outbox.h"
#include "fakes/fake_transport.h"
#include "fakes/memory_outbox.h"
#include "fakes/temp_files.h"
#include "sms/dispatcher.h"
#include "sms/sparrow_backend.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::sms {
namespace {

constexpr int64_t kLatencyMs = 200;
constexpr const char* kSparrowOk = R"({"count":1,"response_code":200,"response":"queued"})";


struct Loop {
  std::string dir = fakes::MakeTempDir("delivery_loop_test");
  fakes::MillisClock clock;
  util::SeededRandom random{11};
  fakes::MemoryOutbox memory;
  fakes::CountingOutbox outbox{memory};
  fakes::FakeTransport transport{clock, kLatencyMs};
  SparrowBackend sparrow{"https://sparrow.invalid/v2/sms/", "token-1", "Demo", 10};
  util::Logger logger{dir + "/log", "dispatcher"};
  std::string key;
  DispatcherOptions options = DispatcherOptionsFrom(util::Config());

  Loop() {
    BOOST_REQUIRE(util::InitCrypto());
    key = random.Bytes(util::kKeyBytes);
    options.outbox_key = key;
    transport.default_answer = {0, 200, kSparrowOk};
  }
  ~Loop() { std::filesystem::remove_all(dir); }

  void Queue(int n) {
    for (int i = 0; i < n; ++i, ++queued) {
      const std::string name = std::to_string(queued);
      memory.Enqueue("98412" + std::string(5 - name.size(), '0') + name,
                     util::Seal(key, "code " + name), clock.NowSeconds(),
                     clock.NowSeconds() + 300, "req-" + name);
    }
  }
  int queued = 0;
  Dispatcher Make() {
    return Dispatcher(outbox, {&sparrow}, &transport, clock, random, logger, options);
  }
  int Sent() {
    int sent = 0;
    for (const auto& row : memory.Rows()) sent += row.state == "sent";
    return sent;
  }
  std::string Log() { return fakes::ReadWholeFile(dir + "/log"); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(delivery_loop, Loop)

// 1000 messages at 200 ms a call with 256 in flight: the calls overlap, so the lot takes
// about 1000 / 256 rounds of 200 ms (claims grow to 100 at a time), not 1000 x 200 ms.
BOOST_AUTO_TEST_CASE(many_calls_are_in_flight_at_once_from_one_thread) {
  options.max_in_flight = 256;
  Queue(1000);
  auto dispatcher = Make();
  const int64_t started_ms = clock.MonotonicMillis();
  for (int turn = 0; turn < 10'000 && Sent() < 1000; ++turn) dispatcher.RunOnce(1000);
  const int64_t took_ms = clock.MonotonicMillis() - started_ms;
  BOOST_TEST(Sent() == 1000);
  BOOST_TEST(transport.calls.size() == 1000u);
  BOOST_TEST(transport.most_in_flight == 256u);
  BOOST_TEST(took_ms <= 8 * kLatencyMs);  // ~5 rounds; one call at a time would be 200 s
  BOOST_TEST(dispatcher.stats().delivered == 1000);
  std::set<std::string> bodies;
  for (const auto& call : transport.calls) bodies.insert(call.body);
  BOOST_TEST(bodies.size() == 1000u);  // each message once
}

BOOST_AUTO_TEST_CASE(in_flight_never_exceeds_the_limit) {
  options.max_in_flight = 7;
  Queue(50);
  auto dispatcher = Make();
  for (int turn = 0; turn < 1000 && Sent() < 50; ++turn) {
    dispatcher.RunOnce(1000);
    BOOST_TEST(dispatcher.in_flight() <= 7u);
  }
  BOOST_TEST(Sent() == 50);
  BOOST_TEST(transport.most_in_flight == 7u);
}

// Under load a turn runs per finished call; with nothing more due it must not claim on
// every one of them (a claim is two statements), only when woken or poll_ms later.
BOOST_AUTO_TEST_CASE(no_claim_per_turn_while_calls_are_in_flight_and_nothing_is_due) {
  options.poll_ms = 2000;
  Queue(5);
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 0);  // claimed and started: nothing finished yet
  BOOST_TEST(dispatcher.in_flight() == 5u);
  const int claims = outbox.claims;
  for (int i = 0; i < 5; ++i) dispatcher.RunOnce(0);
  BOOST_TEST(outbox.claims == claims);
  dispatcher.Wake();  // a worker queued a message
  BOOST_TEST(transport.wakes == 1);
  Queue(1);
  dispatcher.RunOnce(0);
  BOOST_TEST(outbox.claims == claims + 1);
  BOOST_TEST(dispatcher.in_flight() == 6u);
}

BOOST_AUTO_TEST_CASE(calls_that_finish_together_are_written_in_one_transaction) {
  Queue(40);
  options.batch_size = 40;
  auto dispatcher = Make();
  dispatcher.RunOnce();
  BOOST_TEST(dispatcher.in_flight() == 40u);
  BOOST_TEST(dispatcher.RunOnce(1000) == 40);
  BOOST_TEST(outbox.sizes == std::vector<size_t>{40}, boost::test_tools::per_element());
  BOOST_TEST(outbox.single_marks == 0);
  BOOST_TEST(Sent() == 40);
}

// While calls are in flight, an outcome waits up to 20 ms for others to share its
// transaction; a wait on the transport ends in time for that.
BOOST_AUTO_TEST_CASE(outcomes_a_few_ms_apart_share_one_write) {
  Queue(1);
  auto dispatcher = Make();
  dispatcher.RunOnce();              // the first call starts at 0 ms
  clock.AdvanceMs(10);
  Queue(1);
  dispatcher.Wake();
  dispatcher.RunOnce();              // the second at 10 ms
  BOOST_REQUIRE(dispatcher.in_flight() == 2u);
  BOOST_TEST(dispatcher.RunOnce(1000) == 1);  // the first answer (200 ms): held
  BOOST_TEST(outbox.sizes.empty());
  BOOST_TEST(dispatcher.RunOnce(1000) == 1);  // the second (210 ms): both written
  BOOST_TEST(outbox.sizes == std::vector<size_t>{2}, boost::test_tools::per_element());
  BOOST_TEST(clock.MonotonicMillis() % 1000 == 210);  // waited for the answer, no longer
  clock.AdvanceMs(10);
  Queue(2);
  dispatcher.Wake();
  dispatcher.RunOnce();  // two calls start together
  clock.AdvanceMs(10);
  Queue(1);
  dispatcher.Wake();
  dispatcher.RunOnce();  // and a third, 10 ms later
  dispatcher.RunOnce(1000);  // the two answers are held; the third is 10 ms off
  BOOST_TEST(dispatcher.RunOnce(15) == 1);
  BOOST_TEST(outbox.sizes.back() == 3u);
}

BOOST_AUTO_TEST_CASE(answers_are_interpreted_per_call) {
  Queue(3);
  transport.Push({0, 200, kSparrowOk});
  transport.Push({28, 0, ""});  // CURLE_OPERATION_TIMEDOUT
  transport.Push({0, 403, R"({"response_code":1007,"response":"Invalid Receiver"})"});
  auto dispatcher = Make();
  dispatcher.RunOnce();
  BOOST_TEST(dispatcher.RunOnce(1000) == 3);
  BOOST_TEST(dispatcher.stats().delivered == 1);
  BOOST_TEST(dispatcher.stats().retried == 1);
  BOOST_TEST(dispatcher.stats().failed == 1);
  const auto rows = memory.Rows();
  BOOST_TEST(rows[1].state == "retry");
  BOOST_TEST(rows[1].error == "timeout");
  BOOST_TEST(rows[2].state == "failed");
  BOOST_TEST(rows[2].error == "sparrow 1007: Invalid Receiver");
  BOOST_TEST(Log().find("code 1") == std::string::npos);  // no text in the log
}

// A stop claims nothing more, lets the calls in flight finish and writes their outcomes.
BOOST_AUTO_TEST_CASE(a_stop_lets_the_calls_in_flight_finish_and_writes_them) {
  options.max_in_flight = 10;
  Queue(25);
  auto dispatcher = Make();
  dispatcher.RunOnce();
  BOOST_REQUIRE(dispatcher.in_flight() == 10u);
  std::atomic<bool> stop{true};
  dispatcher.Run(stop);
  BOOST_TEST(dispatcher.in_flight() == 0u);
  BOOST_TEST(Sent() == 10);
  BOOST_TEST(transport.calls.size() == 10u);
  int queued_left = 0;
  for (const auto& row : memory.Rows()) queued_left += row.state == "queued";
  BOOST_TEST(queued_left == 15);
}

// A "sent" mark lost to a storage error is owed; while it is, nothing is claimed, but the
// calls already in flight are still collected.
BOOST_AUTO_TEST_CASE(owed_writes_block_claims_not_the_calls_in_flight) {
  options.max_in_flight = 2;
  Queue(4);
  auto dispatcher = Make();
  dispatcher.RunOnce();
  BOOST_REQUIRE(dispatcher.in_flight() == 2u);
  memory.FailNextCalls(2);  // writing the two outcomes, and trying again at once
  BOOST_TEST(dispatcher.RunOnce(1000) == 2);  // decided, not written
  BOOST_TEST(dispatcher.pending_marks() == 2u);
  BOOST_TEST(dispatcher.in_flight() == 0u);  // nothing claimed while they are owed
  BOOST_TEST(Sent() == 0);
  dispatcher.RunOnce(0);
  BOOST_TEST(dispatcher.pending_marks() == 0u);
  BOOST_TEST(Sent() == 2);
  BOOST_TEST(dispatcher.in_flight() == 2u);  // then the next two went out
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::sms
