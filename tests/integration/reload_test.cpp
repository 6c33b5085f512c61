// SIGHUP (src/ops/stack.sh reload) makes phoneverify-fcgi and phoneverify-dispatcher
// re-read their configuration file: the FastCGI master replaces its workers without
// failing a request, and a request in progress finishes on its old worker.
//
// The configuration file is one the test writes (PHONEVERIFY_CONFIG); the fixture's
// PHONEVERIFY_* environment still wins over it, so the test changes keys the fixture does
// not set: otp_length (visible in the SMS) and sms_max_tries (in the dispatcher's log).
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "test_db.h"

namespace phoneverify::itest {
namespace {

namespace fs = std::filesystem;
using storage::Connection;
using storage::Param;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  std::ofstream(temp) << text;
  fs::rename(temp, path);  // the servers never read half a file
}

// Polls `done` every 50 ms for up to `seconds`; true once it held.
bool WaitUntil(const std::function<bool()>& done, int seconds = 20) {
  for (int i = 0; i < seconds * 20; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

pid_t MasterPid() {
  return static_cast<pid_t>(std::atol(ReadFile(Stack::Get().var_dir() + "/run/fcgi.pid").c_str()));
}

// Live (non-zombie) children of `parent`, from /proc.
std::set<pid_t> ChildrenOf(pid_t parent) {
  std::set<pid_t> children;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadFile(entry.path().string() + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state != 'Z') children.insert(static_cast<pid_t>(std::stol(name)));
  }
  return children;
}

size_t StillAlive(const std::set<pid_t>& pids, pid_t parent) {
  const std::set<pid_t> now = ChildrenOf(parent);
  size_t n = 0;
  for (pid_t pid : pids) n += now.count(pid);
  return n;
}

Json::Value PhoneBody(const std::string& phone, const std::string& otp = "") {
  Json::Value body;
  body["phone"] = phone;
  if (!otp.empty()) body["otp"] = otp;
  return body;
}

// Requests on a few threads until stopped; counts answers that are not 200.
class Load {
 public:
  explicit Load(const TestUser& user) {
    for (int t = 0; t < 3; ++t) {
      threads_.emplace_back([this, user, t] {
        auto client = Stack::Get().Client();
        while (!stop_) {
          HttpResponse r;
          try {
            r = t == 0   ? client.Get("/healthz")
                : t == 1 ? client.Get("/api/v1/me", user.token)
                         : client.PostJson("/api/v1/auth/token", Login(user));
          } catch (const std::runtime_error&) {
            r.status = -1;  // no answer at all (curl gave up): a failure like any other
          }
          (r.status == 200 ? ok_ : failed_)++;
          if (r.status != 200) last_failure_ = r.status;
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  long last_failure() const { return last_failure_; }

 private:
  static Json::Value Login(const TestUser& user) {
    Json::Value body;
    body["username"] = user.username;
    body["password"] = user.password;
    return body;
  }
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::atomic<long> last_failure_{0};
  std::vector<std::thread> threads_;
};

// Holds the row lock a send to `phone` needs (its 'last_send' gate), in its own
// transaction on its own thread, until Release().
class GateLock {
 public:
  GateLock(storage::Database& db, const std::string& phone) {
    thread_ = std::thread([this, &db, phone] {
      bool announced = false;
      auto done = db.Transact([&](Connection& conn) -> util::Status {
        auto st = conn.Exec(
            "INSERT INTO limit_gates (scope, key_, last_at) VALUES ('last_send', ?, 0) "
            "ON DUPLICATE KEY UPDATE last_at = last_at",
            {Param::Bytes(phone)});
        if (!st.ok()) return st.error();
        if (!announced) {
          announced = true;
          locked_.set_value();
        }
        released_.wait();
        return util::Status::Ok();
      });
      ok_ = done.ok();
      if (!announced) locked_.set_value();  // failed: do not leave the constructor waiting
    });
    locked_.get_future().wait();
  }
  ~GateLock() { Release(); }
  void Release() {
    if (!thread_.joinable()) return;
    release_.set_value();
    thread_.join();
  }
  bool ok() const { return ok_; }

 private:
  std::promise<void> locked_;
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::thread thread_;
  std::atomic<bool> ok_{false};
};

// Database sessions (of our own database user) running a statement that writes a gate.
int64_t SessionsWaitingOnAGate(storage::Database& db) {
  auto rows = db.Run([](Connection& conn) {
    return conn.Query(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE ID <> CONNECTION_ID() AND INFO LIKE '%INTO limit_gates%'",
        {});
  });
  return rows.ok() && !rows.value().empty() ? rows.value()[0].Int(0) : -1;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::string LogText() { return ReadFile(Stack::Get().var_dir() + "/log/phoneverify.log"); }

BOOST_AUTO_TEST_SUITE(reload)

BOOST_AUTO_TEST_CASE(sighup_reloads_the_config_file_and_no_request_fails) {
  const std::string file = fs::absolute(Stack::Get().var_dir() + "/reload-test.conf").string();
  WriteFile(file, "otp_length = 6\nsms_max_tries = 8\n");
  ScopedAppConfig scoped({{"config", file}});  // PHONEVERIFY_CONFIG
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  BOOST_REQUIRE_EQUAL(SendAndReceive(client, user, UniquePhone("984")).size(), 6u);
  const pid_t master = MasterPid();
  const std::set<pid_t> old_workers = ChildrenOf(master);
  BOOST_REQUIRE_EQUAL(old_workers.size(), 4u);  // the fixture's workers = 4

  // A send that waits, inside an old worker, for a lock the test holds.
  util::Config db_config = IntegrationDbConfig();
  storage::Database db(db_config);
  const std::string held_phone = UniquePhone("985");
  GateLock lock(db, held_phone);
  auto held = std::async(std::launch::async, [&] {
    return client.PostJson("/api/v1/phone/send-otp", PhoneBody(held_phone), user.token).status;
  });
  BOOST_REQUIRE(WaitUntil([&] { return SessionsWaitingOnAGate(db) >= 1; }));

  Load load(user);
  BOOST_REQUIRE(WaitUntil([&] { return load.ok() >= 20; }));
  const size_t reloads_logged = Count(LogText(), "configuration reloaded");
  WriteFile(file, "otp_length = 8\nsms_max_tries = 3\n");
  BOOST_REQUIRE_EQUAL(Stack::Get().StackCommand("reload"), 0);

  // The idle old workers leave; the busy one stays until its request is done.
  BOOST_REQUIRE(WaitUntil([&] { return StillAlive(old_workers, master) == 1; }));
  BOOST_TEST((held.wait_for(std::chrono::seconds(0)) == std::future_status::timeout));
  BOOST_TEST(ChildrenOf(master).size() == 5u);  // 4 new + the busy old one
  lock.Release();
  BOOST_TEST(lock.ok());
  BOOST_TEST(held.get() == 202);
  BOOST_REQUIRE(WaitUntil([&] { return StillAlive(old_workers, master) == 0; }));
  const int served_before = load.ok();
  BOOST_REQUIRE(WaitUntil([&] { return load.ok() >= served_before + 20; }));
  load.Stop();
  BOOST_TEST(load.failed() == 0, "last failing status " << load.last_failure());
  BOOST_TEST(MasterPid() == master);  // the master itself never restarted

  // The held send was served by an old worker, so under the old configuration.
  BOOST_TEST(WaitForCode(held_phone, 1).size() == 6u);
  const std::string phone = UniquePhone("986");
  const std::string code = SendAndReceive(client, user, phone);
  BOOST_TEST(code.size() == 8u);
  BOOST_TEST(
      client.PostJson("/api/v1/phone/verify-otp", PhoneBody(phone, code), user.token).status ==
      200);
  const std::string log = LogText();
  BOOST_TEST(Count(log, "configuration reloaded") >= reloads_logged + 2);  // master, dispatcher
  // The dispatcher's reload line carries the new max_tries (any field order).
  bool dispatcher_reloaded = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (Contains(line, "\"msg\":\"configuration reloaded\"") &&
        Contains(line, "\"max_tries\":3,")) {
      dispatcher_reloaded = true;
    }
  }
  BOOST_TEST(dispatcher_reloaded);
}

BOOST_AUTO_TEST_CASE(an_invalid_file_on_reload_keeps_the_running_configuration) {
  const std::string file = fs::absolute(Stack::Get().var_dir() + "/reload-bad.conf").string();
  WriteFile(file, "otp_length = 7\n");
  ScopedAppConfig scoped({{"config", file}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const pid_t master = MasterPid();
  const std::set<pid_t> workers = ChildrenOf(master);
  const size_t failures_logged = Count(LogText(), "configuration reload failed");
  WriteFile(file, "otp_length = 99\n");
  BOOST_REQUIRE_EQUAL(Stack::Get().StackCommand("reload"), 0);
  BOOST_REQUIRE(WaitUntil(
      [&] { return Count(LogText(), "configuration reload failed") >= failures_logged + 2; }));
  BOOST_TEST(Contains(LogText(), "otp_length"));
  BOOST_TEST((ChildrenOf(master) == workers));  // nobody replaced
  BOOST_TEST(SendAndReceive(client, user, UniquePhone("974")).size() == 7u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
