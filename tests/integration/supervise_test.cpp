// `src/ops/stack.sh run` (what `make run` execs) supervises what it starts (contract
// section 1): MariaDB, the FastCGI master or the dispatcher killed is started again with a
// log line naming it and the service answers again by itself; a component that keeps dying
// stops the whole stack; SIGTERM and `stack.sh stop` stop everything. Each case runs its
// own stack in the foreground as a child process, with its own var dir and port, beside
// the shared stack of the other tests. Figures (seconds until /healthz answered again) are
// printed, not asserted.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "fault_helpers.h"
#include "http_client.h"

extern char** environ;

namespace phoneverify::itest {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const char kVarDir[] = "var/supervise";

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The session of a live, non-zombie process (field 6 of /proc/<pid>/stat); -1 if none.
pid_t SessionOf(pid_t pid) {
  const std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 1));
  char state = 0;
  pid_t ppid = 0, pgrp = 0, session = 0;
  if (!(rest >> state >> ppid >> pgrp >> session) || state == 'Z') return -1;
  return session;
}

// Live processes in any of these sessions (each component runs in its own session).
std::vector<pid_t> ProcessesInSessions(const std::set<pid_t>& sessions) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (sessions.count(SessionOf(pid))) found.push_back(pid);
  }
  return found;
}

// `src/ops/stack.sh run` as a child in its own process group, stdout and stderr in
// <var_dir>/run.out. The destructor stops it however the test ended: SIGTERM, then
// SIGKILL to its group, then `stack.sh stop` on its var dir.
class RunningStack {
 public:
  RunningStack() : port_(ClosedLoopbackPort()) {
    Clear();
    out_path_ = std::string(kVarDir) + "/run.out";
    std::vector<std::string> env = Environment();
    std::vector<char*> envp;
    for (auto& entry : env) envp.push_back(entry.data());
    envp.push_back(nullptr);
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) throw std::runtime_error("cannot open " + out_path_);
    char script[] = "src/ops/stack.sh";
    char mode[] = "run";
    char* argv[] = {script, mode, nullptr};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      const int in = ::open("/dev/null", O_RDONLY);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::execve(script, argv, envp.data());
      ::_exit(127);
    }
    ::close(out);
    if (pid_ < 0) throw std::runtime_error("fork failed");
    ::setpgid(pid_, pid_);  // also here: no race with a kill of the group
  }

  ~RunningStack() {
    if (!exited_) {
      ::kill(pid_, SIGTERM);
      if (!WaitExit(90s)) {
        ::kill(-pid_, SIGKILL);
        WaitExit(10s);
      }
    }
    const std::string stop = Env("PHONEVERIFY_VAR_DIR", kVarDir) + " " +
                             Env("PHONEVERIFY_HTTP_PORT", std::to_string(port_)) +
                             " src/ops/stack.sh stop >>'" + out_path_ + "' 2>&1";
    if (std::system(stop.c_str()) != 0) std::cout << "supervise: stack.sh stop failed\n";
  }

  RunningStack(const RunningStack&) = delete;
  RunningStack& operator=(const RunningStack&) = delete;

  // Waits for stack.sh run to exit; true when it did (status in exit_status()).
  bool WaitExit(std::chrono::milliseconds timeout) {
    return WaitUntil(
        [&] {
          if (exited_) return true;
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
          exited_ = true;
          exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          return true;
        },
        timeout);
  }

  long Health() const {
    try {
      return HttpClient(port_).Get("/healthz").status;
    } catch (const std::exception&) {
      return 0;  // nothing listens (nginx not up yet)
    }
  }

  // Seconds until GET /healthz answered 200 (at most `timeout`), or -1.
  double SecondsUntilHealthy(std::chrono::milliseconds timeout) const {
    const auto start = std::chrono::steady_clock::now();
    if (!WaitUntil([&] { return Health() == 200; }, timeout)) return -1;
    return SecondsSince(start);
  }

  // The pid in <var_dir>/run/<name>.pid; 0 if none.
  pid_t Pid(const std::string& name) const {
    try {
      return static_cast<pid_t>(std::stol(ReadText(std::string(kVarDir) + "/run/" + name + ".pid")));
    } catch (...) {
      return 0;
    }
  }

  // Waits until <name>.pid names a live process other than `old`; returns it, or 0.
  pid_t WaitNewPid(const std::string& name, pid_t old, std::chrono::milliseconds timeout) const {
    pid_t now = 0;
    WaitUntil(
        [&] {
          now = Pid(name);
          return now != old && ProcessAlive(now);
        },
        timeout);
    return now != old && ProcessAlive(now) ? now : 0;
  }

  std::string Output() const { return ReadText(out_path_); }
  int exit_status() const { return exit_status_; }
  pid_t pid() const { return pid_; }

  // Runs `src/ops/stack.sh <command>` on this stack; returns its exit status.
  int Command(const std::string& command) const {
    const std::string line = Env("PHONEVERIFY_VAR_DIR", kVarDir) + " " +
                             Env("PHONEVERIFY_HTTP_PORT", std::to_string(port_)) +
                             " src/ops/stack.sh " + command + " >>'" + kVarDir +
                             "/command.out' 2>&1";
    return std::system(line.c_str()) == 0 ? 0 : 1;
  }

 private:
  static std::string Env(const std::string& name, const std::string& value) {
    return name + "='" + value + "'";
  }

  // Once per test binary: a fresh var dir (the database survives between the cases).
  static void Clear() {
    static bool cleared = false;
    const std::string dir = kVarDir;
    if (!cleared) {
      const std::string stop = "PHONEVERIFY_VAR_DIR=" + dir + " src/ops/stack.sh stop >/dev/null 2>&1";
      const int ignored = std::system(stop.c_str());  // whatever an earlier run left
      (void)ignored;
      fs::remove_all(dir);
      cleared = true;
    }
    fs::create_directories(dir);
  }

  // This process's environment (the shared stack's PHONEVERIFY_* settings: the fake
  // gateway, limits) with our own var dir, port and fewer workers.
  std::vector<std::string> Environment() const {
    const std::set<std::string> ours = {"PHONEVERIFY_VAR_DIR", "PHONEVERIFY_HTTP_PORT",
                                        "PHONEVERIFY_WORKERS", "PHONEVERIFY_HTTP_FRONT"};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string entry = *e;
      if (!ours.count(entry.substr(0, entry.find('=')))) env.push_back(entry);
    }
    env.push_back("PHONEVERIFY_VAR_DIR=" + std::string(kVarDir));
    env.push_back("PHONEVERIFY_HTTP_PORT=" + std::to_string(port_));
    env.push_back("PHONEVERIFY_WORKERS=2");
    env.push_back("PHONEVERIFY_HTTP_FRONT=nginx");
    return env;
  }

  int port_;
  std::string out_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = -1;
};

// The fixture of every case: a stack that answered /healthz 200.
struct UpStack {
  UpStack() {
    // /healthz answers before stack.sh's own check sees it: wait for its word too (a death
    // during start-up stops everything).
    const bool up = stack.SecondsUntilHealthy(120s) >= 0 &&
                    WaitUntil([&] { return Says("press Ctrl-C to stop everything"); }, 30s);
    BOOST_REQUIRE_MESSAGE(up, "stack.sh run did not come up:\n" << stack.Output());
    for (const char* name : {"mariadb", "fcgi", "dispatcher", "nginx"}) {
      sessions.insert(stack.Pid(name));
    }
  }
  // Every component started so far (each its own session) is gone.
  void ExpectNothingLeft() {
    for (const char* name : {"mariadb", "fcgi", "dispatcher", "nginx"}) {
      sessions.insert(stack.Pid(name));
    }
    sessions.erase(0);
    const auto left = ProcessesInSessions(sessions);
    BOOST_TEST(left.empty(), left.size() << " processes left, first pid "
                                         << (left.empty() ? 0 : left[0]));
  }
  bool Says(const std::string& text) const {
    return stack.Output().find(text) != std::string::npos;
  }

  RunningStack stack;
  std::set<pid_t> sessions;  // session ids (leader pids) of the components started
};

// `signal` (kill -9 by default) to NAME's leader: it runs again (a new pid), /healthz answers 200, and the
// output names the restart. Returns the seconds until /healthz answered 200 again.
double KillAndExpectRestart(UpStack& up, const std::string& name, int signal = SIGKILL) {
  const pid_t old = up.stack.Pid(name);
  BOOST_REQUIRE(ProcessAlive(old));
  BOOST_REQUIRE_EQUAL(::kill(old, signal), 0);
  const auto start = std::chrono::steady_clock::now();
  const pid_t now = up.stack.WaitNewPid(name, old, 30s);
  BOOST_REQUIRE_MESSAGE(now != 0, name << " was not started again:\n" << up.stack.Output());
  const double respawned = SecondsSince(start);
  up.sessions.insert(old);
  up.sessions.insert(now);
  BOOST_REQUIRE_MESSAGE(up.stack.SecondsUntilHealthy(30s) >= 0,
                        "/healthz did not answer 200 again:\n" << up.stack.Output());
  const double healthy = SecondsSince(start);
  BOOST_TEST(up.Says(name + " exited unexpectedly"), up.stack.Output());
  // The line comes once the restarted component is ready (MariaDB answers, the socket is
  // there); the next kill must not hit the restart itself.
  const std::string restarted = name + " restarted (pid " + std::to_string(now) + ")";
  BOOST_REQUIRE_MESSAGE(WaitUntil([&] { return up.Says(restarted); }, 30s), up.stack.Output());
  std::cout << "supervise: kill -" << signal << " " << name << ": running again (new pid) after " << respawned
            << " s, /healthz 200 after " << healthy << " s" << std::endl;
  return healthy;
}

BOOST_AUTO_TEST_SUITE(supervise)

BOOST_FIXTURE_TEST_CASE(killed_mariadb_is_restarted_and_the_app_keeps_running, UpStack) {
  const pid_t master = stack.Pid("fcgi");
  const pid_t dispatcher = stack.Pid("dispatcher");
  KillAndExpectRestart(*this, "mariadb");
  // Workers and the dispatcher reconnect by themselves: nothing else was restarted.
  BOOST_TEST(stack.Pid("fcgi") == master);
  BOOST_TEST(stack.Pid("dispatcher") == dispatcher);
  BOOST_TEST(ProcessAlive(master));
  BOOST_TEST(ProcessAlive(dispatcher));
  // And again, a clean SIGTERM this time: mariadbd removes its own pid file, which is not
  // stack.sh's (a missing run/mariadb.pid would mean "stopped on purpose").
  KillAndExpectRestart(*this, "mariadb", SIGTERM);
  BOOST_TEST(ProcessAlive(master));
}

BOOST_FIXTURE_TEST_CASE(killed_fcgi_master_is_restarted_and_its_workers_go, UpStack) {
  const pid_t old = stack.Pid("fcgi");
  const auto workers = ChildrenOf(old);
  BOOST_REQUIRE(!workers.empty());
  KillAndExpectRestart(*this, "fcgi");
  for (pid_t worker : workers) {
    BOOST_TEST(WaitUntil([&] { return !ProcessAlive(worker); }, 10s), "worker " << worker);
  }
  BOOST_TEST(!ChildrenOf(stack.Pid("fcgi")).empty());
}

BOOST_FIXTURE_TEST_CASE(killed_dispatcher_runs_again_with_a_new_pid, UpStack) {
  KillAndExpectRestart(*this, "dispatcher");
}

BOOST_FIXTURE_TEST_CASE(killed_nginx_is_restarted_on_the_same_port, UpStack) {
  KillAndExpectRestart(*this, "nginx");
}

BOOST_FIXTURE_TEST_CASE(a_component_that_keeps_dying_stops_the_whole_stack, UpStack) {
  pid_t dispatcher = stack.Pid("dispatcher");
  for (int death = 1; death <= 4; ++death) {
    sessions.insert(dispatcher);
    BOOST_REQUIRE_EQUAL(::kill(dispatcher, SIGKILL), 0);
    dispatcher = stack.WaitNewPid("dispatcher", dispatcher, 30s);
    BOOST_REQUIRE_MESSAGE(dispatcher != 0, "death " << death << ":\n" << stack.Output());
  }
  sessions.insert(dispatcher);
  BOOST_REQUIRE_EQUAL(::kill(dispatcher, SIGKILL), 0);
  BOOST_REQUIRE_MESSAGE(stack.WaitExit(90s), "stack.sh run did not stop:\n" << stack.Output());
  BOOST_TEST(stack.exit_status() != 0);
  BOOST_TEST(Says("dispatcher died 5 times within 60s: giving up"), stack.Output());
  const std::string out = stack.Output();
  const size_t gave_up = out.find("giving up");
  BOOST_TEST((gave_up != std::string::npos &&
              out.find("(last lines)", gave_up) != std::string::npos),
             "its log is shown:\n" << out);
  BOOST_TEST(stack.Health() == 0);
  ExpectNothingLeft();
}

BOOST_FIXTURE_TEST_CASE(sigterm_stops_everything, UpStack) {
  BOOST_REQUIRE_EQUAL(::kill(stack.pid(), SIGTERM), 0);
  BOOST_REQUIRE_MESSAGE(stack.WaitExit(90s), "stack.sh run did not stop:\n" << stack.Output());
  BOOST_TEST(stack.exit_status() == 143);
  BOOST_TEST(!Says("exited unexpectedly"), stack.Output());
  ExpectNothingLeft();
}

// restart-app and stop from another stack.sh: the lock keeps them from looking like
// crashes; processes restart-app started are watched too (the watcher polls them).
BOOST_FIXTURE_TEST_CASE(restart_app_is_no_crash_and_stop_ends_run_cleanly, UpStack) {
  const pid_t old = stack.Pid("fcgi");
  BOOST_REQUIRE_EQUAL(stack.Command("restart-app"), 0);
  BOOST_TEST(stack.Pid("fcgi") != old);
  std::this_thread::sleep_for(2s);
  BOOST_TEST(!Says("exited unexpectedly"), stack.Output());
  BOOST_TEST(stack.Health() == 200);
  sessions.insert(stack.Pid("fcgi"));
  sessions.insert(stack.Pid("dispatcher"));
  KillAndExpectRestart(*this, "fcgi");
  BOOST_REQUIRE_EQUAL(stack.Command("stop"), 0);
  BOOST_REQUIRE_MESSAGE(stack.WaitExit(30s), "stack.sh run did not stop:\n" << stack.Output());
  BOOST_TEST(stack.exit_status() == 0);
  BOOST_TEST(Says("was stopped from outside"), stack.Output());
  ExpectNothingLeft();
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
