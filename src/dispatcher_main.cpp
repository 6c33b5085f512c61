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
// Between passes the dispatcher sleeps on dispatcher_socket: FastCGI workers send a
// datagram there after queueing a message, so a new message is sent at once while an
// idle dispatcher polls only every dispatcher_poll_ms (for retries that came due).
// One sending lane: dispatcher_lanes > 1 is not used yet (the circuit breaker and the
// credit pause are per sms::Dispatcher and would not hold across lanes).
// Exit status: 0 after a clean stop, 2 on bad arguments or configuration, 1 otherwise.
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sms/console_gateway.h"
#include "sms/curl_global.h"
#include "sms/dispatcher.h"
#include "sms/sparrow_gateway.h"
#include "storage/database.h"
#include "storage/metrics_store.h"
#include "storage/outbox_repository.h"
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
constexpr int64_t kMinLeaseSeconds = 30;
constexpr int kBatchSize = 10;

// Set by signal handlers, which can reach nothing else. g_wake ends the current
// Dispatcher::Run (a batch in progress hands its unsent rest back to the outbox); then
// g_stop says whether to stop or, after SIGHUP, to reload.
std::atomic<bool> g_stop{false};
std::atomic<bool> g_wake{false};

void OnStopSignal(int /*signal*/) {
  g_stop.store(true);
  g_wake.store(true);
}

void OnHangup(int /*signal*/) { g_wake.store(true); }

std::optional<util::ConfigSource> ParseArgs(int argc, char** argv) {
  std::string flag_path;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag != "--config" || i + 1 >= argc) return std::nullopt;
    flag_path = argv[++i];
  }
  return util::ResolveConfigSource(flag_path);
}

bool InstallSignalHandlers() {
  struct sigaction stop {};
  stop.sa_handler = OnStopSignal;
  sigemptyset(&stop.sa_mask);
  struct sigaction hangup {};
  hangup.sa_handler = OnHangup;
  sigemptyset(&hangup.sa_mask);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return sigaction(SIGTERM, &stop, nullptr) == 0 && sigaction(SIGINT, &stop, nullptr) == 0 &&
         sigaction(SIGHUP, &hangup, nullptr) == 0 && sigaction(SIGPIPE, &ignore, nullptr) == 0;
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

sms::DispatcherOptions MakeOptions(const util::Config& config) {
  sms::DispatcherOptions options;
  options.outbox_key = config.outbox_key_bytes;
  options.send_timeout_seconds = config.sms_backend == "sparrow" ? config.sparrow_timeout : 1;
  // A claim must outlive at least two gateway calls, or every batch shrinks to one.
  options.lease_seconds = std::max<int64_t>(kMinLeaseSeconds, 2 * options.send_timeout_seconds + 5);
  options.batch_size = kBatchSize;
  options.max_tries = config.sms_max_tries;
  options.poll_ms = config.dispatcher_poll_ms;
  options.base_backoff_seconds = config.sms_retry_base;
  options.max_backoff_seconds = config.sms_retry_max;
  options.breaker_failures = config.sms_breaker_failures;
  options.breaker_cooloff_ms = int64_t{config.sms_breaker_cooloff} * 1000;
  options.credit_pause_seconds = config.sms_credit_pause;
  return options;
}

// Sleeps until a worker's wake-up datagram, `stop`, a signal, or `max_ms`.
void WaitForWakeup(util::WakeReceiver& wake, int max_ms, const std::atomic<bool>& stop) {
  constexpr int kSliceMs = 50;  // a stop request is honoured this promptly at worst
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  while (!stop.load()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd p{wake.fd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), kSliceMs)));
    if (ready > 0) {
      wake.Drain();
      return;
    }
  }
}

void LogStarted(util::Logger& logger, const char* event, const util::Config& config,
                const sms::DispatcherOptions& options, bool woken) {
  Json::Value fields(Json::objectValue);
  fields["backend"] = config.sms_backend;
  fields["wakeup_socket"] = woken ? config.dispatcher_socket : "";
  fields["poll_ms"] = options.poll_ms;
  fields["batch_size"] = options.batch_size;
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

// One configuration's gateway, database and dispatcher, run until a signal wakes it.
// False when the gateway cannot be built (the reason on `err`).
bool RunGeneration(const util::Config& config, util::Logger& logger, const char* event,
                   std::ostream& err) {
  auto gateway = MakeGateway(config, err);
  if (!gateway) return false;
  // No logger for the Database: it logs every failed call, while the dispatcher reports
  // storage outages itself, rate-limited (it polls several times a second).
  storage::Database database(config);
  storage::MysqlOutboxRepository outbox(database, int64_t{config.retention_days} * 24 * 3600);
  storage::MysqlMetricsStore metrics(database);
  util::SystemClock clock;
  util::SodiumRandom random;
  sms::DispatcherOptions options = MakeOptions(config);
  // No wake-up socket (e.g. its path is too long) is not fatal: the dispatcher polls.
  auto wake = util::WakeReceiver::Bind(config.dispatcher_socket);
  if (wake.ok()) {
    options.idle_wait = [&wake](int max_ms, const std::atomic<bool>& stop) {
      WaitForWakeup(wake.value(), max_ms, stop);
    };
  } else {
    logger.Warn(wake.error().details + "; polling only");
  }
  sms::Dispatcher dispatcher(outbox, *gateway, clock, random, logger, options, &metrics);
  LogStarted(logger, event, config, options, wake.ok());
  dispatcher.Run(g_wake);
  LogStopped(logger, g_stop.load() ? "dispatcher stopped" : "dispatcher reloading",
             dispatcher.stats());
  return true;
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
  const auto args = ParseArgs(argc, argv);
  if (!args) {
    std::cerr << "usage: " << kProgram << " [--config PATH]\n";
    return 2;
  }
  if (!InstallSignalHandlers()) return 1;
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
    if (!RunGeneration(*config, logger, event, std::cerr)) return 2;
    // Clear the wake-up before looking at why it came: a signal arriving from here on
    // wakes the next Run at once instead of being lost.
    g_wake.store(false);
    if (g_stop.load()) break;
    logger.Reopen();
    config = Reloaded(*args, *config, logger);
    event = "configuration reloaded";
  }
  return 0;
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
