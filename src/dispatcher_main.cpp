// phoneverify-dispatcher: drains the SMS outbox through the configured gateway until
// SIGTERM/SIGINT. SIGHUP reopens the log and reloads the configuration (gateway,
// database, dispatcher settings; an invalid configuration is logged and the running one
// kept; log_file needs a restart). Wiring only; the logic lives in sms::Dispatcher.
//
//   phoneverify-dispatcher [--config PATH]
//
// PATH defaults to $PHONEVERIFY_CONFIG, else conf/phoneverify.conf or
// /etc/phoneverify/phoneverify.conf (see util/config_loader.h).
//
// dispatcher_lanes threads ("lanes") each run their own sms::Dispatcher with their own
// gateway (one curl handle each, kept alive between sends) and database connection
// (from one pool); claims keep them from taking the same message. All lanes share one
// sms::DispatcherShared: one circuit breaker and credit pause (an open circuit or a
// pause stops every lane; one probe while half-open) and one list of owed outbox writes
// (no lane claims while any is owed).
// The main thread waits for signals (signalfd: SIGTERM/SIGINT stop, SIGHUP reloads) and
// for wake-up datagrams on dispatcher_socket, which FastCGI workers send after queueing
// a message; wake-ups are gathered for kGatherMs, then about one idle lane per batch of
// messages is woken. Lane 0 also expires stale messages and polls every
// dispatcher_poll_ms for retries that came due; the other lanes sleep until woken (at
// most kLaneMaxSleepMs), so an idle dispatcher costs one pass every dispatcher_poll_ms.
// A lane whose claim came back full wakes one more, so a backlog (after a restart, or
// lost datagrams) spreads over the lanes.
// A reload stops the lanes (each finishes the gateway call in progress and hands the
// rest of its batch back) and starts the new configuration's.
// Exit status: 0 after a clean stop, 2 on bad arguments or configuration, 1 otherwise.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "sms/console_gateway.h"
#include "sms/credit_watch.h"
#include "sms/curl_global.h"
#include "sms/dispatcher.h"
#include "sms/sparrow_credit.h"
#include "sms/sparrow_gateway.h"
#include "sms/wake_board.h"
#include "storage/database.h"
#include "storage/metrics_store.h"
#include "storage/outbox_repository.h"
#include "util/core_dumps.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/config_loader.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/wakeup.h"

namespace phoneverify {
namespace {

constexpr const char* kProgram = "phoneverify-dispatcher";
// A lane other than lane 0 that sleeps until woken still wakes this often.
constexpr int kLaneMaxSleepMs = 60'000;
// How long wake-ups are gathered before lanes are woken for them: claims come back
// fuller than when every datagram wakes a lane at once.
constexpr int kGatherMs = 5;

enum class Next { kStop, kReload };

std::optional<util::ConfigSource> ParseArgs(int argc, char** argv) {
  std::string flag_path;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag != "--config" || i + 1 >= argc) return std::nullopt;
    flag_path = argv[++i];
  }
  return util::ResolveConfigSource(flag_path);
}

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

// Blocked before any thread starts (lanes inherit the mask); the main thread reads them
// from a signalfd. Returns the signalfd, or -1.
int TakeSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  const sigset_t handled = HandledSignals();
  if (sigaction(SIGPIPE, &ignore, nullptr) != 0 ||
      sigprocmask(SIG_BLOCK, &handled, nullptr) != 0) {
    return -1;
  }
  return ::signalfd(-1, &handled, SFD_CLOEXEC);
}

std::optional<util::Config> LoadConfiguration(const util::ConfigSource& source, std::ostream& err) {
  auto config = util::LoadProgramConfig(kProgram, source, err);
  if (config && config->outbox_key_bytes.size() != util::kKeyBytes) {
    err << kProgram << ": outbox_key is required (64 hex characters)\n";
    return std::nullopt;
  }
  return config;
}

std::unique_ptr<sms::SmsGateway> MakeGateway(const util::Config& config, std::ostream& err) {
  if (config.sms_backend == "console") {
    return std::make_unique<sms::ConsoleGateway>(config.sms_log);
  }
  auto sparrow = std::make_unique<sms::SparrowGateway>(config.sparrow_url, config.sparrow_token,
                                                       config.sparrow_from, config.sparrow_timeout);
  if (!sparrow->ok()) {
    err << kProgram << ": sparrow gateway: " << sparrow->init_error() << "\n";
    return nullptr;
  }
  return sparrow;
}

// The main thread of a generation: waits for a signal, passing wake-up datagrams on to
// the lanes. k messages gathered over kGatherMs wake ceil(k / batch) lanes (each claims
// a batch; one whose claim came back full wakes another).
// With a credit watch (Sparrow), it also asks for credit while sending is paused for it.
Next Supervise(int signal_fd, util::WakeReceiver* wake, int batch, sms::WakeBoard& board,
               sms::CreditWatch* credit, const util::Clock& clock, util::Logger& logger) {
  int gathered = 0;
  while (true) {
    pollfd p[2] = {{signal_fd, POLLIN, 0}, {wake != nullptr ? wake->fd() : -1, POLLIN, 0}};
    int wait_ms = gathered > 0 ? kGatherMs : -1;
    if (credit != nullptr) {
      const int64_t ask_in = credit->WaitMs(clock.MonotonicMillis());
      wait_ms = static_cast<int>(wait_ms < 0 ? ask_in : std::min<int64_t>(wait_ms, ask_in));
    }
    const int ready = ::poll(p, 2, wait_ms);
    if (credit != nullptr && credit->Tick(clock.MonotonicMillis())) {
      logger.Info("sms credit is back: sending resumes");
      board.Post(1);  // a lane sends the probe now
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      logger.Error("dispatcher: poll failed; stopping");
      return Next::kStop;
    }
    if (p[0].revents != 0) {
      signalfd_siginfo info{};
      if (::read(signal_fd, &info, sizeof info) == sizeof info && info.ssi_signo == SIGHUP) {
        return Next::kReload;
      }
      return Next::kStop;
    }
    if (p[1].revents != 0) {
      gathered += wake->Drain();
      if (gathered < batch) continue;  // wait out the window unless a batch is full
    }
    if (gathered > 0) board.Post((gathered + batch - 1) / batch);
    gathered = 0;
  }
}

void LogStarted(util::Logger& logger, const char* event, const util::Config& config,
                const sms::DispatcherOptions& options, bool woken) {
  Json::Value fields(Json::objectValue);
  fields["backend"] = config.sms_backend;
  fields["lanes"] = std::max(1, config.dispatcher_lanes);
  fields["wakeup_socket"] = woken ? config.dispatcher_socket : "";
  fields["poll_ms"] = options.poll_ms;
  fields["batch_size"] = options.batch_size;
  fields["max_batch_size"] = options.max_batch_size;
  fields["lease_seconds"] = static_cast<Json::Int64>(options.lease_seconds);
  fields["max_tries"] = options.max_tries;
  logger.Info(event, fields);
}

void LogStopped(util::Logger& logger, const char* event, const sms::DispatcherStats& stats) {
  Json::Value fields(Json::objectValue);
  fields["delivered"] = static_cast<Json::Int64>(stats.delivered);
  fields["failed"] = static_cast<Json::Int64>(stats.failed);
  fields["retried"] = static_cast<Json::Int64>(stats.retried);
  fields["circuit_opened"] = static_cast<Json::Int64>(stats.circuit_opened);
  fields["storage_errors"] = static_cast<Json::Int64>(stats.storage_errors);
  logger.Info(event, fields);
}

// One configuration's gateways, database and lanes, run until a signal. Empty when a
// gateway cannot be built (the reason on `err`).
std::optional<Next> RunGeneration(const util::Config& config, util::Logger& logger,
                                  const char* event, int signal_fd, std::ostream& err) {
  const int lanes = std::max(1, config.dispatcher_lanes);
  std::vector<std::unique_ptr<sms::SmsGateway>> gateways;
  for (int i = 0; i < lanes; ++i) {
    gateways.push_back(MakeGateway(config, err));
    if (!gateways.back()) return std::nullopt;
  }
  // No logger for the Database: it logs every failed call, while the dispatcher reports
  // storage outages itself, rate-limited. Each lane takes its own connection from it.
  storage::Database database(config);
  storage::MysqlOutboxRepository outbox(database, int64_t{config.retention_days} * 24 * 3600);
  storage::MysqlMetricsStore metrics(database);
  util::SystemClock clock;
  const sms::DispatcherOptions base = sms::DispatcherOptionsFrom(config);
  sms::DispatcherShared shared(base.breaker_failures, base.breaker_cooloff_ms);
  sms::WakeBoard board(lanes);
  std::atomic<bool> stop{false};
  // No wake-up socket (e.g. its path is too long) is not fatal: lane 0 still polls.
  auto wake = util::WakeReceiver::Bind(config.dispatcher_socket);
  if (!wake.ok()) logger.Warn(wake.error().details + "; polling only");
  LogStarted(logger, event, config, base, wake.ok());
  std::vector<sms::DispatcherStats> stats(static_cast<size_t>(lanes));
  std::vector<std::thread> threads;
  for (int i = 0; i < lanes; ++i) {
    threads.emplace_back([&, i] {
      sms::DispatcherOptions options = base;
      options.shared = &shared;
      options.expire_stale = i == 0;
      const int max_sleep = i == 0 ? base.poll_ms : kLaneMaxSleepMs;
      options.idle_wait = [&board, max_sleep](int, const std::atomic<bool>& halt) {
        board.Wait(max_sleep, halt);
      };
      options.on_full_claim = [&board] { board.Post(1); };
      util::SodiumRandom random;
      sms::Dispatcher dispatcher(outbox, *gateways[static_cast<size_t>(i)], clock, random,
                                 logger, options, &metrics);
      // Lane 0 looks for work first; the others wait to be woken.
      if (i > 0) board.Wait(kLaneMaxSleepMs, stop);
      dispatcher.Run(stop);
      stats[static_cast<size_t>(i)] = dispatcher.stats();
    });
  }
  std::optional<sms::CreditWatch> credit;
  if (config.sms_backend == "sparrow") {
    credit.emplace(shared.circuit, [&config] {
      auto reply = sms::QuerySparrowCredit(config.sparrow_credit_url, config.sparrow_token,
                                           config.sparrow_timeout);
      return reply.ok() && reply.value().credits_available > 0;
    }, int64_t{config.sms_credit_poll} * 1000);
  }
  const Next next = Supervise(signal_fd, wake.ok() ? &wake.value() : nullptr, base.batch_size,
                              board, credit ? &*credit : nullptr, clock, logger);
  stop.store(true);
  board.Stop();
  for (auto& thread : threads) thread.join();
  sms::DispatcherStats total;
  for (const auto& lane : stats) {
    total.delivered += lane.delivered;
    total.failed += lane.failed;
    total.retried += lane.retried;
    total.circuit_opened += lane.circuit_opened;
    total.storage_errors += lane.storage_errors;
  }
  LogStopped(logger, next == Next::kStop ? "dispatcher stopped" : "dispatcher reloading", total);
  return next;
}

// SIGHUP: the configuration read again, or `running` when the new one is not usable.
util::Config Reloaded(const util::ConfigSource& source, const util::Config& running,
                      util::Logger& logger) {
  std::ostringstream err;
  std::optional<util::Config> config = LoadConfiguration(source, err);
  const bool usable = config && MakeGateway(*config, err) != nullptr;
  Json::Value fields(Json::objectValue);
  fields["messages"] = err.str();
  if (!usable) {
    logger.Error("configuration reload failed; keeping the running configuration", fields);
    return running;
  }
  if (!err.str().empty()) logger.Warn("configuration reload", fields);
  if (config->log_file != running.log_file) {
    logger.Warn("log_file changes take effect after a restart only");
  }
  return *config;
}

int Main(int argc, char** argv) {
  // Before any secret is read.
  if (!util::DisableCoreDumps()) std::cerr << kProgram << ": warning: core dumps stay on\n";
  const auto args = ParseArgs(argc, argv);
  if (!args) {
    std::cerr << "usage: " << kProgram << " [--config PATH]\n";
    return 2;
  }
  const int signal_fd = TakeSignals();
  if (signal_fd < 0) return 1;
  std::optional<util::Config> config = LoadConfiguration(*args, std::cerr);
  if (!config) return 2;
  if (!util::InitCrypto()) return 1;
  sms::CurlGlobal curl;
  if (!curl.ok()) {
    std::cerr << kProgram << ": curl_global_init failed\n";
    return 1;
  }
  util::Logger logger(config->log_file, "dispatcher");
  const char* event = "dispatcher started";
  while (true) {
    // A signal arriving while a generation starts or stops waits in the signalfd.
    const std::optional<Next> next = RunGeneration(*config, logger, event, signal_fd, std::cerr);
    if (!next) return 2;
    if (*next == Next::kStop) break;
    logger.Reopen();
    config = Reloaded(*args, *config, logger);
    event = "configuration reloaded";
  }
  return 0;
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
