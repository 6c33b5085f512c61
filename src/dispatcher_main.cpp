// phoneverify-dispatcher: drains the SMS outbox through the configured gateway until
// SIGTERM/SIGINT. Wiring only; the logic lives in sms::Dispatcher.
//
// dispatcher_lanes threads ("lanes") each run their own sms::Dispatcher (own gateway
// handle), sharing one database pool; claims keep them from taking the same message.
// The main thread waits for signals (signalfd) and for wake-up datagrams on
// dispatcher_socket, which FastCGI workers send after queueing a message: each burst
// wakes about as many idle lanes as messages arrived. Lane 0 also expires stale messages
// and polls every dispatcher_poll_ms for retries that came due; the other lanes sleep
// until woken, so an idle dispatcher uses no CPU. A lane whose claim came back full
// wakes one more, so a backlog (e.g. after a restart) spreads over the lanes without
// every lane polling.
//
//   phoneverify-dispatcher [--config PATH]
//
// PATH defaults to $PHONEVERIFY_CONFIG, else conf/phoneverify.conf (optional then).
// Exit status: 0 after a clean stop, 2 on bad arguments or configuration, 1 otherwise.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sms/console_gateway.h"
#include "sms/curl_global.h"
#include "sms/dispatcher.h"
#include "sms/sparrow_gateway.h"
#include "sms/wake_board.h"
#include "storage/database.h"
#include "storage/outbox_repository.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/wakeup.h"

extern char** environ;

namespace phoneverify {
namespace {

constexpr const char* kDefaultConfig = "conf/phoneverify.conf";
constexpr int64_t kMinLeaseSeconds = 30;
constexpr int kBatchSize = 10;

// A lane that sleeps until woken still wakes this often, in case a wake-up was lost.
constexpr int kLaneMaxSleepMs = 60'000;
// How long wake-ups are gathered before lanes are woken for them.
constexpr int kGatherMs = 5;

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

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// Blocked before any thread starts (lanes inherit the mask); the main thread reads them
// from a signalfd.
bool BlockSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigset_t stop = StopSignals();
  return sigaction(SIGPIPE, &ignore, nullptr) == 0 &&
         sigprocmask(SIG_BLOCK, &stop, nullptr) == 0;
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
  return options;
}

void LogStarted(util::Logger& logger, const util::Config& config,
                const sms::DispatcherOptions& options, bool woken) {
  Json::Value fields(Json::objectValue);
  fields["backend"] = config.sms_backend;
  fields["lanes"] = config.dispatcher_lanes;
  fields["wakeup_socket"] = woken ? config.dispatcher_socket : "";
  fields["poll_ms"] = options.poll_ms;
  fields["batch_size"] = options.batch_size;
  fields["lease_seconds"] = static_cast<Json::Int64>(options.lease_seconds);
  fields["max_tries"] = options.max_tries;
  logger.Info("dispatcher started", fields);
}

void LogStopped(util::Logger& logger, const std::vector<sms::DispatcherStats>& lanes) {
  sms::DispatcherStats stats;
  for (const auto& lane : lanes) {
    stats.delivered += lane.delivered;
    stats.failed += lane.failed;
    stats.retried += lane.retried;
    stats.storage_errors += lane.storage_errors;
  }
  Json::Value fields(Json::objectValue);
  fields["delivered"] = static_cast<Json::Int64>(stats.delivered);
  fields["failed"] = static_cast<Json::Int64>(stats.failed);
  fields["retried"] = static_cast<Json::Int64>(stats.retried);
  fields["storage_errors"] = static_cast<Json::Int64>(stats.storage_errors);
  logger.Info("dispatcher stopped", fields);
}

// Waits for signals and wake-ups until SIGTERM/SIGINT; then stops every lane. Wake-ups
// are gathered for kGatherMs after the first (an SMS a few ms later does not matter);
// k messages then wake ceil(k / batch) lanes: each claims a batch, and one whose claim
// comes back full wakes another. Measured: posting every datagram at once made most
// claims take one or two messages, and a claim costs several statements.
void WaitForStop(util::WakeReceiver* wake, int batch, sms::WakeBoard& board,
                 std::atomic<bool>& stop, util::Logger& logger) {
  sigset_t signals = StopSignals();
  const int signal_fd = ::signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) logger.Error("signalfd failed; stopping");
  int gathered = 0;
  while (signal_fd >= 0) {
    pollfd p[2] = {{signal_fd, POLLIN, 0}, {wake ? wake->fd() : -1, POLLIN, 0}};
    const int ready = ::poll(p, 2, gathered > 0 ? kGatherMs : -1);
    if (ready < 0) continue;  // EINTR
    if (p[0].revents != 0) break;
    if (p[1].revents != 0) {
      gathered += wake->Drain();
      if (gathered < batch) continue;  // wait out the window unless a batch is full
    }
    board.Post((gathered + batch - 1) / batch);
    gathered = 0;
  }
  if (signal_fd >= 0) ::close(signal_fd);
  stop.store(true);
  board.Stop();
}

int Main(int argc, char** argv) {
  const auto args = ParseArgs(argc, argv);
  if (!args) {
    std::cerr << "usage: phoneverify-dispatcher [--config PATH]\n";
    return 2;
  }
  if (!BlockSignals()) return 1;
  const auto config = LoadConfiguration(*args);
  if (!config) return 2;
  if (!util::InitCrypto()) return 1;
  sms::CurlGlobal curl;
  if (!curl.ok()) {
    std::cerr << "phoneverify-dispatcher: curl_global_init failed\n";
    return 1;
  }
  util::Logger logger(config->log_file, "dispatcher");
  const int lanes = std::max(1, config->dispatcher_lanes);
  std::vector<std::unique_ptr<sms::SmsGateway>> gateways;
  for (int i = 0; i < lanes; ++i) {
    gateways.push_back(MakeGateway(*config));
    if (!gateways.back()) return 2;
  }
  // No wake-up socket (e.g. its path is too long) is not fatal: lane 0 still polls.
  auto wake = util::WakeReceiver::Bind(config->dispatcher_socket);
  if (!wake.ok()) logger.Warn(wake.error().details + "; polling only");
  // No logger for the Database: it logs every failed call, while the dispatcher reports
  // storage outages itself, rate-limited.
  storage::Database database(*config);
  storage::MysqlOutboxRepository outbox(database);
  util::SystemClock clock;
  sms::WakeBoard board(lanes);
  std::atomic<bool> stop{false};
  std::vector<sms::DispatcherStats> stats(static_cast<size_t>(lanes));
  const sms::DispatcherOptions base = MakeOptions(*config);
  LogStarted(logger, *config, base, wake.ok());
  std::vector<std::thread> threads;
  for (int i = 0; i < lanes; ++i) {
    threads.emplace_back([&, i] {
      sms::DispatcherOptions options = base;
      options.expire_stale = i == 0;
      const int max_sleep = i == 0 ? base.poll_ms : kLaneMaxSleepMs;
      options.idle_wait = [&board, max_sleep](int, const std::atomic<bool>& halt) {
        board.Wait(max_sleep, halt);
      };
      options.on_full_claim = [&board] { board.Post(1); };
      if (i > 0) board.Wait(kLaneMaxSleepMs, stop);  // lane 0 finds the work first
      util::SodiumRandom random;
      sms::Dispatcher dispatcher(outbox, *gateways[static_cast<size_t>(i)], clock, random,
                                 logger, options);
      dispatcher.Run(stop);
      stats[static_cast<size_t>(i)] = dispatcher.stats();
    });
  }
  WaitForStop(wake.ok() ? &wake.value() : nullptr, base.batch_size, board, stop, logger);
  for (auto& thread : threads) thread.join();
  LogStopped(logger, stats);
  return 0;
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
