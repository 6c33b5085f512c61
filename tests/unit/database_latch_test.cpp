// storage::Database's fail-fast "down latch" against a server that accepts connections
// and then never says a word (a stalled MariaDB), and util::SharedMemory across fork.
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "storage/connection.h"
#include "storage/database.h"
#include "util/config.h"
#include "util/shared_memory.h"

namespace phoneverify::storage {
namespace {

int64_t SteadyMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

// Listens on a unix socket, accepts and holds every connection, answers nothing.
class SilentServer {
 public:
  SilentServer() {
    char dir[] = "/tmp/pv-latch-XXXXXX";
    BOOST_REQUIRE(::mkdtemp(dir) != nullptr);
    dir_ = dir;
    path_ = dir_ + "/mysqld.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    BOOST_REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(::listen(fd_, 16) == 0);
    acceptor_ = std::thread([this] {
      for (;;) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        if (stopping_) {
          ::close(client);
          return;
        }
        held_.push_back(client);
        ++accepted_;
      }
    });
  }
  ~SilentServer() {
    stopping_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(fd_);
    for (int fd : held_) ::close(fd);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  int accepted() const { return accepted_.load(); }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  std::thread acceptor_;
  std::vector<int> held_;  // touched by the acceptor thread only, until it is joined
  std::atomic<int> accepted_{0};
  std::atomic<bool> stopping_{false};
};

util::Config SilentConfig(const SilentServer& server) {
  util::Config config;
  config.db_socket = server.path();
  config.db_timeout = 1;
  config.db_password = "x";
  return config;
}

util::Status Ping(Database& db) {
  return db.Run([](Connection& conn) { return conn.Query("SELECT 1", {}).status(); });
}

BOOST_AUTO_TEST_SUITE(database_down_latch)

BOOST_AUTO_TEST_CASE(a_stall_marks_the_database_down_and_later_calls_fail_without_trying) {
  SilentServer server;
  std::atomic<int64_t> latch{0};
  Database db(SilentConfig(server), nullptr, &latch);
  const util::Status first = Ping(db);
  BOOST_TEST(!first.ok());
  BOOST_TEST(static_cast<int>(first.error().kind) == static_cast<int>(util::ErrorKind::kUnavailable));
  BOOST_TEST(server.accepted() == 1);
  BOOST_TEST(latch.load() > SteadyMillis() - 100);  // marked down (for kDownHoldMillis)
  latch.store(SteadyMillis() + 60'000);  // as if another worker had just seen the stall
  const util::Status second = Ping(db);
  BOOST_TEST(!second.ok());
  BOOST_TEST(server.accepted() == 1);  // no connection attempt
}

BOOST_AUTO_TEST_CASE(after_the_hold_one_call_probes_and_a_failed_probe_marks_again) {
  SilentServer server;
  std::atomic<int64_t> latch{SteadyMillis() - 1};  // down, hold over: the next call probes
  Database db(SilentConfig(server), nullptr, &latch);
  BOOST_TEST(!Ping(db).ok());
  BOOST_TEST(server.accepted() == 1);
  BOOST_TEST(latch.load() > SteadyMillis());
}

// The hold runs on the injected clock: no sleeping to see it end.
BOOST_AUTO_TEST_CASE(the_hold_is_measured_on_the_injected_clock) {
  util::FakeClock clock;
  util::Config config;
  config.db_socket = "/nonexistent/pv-latch.sock";  // a try is refused at once
  const int64_t marked = clock.MonotonicMillis() + Database::kDownHoldMillis;
  std::atomic<int64_t> latch{marked};  // another worker just saw a stall
  Database db(config, nullptr, &latch, &clock);
  BOOST_TEST(!Ping(db).ok());
  BOOST_TEST(latch.load() == marked);  // failed fast: nothing tried, nothing marked again
  clock.Advance(1);                    // 1 s of the 2 s hold
  BOOST_TEST(!Ping(db).ok());
  BOOST_TEST(latch.load() == marked);
  clock.Advance(1);  // the hold is over: this call probes, is refused, marks down again
  BOOST_TEST(!Ping(db).ok());
  BOOST_TEST(latch.load() == clock.MonotonicMillis() + Database::kDownHoldMillis);
}

BOOST_AUTO_TEST_CASE(an_up_database_is_never_held) {
  std::atomic<int64_t> latch{0};
  util::Config config;
  config.db_socket = "/nonexistent/pv-latch.sock";  // refused at once: no stall
  Database db(config, nullptr, &latch);
  BOOST_TEST(!Ping(db).ok());
  BOOST_TEST(latch.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(shared_memory)

BOOST_AUTO_TEST_CASE(a_child_writes_what_the_parent_reads) {
  struct State {
    std::atomic<int64_t> value;
  };
  auto memory = util::SharedMemory::Create(sizeof(State));
  BOOST_REQUIRE(memory.ok());
  State* state = memory.value().Construct<State>();
  BOOST_REQUIRE(state != nullptr);
  BOOST_TEST(state->value.load() == 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    state->value.store(42);
    ::_exit(0);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(state->value.load() == 42);
  util::SharedMemory moved = std::move(memory).value();
  BOOST_TEST(moved.size() == sizeof(State));
  struct Big {
    int64_t values[1024];
  };
  BOOST_TEST(moved.Construct<Big>() == nullptr);  // does not fit
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::storage
