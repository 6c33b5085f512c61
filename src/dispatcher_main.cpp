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
// One thread (the loop) runs the sms::Dispatcher: every message in flight at once over
// libcurl multi (sms::CurlMultiTransport), at most dispatcher_in_flight, through the
// backends of sms_backend in failover order, with one database connection. The main
// thread waits for signals (signalfd: SIGTERM/SIGINT stop, SIGHUP reloads) and for
// wake-up datagrams on dispatcher_socket, which FastCGI workers send after queueing a
// message; wake-ups are gathered for kGatherMs, then the loop is woken (out of its idle
// wait, or out of its wait on calls in flight). While Sparrow is paused for lack of
// credit the main thread also asks for credit (sms::CreditWatch). The loop also expires
// stale messages and polls every dispatcher_poll_ms for retries that came due.
// A reload stops the loop (the calls in flight finish and their outcomes are written)
// and starts the new configuration's.
// A second thread delivers the verification API's webhooks (webhooks::WebhookDeliverer)
// over a transport of its own, so a slow or dead endpoint never delays an SMS; wake-ups
// wake it too, and it polls every 500 ms. It stops and reloads with the SMS loop.
// Exit status: 0 after a clean stop, 2 on bad arguments or configuration, 1 otherwise.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstdlib>
#include <functional>
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
#include "sms/curl_multi_transport.h"
#include "sms/http_backend.h"
#include "sms/sms_backend.h"
#include "sms/sparrow_backend.h"
#include "sms/wake_board.h"
#include "domain/otp_policy.h"
#include "storage/database.h"
#include "storage/metrics_store.h"
#include "storage/outbox_repository.h"
#include "storage/verification_repository.h"
#include "storage/webhook_repository.h"
#include "util/core_dumps.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/config_loader.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/wakeup.h"
#include "webhooks/deliverer.h"

namespace phoneverify {
namespace {

constexpr const char* kProgram = "phoneverify-dispatcher";
// How long wake-ups are gathered before the loop is woken for them: claims come back
// fuller than when every datagram wakes it at once.
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

// Blocked before any thread starts (the loop thread inherits the mask); the main thread reads them
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

// The backends of sms_backend, in failover order, and what they need to live.
struct Backends {
  std::vector<std::unique_ptr<sms::SmsGateway>> gateways;  // synchronous ones (console)
  std::vector<std::unique_ptr<sms::SmsBackend>> owned;
  std::vector<sms::SmsBackend*> list;
  std::optional<size_t> sparrow;  // its place in `list`
};

Backends MakeBackends(const util::Config& config) {
  Backends backends;
  for (const std::string& name : config.sms_backends) {
    if (name == "console") {
      backends.gateways.push_back(std::make_unique<sms::ConsoleGateway>(config.sms_log));
      backends.owned.push_back(std::make_unique<sms::GatewayBackend>(*backends.gateways.back()));
    } else if (name == "sparrow") {
      backends.sparrow = backends.owned.size();
      backends.owned.push_back(std::make_unique<sms::SparrowBackend>(
          config.sparrow_url, config.sparrow_token, config.sparrow_from, config.sparrow_timeout));
    } else if (name == "http") {
      backends.owned.push_back(std::make_unique<sms::HttpBackend>(
          config.sms_http_url, config.sms_http_key_bytes, config.sparrow_timeout));
    }
    backends.list.push_back(backends.owned.back().get());
  }
  return backends;
}

// The main thread of a generation: waits for a signal, passing wake-up datagrams on to
// the loop (`wake`) after gathering them for kGatherMs. With a credit watch (Sparrow),
// it also asks for credit while sending is paused for it.
Next Supervise(int signal_fd, util::WakeReceiver* wake_receiver, const std::function<void()>& wake,
               sms::CreditWatch* credit, const util::Clock& clock, util::Logger& logger) {
  int64_t wake_at_ms = -1;  // the end of the gathering window (-1: not gathering)
  while (true) {
    pollfd p[2] = {{signal_fd, POLLIN, 0},
                   {wake_receiver != nullptr ? wake_receiver->fd() : -1, POLLIN, 0}};
    const int64_t now_ms = clock.MonotonicMillis();
    int64_t wait_ms = wake_at_ms >= 0 ? std::max<int64_t>(0, wake_at_ms - now_ms) : -1;
    if (credit != nullptr) {
      const int64_t ask_in = credit->WaitMs(now_ms);
      wait_ms = wait_ms < 0 ? ask_in : std::min(wait_ms, ask_in);
    }
    const int ready = ::poll(p, 2, static_cast<int>(wait_ms));
    if (credit != nullptr && credit->Tick(clock.MonotonicMillis())) {
      logger.Info("sms credit is back: sending resumes");
      wake();  // the loop sends the probe now
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
    if (p[1].revents != 0 && wake_receiver->Drain() > 0 && wake_at_ms < 0) {
      wake_at_ms = clock.MonotonicMillis() + kGatherMs;
    }
    if (wake_at_ms >= 0 && clock.MonotonicMillis() >= wake_at_ms) {
      wake();
      wake_at_ms = -1;
    }
  }
}

void LogStarted(util::Logger& logger, const char* event, const util::Config& config,
                const sms::DispatcherOptions& options, bool woken) {
  Json::Value fields(Json::objectValue);
  fields["backend"] = config.sms_backend;
  fields["in_flight"] = options.max_in_flight;
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
  fields["failovers"] = static_cast<Json::Int64>(stats.failovers);
  fields["circuit_opened"] = static_cast<Json::Int64>(stats.circuit_opened);
  fields["storage_errors"] = static_cast<Json::Int64>(stats.storage_errors);
  logger.Info(event, fields);
}

// The webhook deliverer of one generation on its own thread, with its own transport,
// randomness and store (the Database is shared: thread-safe). Stop() joins it.
class WebhookLane {
 public:
  WebhookLane(const util::Config& config, storage::Database& database,
              domain::MetricsStore& metrics, const util::Clock& clock, util::Logger& logger)
      : store_(database),
        deliverer_(store_, transport_, clock, random_, logger,
                   webhooks::DelivererOptionsFrom(config), &metrics) {}
  ~WebhookLane() { Stop(); }
  WebhookLane(const WebhookLane&) = delete;
  WebhookLane& operator=(const WebhookLane&) = delete;

  bool ok() const { return transport_.ok(); }
  void Start() {
    thread_ = std::thread([this] { deliverer_.Run(stop_); });
  }
  void Wake() { deliverer_.Wake(); }
  void Stop() {
    stop_.store(true);
    deliverer_.Wake();
    if (thread_.joinable()) thread_.join();
  }

 private:
  sms::CurlMultiTransport transport_;
  storage::MysqlWebhookRepository store_;
  util::SodiumRandom random_;
  webhooks::WebhookDeliverer deliverer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One configuration's backends, database and loop, run until a signal. Empty when the
// transport cannot be built (the reason on `err`).
std::optional<Next> RunGeneration(const util::Config& config, util::Logger& logger,
                                  const char* event, int signal_fd, std::ostream& err) {
  Backends backends = MakeBackends(config);
  sms::CurlMultiTransport transport;
  if (!transport.ok()) {
    err << kProgram << ": curl_multi_init failed\n";
    return std::nullopt;
  }
  // No logger for the Database: it logs every failed call, while the dispatcher reports
  // storage outages itself, rate-limited. The loop uses one connection at a time.
  storage::Database database(config);
  util::SodiumRandom random;
  const domain::OtpPolicy policy = domain::OtpPolicyFrom(config);
  const storage::VerificationEventWriter verification_events(policy, random);
  storage::MysqlOutboxRepository outbox(database, int64_t{config.retention_days} * 24 * 3600,
                                        &verification_events);
  storage::MysqlMetricsStore metrics(database);
  util::SystemClock clock;
  sms::DispatcherOptions options = sms::DispatcherOptionsFrom(config);
  sms::WakeBoard board(1);
  options.idle_wait = [&board](int max_ms, const std::atomic<bool>& halt) {
    board.Wait(max_ms, halt);
  };
  sms::Dispatcher dispatcher(outbox, backends.list, &transport, clock, random, logger, options,
                             &metrics);
  WebhookLane webhook_lane(config, database, metrics, clock, logger);
  if (!webhook_lane.ok()) {
    err << kProgram << ": curl_multi_init failed (webhooks)\n";
    return std::nullopt;
  }
  std::atomic<bool> stop{false};
  // No wake-up socket (e.g. its path is too long) is not fatal: the loop still polls.
  auto wake = util::WakeReceiver::Bind(config.dispatcher_socket);
  if (!wake.ok()) logger.Warn(wake.error().details + "; polling only");
  LogStarted(logger, event, config, options, wake.ok());
  std::thread loop([&] { dispatcher.Run(stop); });
  webhook_lane.Start();
  std::optional<sms::CreditWatch> credit;
  if (backends.sparrow) {
    credit.emplace(dispatcher.circuit(*backends.sparrow), [&config] {
      auto reply = sms::QuerySparrowCredit(config.sparrow_credit_url, config.sparrow_token,
                                           config.sparrow_timeout);
      return reply.ok() && reply.value().credits_available > 0;
    }, int64_t{config.sms_credit_poll} * 1000);
  }
  const auto wake_loop = [&board, &dispatcher, &webhook_lane] {
    board.Post(1);
    dispatcher.Wake();
    webhook_lane.Wake();
  };
  const Next next = Supervise(signal_fd, wake.ok() ? &wake.value() : nullptr, wake_loop,
                              credit ? &*credit : nullptr, clock, logger);
  stop.store(true);
  board.Stop();
  dispatcher.Wake();
  webhook_lane.Stop();
  loop.join();
  LogStopped(logger, next == Next::kStop ? "dispatcher stopped" : "dispatcher reloading",
             dispatcher.stats());
  return next;
}

// SIGHUP: the configuration read again, or `running` when the new one is not usable.
util::Config Reloaded(const util::ConfigSource& source, const util::Config& running,
                      util::Logger& logger) {
  std::ostringstream err;
  std::optional<util::Config> config = LoadConfiguration(source, err);
  const bool usable = config.has_value();
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
