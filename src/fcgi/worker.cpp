#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>
#include <functional>
#include <system_error>
#include <thread>
#include <vector>

#include "fcgi/fcgi_request.h"
#include "fcgi/listen_socket.h"
#include "fcgi/server.h"
#include "fcgi/worker_signals.h"
#include "util/unique_fd.h"

namespace phoneverify::fcgi {
namespace {

enum class AcceptOutcome { kReady, kRetry, kBackOff, kFatal };

AcceptOutcome Classify(int rc) {
  if (rc == 0) return AcceptOutcome::kReady;
  int err = -rc;
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED || err == EPROTO) {
    return AcceptOutcome::kRetry;
  }
  if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
    return AcceptOutcome::kBackOff;
  }
  return AcceptOutcome::kFatal;
}

Json::Value ErrorFields(const char* error) {
  Json::Value fields(Json::objectValue);
  fields["error"] = error;
  return fields;
}

void SleepMillis(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
  nanosleep(&ts, nullptr);
}

sigset_t WorkerSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// What the serving threads of one worker share.
struct Pool {
  int listen_fd;
  int stop_fd;  // an eventfd: readable for every thread once the worker stops
  size_t max_body_bytes;
  util::Logger& logger;
  std::atomic<int> exit_code{0};

  void Stop() {
    const uint64_t one = 1;
    ssize_t ignored = ::write(stop_fd, &one, sizeof one);
    (void)ignored;  // the counter cannot overflow with this few writes
  }
  void Fail(int code) {
    exit_code.store(code);
    Stop();
  }
};

// Waits for the listening socket on behalf of a thread without a kept connection.
// EPOLLEXCLUSIVE: a new connection wakes one waiting thread, not all of them.
class ListenWaiter {
 public:
  ListenWaiter(int listen_fd, int stop_fd) : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    epoll_event listen{};
    listen.events = EPOLLIN | EPOLLEXCLUSIVE;
    listen.data.fd = listen_fd;
    epoll_event stop{};
    stop.events = EPOLLIN;
    stop.data.fd = stop_fd;
    ok_ = epoll_.get() >= 0 && ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listen_fd, &listen) == 0 &&
          ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stop_fd, &stop) == 0;
    stop_fd_ = stop_fd;
  }
  bool ok() const { return ok_; }

  // 1: a connection may be waiting; 0: stop; -1: error (errno).
  int Wait() {
    epoll_event events[2];
    int n = ::epoll_wait(epoll_.get(), events, 2, -1);
    if (n < 0) return errno == EINTR ? 1 : -1;
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == stop_fd_) return 0;
    }
    return 1;
  }

 private:
  util::UniqueFd epoll_;
  int stop_fd_ = -1;
  bool ok_ = false;
};

// 1: the kept connection is readable (a request or its close); 0: stop; -1: error.
int WaitConnection(int connection_fd, int stop_fd) {
  pollfd p[2] = {{connection_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
  int n = ::poll(p, 2, -1);
  if (n < 0) return errno == EINTR ? 1 : -1;
  if (p[1].revents != 0) return 0;
  return 1;
}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

void ServeOne(FcgiRequest& slot, http::App& app, size_t max_body_bytes, util::Logger& logger) {
  try {
    http::Response response = app.Handle(slot.Read(max_body_bytes));
    slot.Write(response);
  } catch (const std::exception& e) {
    Json::Value fields(Json::objectValue);
    fields["exception"] = std::string(e.what()).substr(0, 200);
    logger.Error("request i/o failed", fields);
  }
  slot.Finish();
}

void LogAcceptFailure(util::Logger& logger, int rc) {
  Json::Value fields(Json::objectValue);
  fields["rc"] = rc;
  fields["error"] = rc < 0 && rc > -4096 ? std::strerror(-rc) : "libfcgi error";
  logger.Error("accept failed", fields);
}

// Accepts (or reads the next request of a kept connection) and serves it.
// False on a fatal accept error.
bool AcceptAndServe(FcgiRequest& slot, http::App& app, Pool& pool) {
  int rc = slot.Accept();
  switch (Classify(rc)) {
    case AcceptOutcome::kReady:
      ServeOne(slot, app, pool.max_body_bytes, pool.logger);
      return true;
    case AcceptOutcome::kRetry:
      return true;
    case AcceptOutcome::kBackOff:
      SleepMillis(100);
      return true;
    case AcceptOutcome::kFatal:
      LogAcceptFailure(pool.logger, rc);
      return false;
  }
  return true;
}

// One serving thread. libfcgi ties a connection the web server keeps open (nginx
// fastcgi_keep_conn) to the request slot that accepted it, so a thread holding one waits
// on that connection only; without one it waits on the listening socket.
int ServeThread(Pool& pool, http::App& app) {
  ListenWaiter listen(pool.listen_fd, pool.stop_fd);
  if (!listen.ok()) {
    pool.logger.Error("cannot wait on the listening socket", ErrorFields(std::strerror(errno)));
    return 1;
  }
  FcgiRequest slot(pool.listen_fd);
  for (;;) {
    const int conn = slot.connection_fd();
    const int ready = conn >= 0 ? WaitConnection(conn, pool.stop_fd) : listen.Wait();
    if (ready == 0) break;
    if (ready < 0) {
      pool.logger.Error("wait for a request failed", ErrorFields(std::strerror(errno)));
      return 1;
    }
    if (!AcceptAndServe(slot, app, pool)) return 1;
  }
  // Stopping: a request already sent on the kept connection is answered, not dropped.
  // The connection is then closed (when `slot` goes) right behind that answer, so the web
  // server reads the answer and the close together and does not cache the connection for
  // another request; serving on while it keeps sending would end in a close that crosses
  // its next request (a 502 for a POST, which nginx does not retry).
  if (slot.connection_fd() >= 0 && Readable(slot.connection_fd())) {
    if (!AcceptAndServe(slot, app, pool)) return 1;
  }
  return 0;
}

void RunThread(Pool& pool, const AppBuilder& build) {
  int rc = 1;
  try {
    rc = build([&pool](http::App& app) { return ServeThread(pool, app); });
  } catch (const std::exception& e) {
    pool.logger.Error("serving thread failed", ErrorFields(e.what()));
  } catch (...) {
    pool.logger.Error("serving thread failed");
  }
  if (rc != 0) pool.Fail(rc);
}

// The worker's main thread: turns SIGTERM/SIGINT into the stop event and SIGHUP into a
// log reopen, until the stop event is set (by a signal or a failing thread).
int SuperviseThreads(Pool& pool) {
  sigset_t signals = WorkerSignals();
  util::UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC));
  if (signal_fd.get() < 0) {
    pool.logger.Error("signalfd failed", ErrorFields(std::strerror(errno)));
    return 1;
  }
  for (;;) {
    pollfd p[2] = {{signal_fd.get(), POLLIN, 0}, {pool.stop_fd, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return 1;
    if (p[1].revents != 0) return 0;
    if (p[0].revents == 0) continue;
    signalfd_siginfo info{};
    if (::read(signal_fd.get(), &info, sizeof info) != sizeof info) continue;
    if (info.ssi_signo == SIGHUP) {
      pool.logger.Reopen();
    } else {
      pool.Stop();
      return 0;
    }
  }
}

}  // namespace

void PrepareWorkerSignals() {
  signal(SIGPIPE, SIG_IGN);  // a web server hanging up must not kill the worker
  signal(SIGCHLD, SIG_DFL);
  // Blocked in every thread (threads inherit the mask); the main thread reads them
  // from a signalfd. Handlers inherited from the master do not matter while blocked.
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) signal(signo, SIG_DFL);
  sigset_t blocked = WorkerSignals();
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  sigset_t unblocked;
  sigemptyset(&unblocked);
  sigaddset(&unblocked, SIGCHLD);
  sigprocmask(SIG_UNBLOCK, &unblocked, nullptr);
}

int Serve(int listen_fd, int threads, const AppBuilder& build, size_t max_body_bytes,
          util::Logger& logger) {
  if (FCGX_Init() != 0) {
    logger.Error("FCGX_Init failed");
    return 1;
  }
  if (!SetNonBlocking(listen_fd)) {
    logger.Error("cannot make the listening socket non-blocking");
    return 1;
  }
  util::UniqueFd stop_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (stop_fd.get() < 0) {
    logger.Error("eventfd failed", ErrorFields(std::strerror(errno)));
    return 1;
  }
  Pool pool{listen_fd, stop_fd.get(), max_body_bytes, logger};
  std::vector<std::thread> running;
  try {
    for (int i = 0; i < std::max(1, threads); ++i) {
      running.emplace_back(RunThread, std::ref(pool), std::cref(build));
    }
  } catch (const std::system_error& e) {
    logger.Error("cannot start a serving thread", ErrorFields(e.what()));
    pool.Fail(1);
  }
  if (SuperviseThreads(pool) != 0) pool.Fail(1);
  for (std::thread& thread : running) thread.join();
  return pool.exit_code.load();
}

bool HasInheritedSocket() { return StdinIsListeningSocket(); }

int RunInherited(const WorkerMain& worker_main, util::Logger& logger) {
  PrepareWorkerSignals();
  Json::Value fields(Json::objectValue);
  fields["pid"] = static_cast<Json::Int>(getpid());
  logger.Info("worker started on inherited socket", fields);
  int rc = worker_main(0);
  logger.Info("worker stopped", fields);
  return rc;
}

}  // namespace phoneverify::fcgi
