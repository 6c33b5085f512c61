#include <fcgiapp.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

#include "fcgi/fcgi_request.h"
#include "fcgi/listen_socket.h"
#include "fcgi/server.h"
#include "fcgi/worker_signals.h"

namespace phoneverify::fcgi {
namespace {

// Set from signal handlers only; the one piece of process-wide state a signal needs.
volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_reopen_logs = 0;

void OnStop(int) { g_stop = 1; }
void OnHangup(int) { g_reopen_logs = 1; }

void Install(int signo, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the wait must return EINTR
  sigaction(signo, &action, nullptr);
}

sigset_t WorkerSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

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

void SleepMillis(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000L};
  nanosleep(&ts, nullptr);
}

// Waits until `fd` is readable or a signal arrives; signals are unblocked only here.
bool WaitReadable(int fd, const sigset_t& wait_mask) {
  pollfd p{fd, POLLIN, 0};
  int ready = ppoll(&p, 1, nullptr, &wait_mask);
  return ready > 0 || (ready < 0 && errno == EINTR);
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

}  // namespace

void PrepareWorkerSignals() {
  Install(SIGTERM, OnStop);
  Install(SIGINT, OnStop);
  Install(SIGHUP, OnHangup);
  signal(SIGPIPE, SIG_IGN);  // a web server hanging up must not kill the worker
  signal(SIGCHLD, SIG_DFL);
  sigset_t blocked = WorkerSignals();
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  sigset_t unblocked;
  sigemptyset(&unblocked);
  sigaddset(&unblocked, SIGCHLD);
  sigprocmask(SIG_UNBLOCK, &unblocked, nullptr);
}

int Serve(int listen_fd, http::App& app, size_t max_body_bytes, util::Logger& logger) {
  if (FCGX_Init() != 0) {
    logger.Error("FCGX_Init failed");
    return 1;
  }
  if (!SetNonBlocking(listen_fd)) {
    logger.Error("cannot make the listening socket non-blocking");
    return 1;
  }
  sigset_t wait_mask;
  sigprocmask(SIG_SETMASK, nullptr, &wait_mask);
  for (int signo : {SIGTERM, SIGINT, SIGHUP}) sigdelset(&wait_mask, signo);

  FcgiRequest slot(listen_fd);
  while (!g_stop) {
    if (g_reopen_logs) {
      g_reopen_logs = 0;
      logger.Reopen();
    }
    int fd = slot.connection_fd() >= 0 ? slot.connection_fd() : listen_fd;
    if (!WaitReadable(fd, wait_mask)) {
      logger.Error("wait for connection failed", Json::Value(std::strerror(errno)));
      return 1;
    }
    if (g_stop) break;
    int rc = slot.Accept();
    switch (Classify(rc)) {
      case AcceptOutcome::kReady:
        ServeOne(slot, app, max_body_bytes, logger);
        break;
      case AcceptOutcome::kRetry:
        break;
      case AcceptOutcome::kBackOff:
        SleepMillis(100);
        break;
      case AcceptOutcome::kFatal: {
        Json::Value fields(Json::objectValue);
        fields["rc"] = rc;
        fields["error"] = rc < 0 && rc > -4096 ? std::strerror(-rc) : "libfcgi error";
        logger.Error("accept failed", fields);
        return 1;
      }
    }
  }
  return 0;
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
