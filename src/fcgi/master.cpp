#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>

#include "fcgi/listen_socket.h"
#include "fcgi/respawn_backoff.h"
#include "fcgi/server.h"
#include "fcgi/worker_signals.h"

namespace phoneverify::fcgi {
namespace {

constexpr int64_t kIdleWakeMs = 1000;

timespec ToTimespec(int64_t ms) {
  ms = std::max<int64_t>(ms, 0);
  return timespec{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1'000'000)};
}

sigset_t MasterSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signo : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, signo);
  return set;
}

void IgnoreSignal(int) {}

bool StopPending() {
  sigset_t pending;
  if (sigpending(&pending) != 0) return false;
  return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
}

Json::Value PidFields(pid_t pid) {
  Json::Value fields(Json::objectValue);
  fields["pid"] = static_cast<Json::Int>(pid);
  return fields;
}

// Signals are handled synchronously with sigtimedwait: the master never runs code in
// a signal handler.
class Supervisor {
 public:
  Supervisor(const ServerOptions& options, const WorkerMain& worker_main, util::Logger& logger,
             int listen_fd, const Reload& reload, const util::Clock& clock)
      : clock_(clock),
        options_(options),
        worker_main_(worker_main),
        reload_(reload),
        logger_(logger),
        listen_fd_(listen_fd),
        master_pid_(getpid()) {}

  void Run() {
    bool stopping = false;
    while (!stopping) {
      SpawnMissing();
      siginfo_t info;
      timespec wait = ToTimespec(WaitBudgetMs());
      sigset_t set = MasterSignals();
      int signo = sigtimedwait(&set, &info, &wait);
      // Ctrl-C reaches the workers too: notice the stop before reaping them, or their
      // exits would look like deaths to replace.
      stopping = signo == SIGTERM || signo == SIGINT || StopPending();
      if (stopping) draining_ = true;
      Reap();
      if (signo == SIGHUP && !stopping) {
        ReopenLogs();
        ReloadWorkers();
      }
    }
    Drain();
  }

 private:
  struct Worker {
    int64_t started_ms = 0;
    int generation = 0;
  };

  int CurrentWorkers() const {
    int n = 0;
    for (const auto& [pid, worker] : workers_) n += worker.generation == generation_;
    return n;
  }

  int64_t NowMillis() const { return clock_.MonotonicMillis(); }

  int64_t WaitBudgetMs() const {
    if (CurrentWorkers() < options_.workers && backoff_.Waiting()) {
      return std::clamp<int64_t>(backoff_.WaitMs(NowMillis()), 1, kIdleWakeMs);
    }
    return kIdleWakeMs;
  }

  void SpawnMissing() {
    while (CurrentWorkers() < options_.workers) {
      if (!backoff_.MaySpawn(NowMillis())) return;
      if (!Spawn()) return;
    }
  }

  bool Spawn() {
    pid_t pid = fork();
    if (pid < 0) {
      Json::Value fields(Json::objectValue);
      fields["error"] = std::strerror(errno);
      logger_.Error("fork failed", fields);
      backoff_.OnForkFailure(NowMillis());
      return false;
    }
    if (pid == 0) RunChild();  // never returns
    workers_[pid] = Worker{NowMillis(), generation_};
    Json::Value fields = PidFields(pid);
    fields["generation"] = generation_;
    logger_.Info("worker started", fields);
    return true;
  }

  [[noreturn]] void RunChild() {
    // A worker must not outlive its master (e.g. after a SIGKILL of the master).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master_pid_) _exit(0);
    PrepareWorkerSignals();
    int rc = 1;
    try {
      rc = worker_main_(listen_fd_);
    } catch (...) {
      rc = 1;
    }
    _exit(rc);  // skip the master's atexit handlers and static destructors
  }

  void Reap() {
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      auto it = workers_.find(pid);
      if (it == workers_.end()) continue;
      const int64_t lived = NowMillis() - it->second.started_ms;
      const bool retired = it->second.generation != generation_;
      workers_.erase(it);
      LogExit(pid, status, lived, retired);
      if (!retired) PlanRespawn(lived);
    }
  }

  void LogExit(pid_t pid, int status, int64_t lived_ms, bool retired) {
    Json::Value fields = PidFields(pid);
    if (WIFEXITED(status)) fields["exit_status"] = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) fields["signal"] = WTERMSIG(status);
    fields["lived_ms"] = Json::Int64(lived_ms);
    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (retired) fields["retired"] = true;
    if ((draining_ || retired) && clean) {
      logger_.Info("worker exited", fields);
    } else {
      logger_.Warn("worker exited", fields);
    }
  }

  void PlanRespawn(int64_t lived_ms) {
    if (draining_) return;
    const int64_t backoff = backoff_.OnDeath(lived_ms, NowMillis());
    if (backoff == 0) {
      logger_.Info("respawning worker");
      return;
    }
    Json::Value fields(Json::objectValue);
    fields["backoff_ms"] = Json::Int64(backoff);
    logger_.Warn("worker died at start-up; respawning after backoff", fields);
  }

  void ReopenLogs() {
    logger_.Reopen();
    for (const auto& [pid, worker] : workers_) kill(pid, SIGHUP);
  }

  // A new generation first, then the old one is asked to finish and exit: some worker is
  // always there to accept, and no request in progress is cut.
  void ReloadWorkers() {
    if (!reload_) return;
    std::optional<Generation> next = reload_();
    if (!next) return;
    ++generation_;
    worker_main_ = std::move(next->main);
    options_.workers = std::max(1, next->workers);
    backoff_.Reset();
    SpawnMissing();
    int retired = 0;
    for (const auto& [pid, worker] : workers_) {
      if (worker.generation == generation_) continue;
      kill(pid, SIGTERM);
      ++retired;
    }
    Json::Value fields(Json::objectValue);
    fields["generation"] = generation_;
    fields["workers"] = options_.workers;
    fields["retiring"] = retired;
    logger_.Info("configuration reloaded; replacing workers", fields);
  }

  void Drain() {
    draining_ = true;
    Json::Value fields(Json::objectValue);
    fields["workers"] = static_cast<Json::Int>(workers_.size());
    logger_.Info("stopping: draining workers", fields);
    for (const auto& [pid, worker] : workers_) kill(pid, SIGTERM);
    int64_t deadline = NowMillis() + int64_t{options_.drain_timeout_seconds} * 1000;
    while (!workers_.empty() && NowMillis() < deadline) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGCHLD);
      timespec wait = ToTimespec(std::min<int64_t>(deadline - NowMillis(), 200));
      siginfo_t info;
      sigtimedwait(&set, &info, &wait);
      Reap();
    }
    for (const auto& [pid, worker] : workers_) {
      logger_.Warn("worker did not drain in time; killing it", PidFields(pid));
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    workers_.clear();
  }

  const util::Clock& clock_;
  ServerOptions options_;
  WorkerMain worker_main_;  // of the current generation
  const fcgi::Reload& reload_;
  util::Logger& logger_;
  int listen_fd_;
  pid_t master_pid_;
  std::map<pid_t, Worker> workers_;  // every live worker, current and retiring
  int generation_ = 1;
  RespawnBackoff backoff_;
  bool draining_ = false;
};

void BlockMasterSignals() {
  struct sigaction action {};
  action.sa_handler = IgnoreSignal;  // a handler (not SIG_IGN) keeps children reapable
  sigemptyset(&action.sa_mask);
  sigaction(SIGCHLD, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  sigset_t set = MasterSignals();
  sigprocmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

int RunMaster(const ServerOptions& options, const WorkerMain& worker_main, util::Logger& logger,
              const Reload& reload) {
  // Block first: a Ctrl-C during start-up is then handled as a normal stop.
  BlockMasterSignals();
  auto socket = options.tcp_address.empty()
                    ? ListenSocket::Open(options.socket_path, options.backlog, options.socket_group)
                    : ListenSocket::OpenTcp(options.tcp_address, options.backlog);
  if (!socket.ok()) {
    std::cerr << "phoneverify-fcgi: " << socket.error().details << "\n";
    logger.Error(socket.error().details);
    return 2;
  }
  ServerOptions effective = options;
  effective.workers = std::max(1, options.workers);
  Json::Value fields(Json::objectValue);
  fields["socket"] = options.tcp_address.empty() ? options.socket_path : options.tcp_address;
  fields["workers"] = effective.workers;
  fields["pid"] = static_cast<Json::Int>(getpid());
  logger.Info("master started", fields);

  const util::SystemClock system_clock;
  const util::Clock& clock = options.clock != nullptr ? *options.clock : system_clock;
  Supervisor(effective, worker_main, logger, socket.value().fd(), reload, clock).Run();

  socket.value().Unlink();
  logger.Info("master stopped");
  return 0;
}

}  // namespace phoneverify::fcgi
