// phoneverify-dispatcher: drains the SMS outbox through the configured gateway until
// SIGTERM/SIGINT. Wiring only; the logic lives in sms::Dispatcher.
//
//   phoneverify-dispatcher [--config PATH]
//
// PATH defaults to $PHONEVERIFY_CONFIG, else conf/phoneverify.conf (optional then).
// Exit status: 0 after a clean stop, 2 on bad arguments or configuration, 1 otherwise.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
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
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

extern char** environ;

namespace phoneverify {
namespace {

constexpr const char* kDefaultConfig = "conf/phoneverify.conf";
constexpr int64_t kMinLeaseSeconds = 30;
constexpr int kBatchSize = 10;

// The one global: a signal handler can reach nothing else.
std::atomic<bool> g_stop{false};

void OnStopSignal(int /*signal*/) { g_stop.store(true); }

struct Args {
  std::string config_path;
  bool config_required = false;
};

std::optional<Args> ParseArgs(int argc, char** argv) {
  Args args;
  if (const char* from_env = std::getenv("PHONEVERIFY_CONFIG"); from_env && *from_env) {
    args.config_path = from_env;
    args.config_required = true;
  } else {
    args.config_path = kDefaultConfig;
  }
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag != "--config" || i + 1 >= argc) return std::nullopt;
    args.config_path = argv[++i];
    args.config_required = true;
  }
  return args;
}

bool InstallSignalHandlers() {
  struct sigaction stop {};
  stop.sa_handler = OnStopSignal;
  sigemptyset(&stop.sa_mask);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return sigaction(SIGTERM, &stop, nullptr) == 0 && sigaction(SIGINT, &stop, nullptr) == 0 &&
         sigaction(SIGPIPE, &ignore, nullptr) == 0;
}

std::vector<std::string> Environment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  return env;
}

std::optional<util::Config> LoadConfiguration(const Args& args) {
  auto loaded = util::LoadConfig(args.config_path, args.config_required, Environment());
  if (!loaded.ok()) {
    std::cerr << "phoneverify-dispatcher: " << loaded.error().details << "\n";
    return std::nullopt;
  }
  for (const auto& warning : loaded.value().warnings) {
    std::cerr << "phoneverify-dispatcher: warning: " << warning << "\n";
  }
  if (loaded.value().config.outbox_key_bytes.size() != util::kKeyBytes) {
    std::cerr << "phoneverify-dispatcher: outbox_key is required (64 hex characters)\n";
    return std::nullopt;
  }
  return std::move(loaded).value().config;
}

std::unique_ptr<sms::SmsGateway> MakeGateway(const util::Config& config) {
  if (config.sms_backend == "console") {
    return std::make_unique<sms::ConsoleGateway>(config.sms_log);
  }
  auto sparrow = std::make_unique<sms::SparrowGateway>(config.sparrow_url, config.sparrow_token,
                                                       config.sparrow_from, config.sparrow_timeout);
  if (!sparrow->ok()) {
    std::cerr << "phoneverify-dispatcher: sparrow gateway: " << sparrow->init_error() << "\n";
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

void LogStarted(util::Logger& logger, const util::Config& config,
                const sms::DispatcherOptions& options) {
  Json::Value fields(Json::objectValue);
  fields["backend"] = config.sms_backend;
  fields["poll_ms"] = options.poll_ms;
  fields["batch_size"] = options.batch_size;
  fields["lease_seconds"] = static_cast<Json::Int64>(options.lease_seconds);
  fields["max_tries"] = options.max_tries;
  logger.Info("dispatcher started", fields);
}

void LogStopped(util::Logger& logger, const sms::DispatcherStats& stats) {
  Json::Value fields(Json::objectValue);
  fields["delivered"] = static_cast<Json::Int64>(stats.delivered);
  fields["failed"] = static_cast<Json::Int64>(stats.failed);
  fields["retried"] = static_cast<Json::Int64>(stats.retried);
  fields["circuit_opened"] = static_cast<Json::Int64>(stats.circuit_opened);
  fields["storage_errors"] = static_cast<Json::Int64>(stats.storage_errors);
  logger.Info("dispatcher stopped", fields);
}

int Main(int argc, char** argv) {
  const auto args = ParseArgs(argc, argv);
  if (!args) {
    std::cerr << "usage: phoneverify-dispatcher [--config PATH]\n";
    return 2;
  }
  if (!InstallSignalHandlers()) return 1;
  const auto config = LoadConfiguration(*args);
  if (!config) return 2;
  if (!util::InitCrypto()) return 1;
  sms::CurlGlobal curl;
  if (!curl.ok()) {
    std::cerr << "phoneverify-dispatcher: curl_global_init failed\n";
    return 1;
  }
  util::Logger logger(config->log_file, "dispatcher");
  auto gateway = MakeGateway(*config);
  if (!gateway) return 2;
  // No logger for the Database: it logs every failed call, while the dispatcher reports
  // storage outages itself, rate-limited (it polls several times a second).
  storage::Database database(*config);
  storage::MysqlOutboxRepository outbox(database);
  storage::MysqlMetricsStore metrics(database);
  util::SystemClock clock;
  util::SodiumRandom random;
  const sms::DispatcherOptions options = MakeOptions(*config);
  sms::Dispatcher dispatcher(outbox, *gateway, clock, random, logger, options, &metrics);
  LogStarted(logger, *config, options);
  dispatcher.Run(g_stop);
  LogStopped(logger, dispatcher.stats());
  return 0;
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
