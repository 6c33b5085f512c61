// How the dispatcher's loop is woken and paced: WakeBoard, the worker -> dispatcher
// wake-up socket, the idle wait, and expiry at most once a second.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

#include "fakes/fake_gateway.h"
#include "fakes/memory_outbox.h"
#include "fakes/temp_files.h"
#include "sms/dispatcher.h"
#include "sms/wake_board.h"
#include "util/clock.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/wakeup.h"

namespace phoneverify::sms {
namespace {

constexpr int kForever = 600'000;  // a wait that would hang the test if a wake-up were lost


bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

struct DispatcherFixture {
  std::string dir = fakes::MakeTempDir("wakeup_test");
  util::FakeClock clock;
  util::SeededRandom random{7};
  fakes::MemoryOutbox outbox;
  fakes::FakeGateway gateway;
  util::Logger logger{dir + "/log", "dispatcher"};
  std::string key;
  DispatcherOptions options = DispatcherOptionsFrom(util::Config());

  DispatcherFixture() {
    BOOST_REQUIRE(util::InitCrypto());
    key = random.Bytes(util::kKeyBytes);
    options.outbox_key = key;
  }
  ~DispatcherFixture() { std::filesystem::remove_all(dir); }
  int64_t Queue(int64_t ttl = 300) {
    return outbox.Enqueue("9841234567", util::Seal(key, "code 123456"), clock.NowSeconds(),
                          clock.NowSeconds() + ttl, "req");
  }
  Dispatcher Make() { return Dispatcher(outbox, gateway, clock, random, logger, options); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(dispatcher_wakeup)

BOOST_AUTO_TEST_CASE(a_post_lets_as_many_waits_go_as_it_says) {
  WakeBoard board(4);
  std::atomic<bool> stop{false};
  board.Post(2);
  BOOST_TEST(board.Wait(kForever, stop));
  BOOST_TEST(board.Wait(kForever, stop));
  BOOST_TEST(!board.Wait(0, stop));  // both tokens taken
}

BOOST_AUTO_TEST_CASE(tokens_are_capped_at_the_number_of_lanes) {
  WakeBoard board(2);
  std::atomic<bool> stop{false};
  board.Post(50);
  BOOST_TEST(board.Wait(kForever, stop));
  BOOST_TEST(board.Wait(kForever, stop));
  BOOST_TEST(!board.Wait(0, stop));
}

BOOST_AUTO_TEST_CASE(a_post_wakes_a_lane_already_waiting) {
  WakeBoard board(3);
  std::atomic<bool> stop{false};
  std::atomic<bool> woken{false};
  std::thread lane([&] { woken = board.Wait(kForever, stop); });
  board.Post(1);
  lane.join();
  BOOST_TEST(woken.load());
}

BOOST_AUTO_TEST_CASE(stop_releases_every_lane_for_good) {
  // Shared with the lanes, which are detached: a Stop() that released nobody fails this
  // test at the watchdog below instead of hanging the runner at a join.
  struct Shared {
    WakeBoard board{3};
    std::atomic<bool> stop{false};
    std::atomic<int> released{0};
  };
  auto shared = std::make_shared<Shared>();
  for (int i = 0; i < 2; ++i) {
    std::thread([shared] {
      shared->board.Wait(kForever, shared->stop);
      ++shared->released;
    }).detach();
  }
  shared->board.Stop();
  const auto watchdog = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (shared->released < 2 && std::chrono::steady_clock::now() < watchdog) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  BOOST_TEST(shared->released == 2);
  BOOST_TEST(shared->board.Wait(kForever, shared->stop));  // returns at once after a stop
}

BOOST_AUTO_TEST_CASE(wake_ups_reach_the_receiver_and_are_counted) {
  const std::string dir = fakes::MakeTempDir("wakeup_test");
  auto receiver = util::WakeReceiver::Bind(dir + "/wake.sock");
  BOOST_REQUIRE(receiver.ok());
  BOOST_TEST(!Readable(receiver.value().fd()));
  util::WakeSender sender(dir + "/wake.sock");
  for (int i = 0; i < 3; ++i) sender.Notify();
  BOOST_TEST(Readable(receiver.value().fd()));
  BOOST_TEST(receiver.value().Drain() == 3);
  BOOST_TEST(receiver.value().Drain() == 0);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(a_stale_socket_is_replaced_and_other_files_are_refused) {
  const std::string dir = fakes::MakeTempDir("wakeup_test");
  {
    auto first = util::WakeReceiver::Bind(dir + "/wake.sock");
    BOOST_REQUIRE(first.ok());
  }  // unlinks its socket
  {
    auto bound = util::WakeReceiver::Bind(dir + "/wake.sock");
    BOOST_REQUIRE(bound.ok());
    std::optional<util::WakeReceiver> second(std::move(bound).value());
    // A socket file still bound (or left by a killed dispatcher) is taken over...
    auto successor = util::WakeReceiver::Bind(dir + "/wake.sock");
    BOOST_REQUIRE(successor.ok());
    second.reset();
    // ...and the one it replaced does not unlink the successor's socket when it goes.
    BOOST_TEST(std::filesystem::exists(dir + "/wake.sock"));
    util::WakeSender(dir + "/wake.sock").Notify();
    BOOST_TEST(successor.value().Drain() == 1);
  }
  BOOST_TEST(!std::filesystem::exists(dir + "/wake.sock"));
  std::ofstream(dir + "/plain") << "not a socket";
  auto refused = util::WakeReceiver::Bind(dir + "/plain");
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.error().details.find(dir + "/plain") != std::string::npos);
  BOOST_TEST(!util::WakeReceiver::Bind(dir + "/" + std::string(200, 'x')).ok());
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(notify_without_a_receiver_is_harmless) {
  util::WakeSender nobody("/nonexistent-dir/wake.sock");
  BOOST_TEST(!nobody.Notify());  // dropped, quietly
  util::WakeSender too_long(std::string(300, 'x'));
  BOOST_TEST(!too_long.Notify());
  // The same sender reaches a receiver once there is one, and only then.
  const std::string dir = std::filesystem::temp_directory_path().string() + "/pv-wake-" +
                          std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  util::WakeSender later(dir + "/wake.sock");
  BOOST_TEST(!later.Notify());
  {
    auto receiver = util::WakeReceiver::Bind(dir + "/wake.sock");
    BOOST_REQUIRE(receiver.ok());
    BOOST_TEST(later.Notify());
    BOOST_TEST(receiver.value().Drain() == 1);
  }
  BOOST_TEST(!later.Notify());  // the receiver is gone again
  std::filesystem::remove_all(dir);
}

// Under load a turn runs per finished call; the expiry sweep (an UPDATE over the queue)
// runs at most once a second of monotonic time however many turns there are.
BOOST_FIXTURE_TEST_CASE(expiry_sweeps_at_most_once_a_second, DispatcherFixture) {
  const int64_t first = Queue(/*ttl=*/5);
  clock.Advance(10);
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(outbox.Row(first)->state == "failed");
  const int64_t second = Queue(/*ttl=*/0);  // expired already, same second
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(outbox.Row(second)->state == "queued");  // not swept again yet, never claimed
  clock.Advance(1);
  BOOST_TEST(dispatcher.RunOnce() == 0);
  BOOST_TEST(outbox.Row(second)->state == "failed");
  BOOST_TEST(gateway.CallCount() == 0u);
}

// A claim looks for rows a dead dispatcher left (lease run out) at most once a second.
BOOST_FIXTURE_TEST_CASE(abandoned_rows_are_looked_for_once_a_second, DispatcherFixture) {
  const int64_t first = Queue();
  BOOST_REQUIRE(outbox.Claim("dead-1", clock.NowSeconds(), 5, 10).value().size() == 1u);
  clock.Advance(10);  // its lease ran out
  auto dispatcher = Make();
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(outbox.Row(first)->state == "sent");
  const int64_t second = Queue();
  // claimed by a dispatcher that died at once (a lease of 0 s)
  BOOST_REQUIRE(outbox.Claim("dead-2", clock.NowSeconds(), 0, 10).value().size() == 1u);
  BOOST_TEST(dispatcher.RunOnce() == 0);  // the same second: not looked for
  BOOST_TEST(outbox.Row(second)->state == "sending");
  clock.Advance(1);
  BOOST_TEST(dispatcher.RunOnce() == 1);
  BOOST_TEST(outbox.Row(second)->state == "sent");
}

BOOST_FIXTURE_TEST_CASE(run_sleeps_through_idle_wait_with_poll_ms, DispatcherFixture) {
  std::atomic<bool> stop{false};
  int waited_ms = -1;
  options.poll_ms = 1234;
  options.idle_wait = [&](int max_ms, const std::atomic<bool>&) {
    waited_ms = max_ms;
    stop = true;  // one idle pass is enough
  };
  auto dispatcher = Make();
  dispatcher.Run(stop);
  BOOST_TEST(waited_ms == 1234);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::sms
