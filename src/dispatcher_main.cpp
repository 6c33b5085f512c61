// phoneverify-dispatcher: drains the SMS outbox through the configured gateway until
// SIGTERM/SIGINT. Wiring only; the logic lives in sms::Dispatcher.
//
//   phoneverify-dispatcher [--config PATH]
//
// PATH defaults to $PHONEVERIFY_CONFIG, else conf/phoneverify.conf or
// /etc/phoneverify/phoneverify.conf (see util/config_loader.h).
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
#include "storage/outbox_repository.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/config_loader.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify {
namespace {

constexpr const char* kProgram = "phoneverify-dispatcher";
constexpr int64_t kMinLeaseSeconds = 30;
constexpr int kBatchSize = 10;

// The one global: a signal handler can reach nothing else.
std::atomic<bool> g_stop{false};

void OnStopSignal(int /*signal*/) { g_stop.store(true); }

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
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  return sigaction(SIGTERM, &stop, nullptr) == 0 && sigaction(SIGINT, &stop, nullptr) == 0 &&
         sigaction(SIGPIPE, &ignore, nullptr) == 0;
}

std::optional<util::Config> LoadConfiguration(const util::ConfigSource& source) {
  auto config = util::LoadProgramConfig(kProgram, source, std::cerr);
  if (config && config->outbox_key_bytes.size() != util::kKeyBytes) {
    std::cerr << kProgram << ": outbox_key is required (64 hex characters)\n";
    return std::nullopt;
  }
  return config;
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
  storage::MysqlOutboxRepository outbox(database, int64_t{config->retention_days} * 24 * 3600);
  util::SystemClock clock;
  util::SodiumRandom random;
  const sms::DispatcherOptions options = MakeOptions(*config);
  sms::Dispatcher dispatcher(outbox, *gateway, clock, random, logger, options);
  LogStarted(logger, *config, options);
  dispatcher.Run(g_stop);
  LogStopped(logger, dispatcher.stats());
  return 0;
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
