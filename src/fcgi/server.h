// The phoneverify-fcgi process model.
//
// Master (RunMaster): opens the unix socket, forks `workers` workers and replaces any
// that die (backing off when they die right after start). On SIGTERM or SIGINT it
// forwards SIGTERM to the workers, waits for them to finish their in-flight request
// (SIGKILL after drain_timeout_seconds), unlinks the socket and returns 0. SIGHUP
// reopens the log files (master and workers) and, when a Reload callback is given,
// replaces the workers without dropping a request: the master asks the callback for the
// next generation (worker count and WorkerMain, e.g. built from a freshly read
// configuration), forks the new generation, then sends the old workers SIGTERM, which
// they handle like a stop: an old worker finishes the request it is serving and exits,
// an idle one exits at once. Connections wait in the shared listening socket's backlog
// meanwhile, and are accepted by whichever worker is free. If the callback returns
// nullopt (e.g. the new configuration is invalid), the current workers stay.
// Workers die with the master (PR_SET_PDEATHSIG).
//
// Worker (Serve): `threads` serving threads, each with its own App, accept and serve
// one request at a time until SIGTERM/SIGINT. The signals stay blocked in every thread;
// the worker's main thread reads them (signalfd) and sets a stop event the serving
// threads wait on beside their socket, so a request in progress always completes. A
// connection the web server keeps open (nginx fastcgi_keep_conn) belongs to the thread
// that accepted it until it is closed: a worker needs more threads than the web server
// keeps idle connections to it. The listening socket is non-blocking, so a thread that
// loses the accept race goes back to waiting instead of blocking inside libfcgi.
//
// Inherited socket (RunInherited): when fd 0 is already a listening socket
// (mod_fcgid, spawn-fcgi), run a single worker on it; the spawner supervises (SIGHUP
// reopens the log only; the spawner restarts processes to apply new configuration).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "http/app.h"
#include "util/clock.h"
#include "util/logger.h"

namespace phoneverify::fcgi {

struct ServerOptions {
  std::string socket_path;
  std::string tcp_address;   // when set, listen here on TCP instead of socket_path
  std::string socket_group;  // the socket's group ("" = the process's own); mode 0660
  const util::Clock* clock = nullptr;  // for backoff and drain deadlines; null = system
  int workers = 1;
  int backlog = 1024;
  int drain_timeout_seconds = 30;
};

// Runs in each worker process after fork: builds the worker's own objects (database
// connection pool, ...) and calls Serve(listen_fd, ...). Returns the exit status.
using WorkerMain = std::function<int(int listen_fd)>;

// The workers to run after a reload.
struct Generation {
  int workers = 1;
  WorkerMain main;
};

// Called in the master on SIGHUP. nullopt keeps the current generation (the callback
// logs why).
using Reload = std::function<std::optional<Generation>()>;

// Serves requests with one thread's App until the worker stops; returns the exit status.
using AppRunner = std::function<int(http::App& app)>;
// Called once on each serving thread: builds that thread's App (and the services it
// needs) and returns `run(app)`.
using AppBuilder = std::function<int(const AppRunner& run)>;

// Returns the process exit status: 0 after a clean stop, 2 when the socket cannot be
// opened (message on stderr and in the log). `reload` may be empty (SIGHUP then only
// reopens the logs).
int RunMaster(const ServerOptions& options, const WorkerMain& worker_main, util::Logger& logger,
              const Reload& reload = {});

// True when fd 0 is a listening socket handed over by a process manager.
bool HasInheritedSocket();
// Single worker on fd 0 (see above).
int RunInherited(const WorkerMain& worker_main, util::Logger& logger);

// The worker loop over `threads` threads (at least 1). Returns 0 after a stop signal,
// 1 on a fatal error (accept, a thread that cannot start, or `build` failing).
int Serve(int listen_fd, int threads, const AppBuilder& build, size_t max_body_bytes,
          util::Logger& logger);

}  // namespace phoneverify::fcgi
