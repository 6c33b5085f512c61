// phoneverify-fcgi: the FastCGI server (master + pre-forked workers). Wiring only.
//
//   phoneverify-fcgi [--config PATH] [--print-config] [--help]
//
// PATH defaults to $PHONEVERIFY_CONFIG, else conf/phoneverify.conf or
// /etc/phoneverify/phoneverify.conf (see util/config_loader.h).
// When fd 0 is a listening socket (mod_fcgid, spawn-fcgi) a single worker serves it;
// otherwise the master opens config.fcgi_socket and supervises config.workers workers.
// SIGHUP reopens the log and reloads the configuration (fcgi/server.h: workers are
// replaced without dropping requests; fcgi_socket and log_file need a restart).
// Exit status: 0 after a clean stop, 2 on bad arguments, configuration or socket, 1 when
// crypto cannot start.
#include <atomic>
#include <boost/program_options.hpp>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "domain/account_service.h"
#include "domain/api_verification_service.h"
#include "domain/otp_policy.h"
#include "domain/session_service.h"
#include "domain/verification_service.h"
#include "fcgi/server.h"
#include "handlers/page_handlers.h"
#include "handlers/routes.h"
#include "handlers/view.h"
#include "http/app.h"
#include "http/client_ip.h"
#include "http/router.h"
#include "storage/account_repository.h"
#include "storage/api_client_repository.h"
#include "storage/database.h"
#include "storage/health_check.h"
#include "storage/limit_repository.h"
#include "storage/metrics_store.h"
#include "storage/node_chooser.h"
#include "storage/otp_repository.h"
#include "storage/session_repository.h"
#include "storage/verification_repository.h"
#include "util/core_dumps.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/config_loader.h"
#include "util/counters.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/shared_memory.h"
#include "util/wakeup.h"

namespace phoneverify {
namespace {

namespace po = boost::program_options;

constexpr const char* kProgram = "phoneverify-fcgi";
constexpr int kExitUsage = 2;

struct Args {
  util::ConfigSource config;
  bool print_config = false;
};

// nullopt after --help or a usage error (`exit_code` tells which).
std::optional<Args> ParseArgs(int argc, char** argv, int* exit_code) {
  po::options_description options("Options");
  options.add_options()("config", po::value<std::string>(), "configuration file")(
      "print-config", "print the effective configuration (secrets masked) and exit")(
      "help", "show this help");
  po::variables_map vars;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vars);
    po::notify(vars);
  } catch (const po::error& e) {
    std::cerr << kProgram << ": " << e.what() << "\n" << options;
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  if (vars.count("help")) {
    std::cout << "Usage: " << kProgram << " [--config PATH] [--print-config]\n" << options;
    *exit_code = 0;
    return std::nullopt;
  }
  Args args;
  args.print_config = vars.count("print-config") > 0;
  args.config = util::ResolveConfigSource(vars.count("config") ? vars["config"].as<std::string>()
                                                               : std::string());
  return args;
}

bool SecretsPresent(const util::Config& config, std::ostream& err) {
  for (auto [key, bytes] : {std::pair{"otp_hash_key", &config.otp_hash_key_bytes},
                            std::pair{"outbox_key", &config.outbox_key_bytes},
                            std::pair{"session_key", &config.session_key_bytes}}) {
    if (bytes->size() != util::kKeyBytes) {
      err << kProgram << ": " << key
          << " is required (64 hex characters; `make run` generates it in " << config.var_dir
          << "/secrets.conf)\n";
      return false;
    }
  }
  return true;
}

// What the workers share read-write: a MAP_SHARED mapping the master creates before
// forking (lock-free atomics only). It outlives configuration reloads.
struct SharedState {
  std::atomic<int64_t> db_down_until{0};  // storage::Database's fail-fast latch
  storage::NodeBoard db_nodes;            // the db_hosts node in use (Database)
  util::CounterTable counters;            // GET /metrics, added to by every worker
};

// What a worker shares with its generation (built before forking).
struct Shared {
  const util::Config& config;
  const domain::OtpPolicy& policy;
  const domain::SessionPolicy& session_policy;
  const handlers::View& view;
  const http::ClientRules& clients;
  util::Logger& logger;
  SharedState& state;
};

// One worker: a database connection pool shared by its serving threads (thread-safe);
// each thread builds its own services, routes and App on its own stack frame.
int RunWorker(const Shared& shared, int listen_fd) {
  storage::Database database(shared.config, &shared.logger, &shared.state.db_down_until,
                             nullptr, &shared.state.db_nodes);
  storage::MysqlAccountRepository accounts(database);
  storage::MysqlLimitRepository limits(database);
  const util::WakeSender dispatcher(shared.config.dispatcher_socket);
  storage::MysqlOtpRepository otps(database, [&dispatcher] { dispatcher.Notify(); });
  storage::MysqlHealthCheck health(database);
  storage::MysqlSessionRepository sessions(database);
  storage::MysqlMetricsStore metrics(database);
  storage::MysqlApiClientRepository api_clients(database);
  util::SodiumRandom store_random;
  storage::MysqlVerificationStore verification_store(database, store_random);
  util::Counters counters(shared.state.counters);
  fcgi::AppBuilder build = [&](const fcgi::AppRunner& run) {
    util::SystemClock clock;
    util::SodiumRandom random;
    util::Argon2PasswordHasher hasher;
    domain::AccountService account_service(accounts, limits, shared.policy, clock, random,
                                           hasher);
    domain::VerificationService verification(otps, shared.policy, clock, random);
    domain::SessionService session_service(sessions, shared.session_policy, clock, random);
    handlers::PageHandlers pages(account_service, verification, session_service, shared.view,
                                 clock, shared.config.otp_length);
    domain::ApiVerificationService api_verification(verification_store, shared.policy, clock,
                                                    random);
    handlers::VerificationApi verification_api{api_verification, api_clients, clock,
                                               shared.config.ipv6_limit_prefix};
    handlers::Services services{account_service, verification, health};
    services.pages = &pages;
    services.verification_api = &verification_api;
    services.counters = &counters;
    services.metrics = &metrics;
    http::Router router(handlers::BuildRoutes(services));
    http::App app(router, shared.clients, clock, random, shared.logger, &counters);
    return run(app);
  };
  return fcgi::Serve(listen_fd, shared.config.worker_threads, build,
                     static_cast<size_t>(shared.config.max_body_bytes), shared.logger);
}

// Everything one generation of workers shares read-only, built from one configuration
// before forking. A reload (SIGHUP) builds the next one.
struct State {
  util::Config config;
  domain::OtpPolicy policy;
  domain::SessionPolicy session_policy;
  std::optional<handlers::View> view;  // always set once MakeState succeeded
  http::ClientRules clients;
};

// nullptr (the reason on `err`) when the configuration cannot serve.
std::shared_ptr<const State> MakeState(util::Config config, std::ostream& err) {
  if (!SecretsPresent(config, err)) return nullptr;
  auto proxies = http::TrustedProxies::Parse(config.trusted_proxies);
  if (!proxies.ok()) {
    err << kProgram << ": " << proxies.error().details << "\n";
    return nullptr;
  }
  auto view = handlers::View::Load(config.www_dir + "/templates",
                                   handlers::PageHandlers::Templates());
  if (!view.ok()) {
    err << kProgram << ": www_dir: " << view.error().details << "\n";
    return nullptr;
  }
  auto state = std::make_shared<State>();
  state->policy = domain::OtpPolicyFrom(config);
  state->session_policy = domain::SessionPolicyFrom(config);
  state->view = std::move(view).value();
  state->clients = http::ClientRules{std::move(proxies).value(), config.ipv6_limit_prefix,
                                     config.cookie_secure == "always"};
  state->config = std::move(config);
  return state;
}

fcgi::WorkerMain WorkerFor(std::shared_ptr<const State> state, util::Logger& logger,
                           SharedState& shared_state) {
  return [state, &logger, &shared_state](int listen_fd) {
    return RunWorker(Shared{state->config, state->policy, state->session_policy, *state->view,
                            state->clients, logger, shared_state},
                     listen_fd);
  };
}

// SIGHUP: reads the configuration again; an invalid one leaves the running workers alone.
std::optional<fcgi::Generation> Reload(const util::ConfigSource& source,
                                       const util::Config& started, util::Logger& logger,
                                       SharedState& shared_state) {
  std::ostringstream err;
  std::optional<util::Config> config = util::LoadProgramConfig(kProgram, source, err);
  std::shared_ptr<const State> state = config ? MakeState(std::move(*config), err) : nullptr;
  Json::Value fields(Json::objectValue);
  fields["messages"] = err.str();
  if (!state) {
    logger.Error("configuration reload failed; keeping the running configuration", fields);
    return std::nullopt;
  }
  if (!err.str().empty()) logger.Warn("configuration reload", fields);
  if (state->config.fcgi_socket != started.fcgi_socket ||
      state->config.fcgi_listen != started.fcgi_listen ||
      state->config.log_file != started.log_file) {
    logger.Warn("fcgi_socket, fcgi_listen and log_file changes take effect after a restart only");
  }
  return fcgi::Generation{state->config.workers, WorkerFor(state, logger, shared_state)};
}

int Main(int argc, char** argv) {
  // Before any secret is read.
  if (!util::DisableCoreDumps()) std::cerr << kProgram << ": warning: core dumps stay on\n";
  int exit_code = 0;
  std::optional<Args> args = ParseArgs(argc, argv, &exit_code);
  if (!args) return exit_code;
  std::optional<util::Config> config = util::LoadProgramConfig(kProgram, args->config, std::cerr);
  if (!config) return kExitUsage;
  if (args->print_config) {
    std::cout << util::DescribeConfig(*config);
    return 0;
  }
  // Spawned by mod_fcgid (listening socket on fd 0): it hands a process one request at
  // a time, so one serving thread is all such a worker can use.
  const bool inherited = fcgi::HasInheritedSocket();
  if (inherited) config->worker_threads = 1;
  std::shared_ptr<const State> state = MakeState(*config, std::cerr);
  if (!state) return kExitUsage;
  if (!util::InitCrypto()) {
    std::cerr << kProgram << ": libsodium failed to initialise\n";
    return 1;
  }
  util::Logger logger(config->log_file, "fcgi");
  auto memory = util::SharedMemory::Create(sizeof(SharedState));
  SharedState* shared_state = memory.ok() ? memory.value().Construct<SharedState>() : nullptr;
  if (shared_state == nullptr) {
    std::cerr << kProgram << ": cannot create the shared memory for the workers\n";
    return 1;
  }
  fcgi::WorkerMain worker = WorkerFor(state, logger, *shared_state);
  if (inherited) return fcgi::RunInherited(worker, logger);
  fcgi::ServerOptions options;
  options.socket_path = config->fcgi_socket;
  options.tcp_address = config->fcgi_listen;
  options.socket_group = config->fcgi_socket_group;
  options.workers = config->workers;
  const fcgi::Reload reload = [&] {
    return Reload(args->config, *config, logger, *shared_state);
  };
  return fcgi::RunMaster(options, worker, logger, reload);
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
