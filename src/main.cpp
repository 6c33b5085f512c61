// phoneverify-fcgi: the FastCGI server (master + pre-forked workers). Wiring only.
//
//   phoneverify-fcgi [--config PATH] [--print-config] [--help]
//
// PATH defaults to $PHONEVERIFY_CONFIG, else conf/phoneverify.conf (optional then).
// When fd 0 is a listening socket (mod_fcgid, spawn-fcgi) a single worker serves it;
// otherwise the master opens config.fcgi_socket and supervises config.workers workers.
// Exit status: 0 after a clean stop, 2 on bad arguments, configuration or socket, 1 when
// crypto cannot start.
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "domain/account_service.h"
#include "domain/otp_policy.h"
#include "domain/verification_service.h"
#include "fcgi/server.h"
#include "handlers/routes.h"
#include "http/app.h"
#include "http/client_ip.h"
#include "http/router.h"
#include "storage/account_repository.h"
#include "storage/database.h"
#include "storage/health_check.h"
#include "storage/limit_repository.h"
#include "storage/otp_repository.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"
#include "util/wakeup.h"

extern char** environ;

namespace phoneverify {
namespace {

namespace po = boost::program_options;

constexpr const char* kProgram = "phoneverify-fcgi";
constexpr const char* kDefaultConfig = "conf/phoneverify.conf";
constexpr int kExitUsage = 2;

struct Args {
  std::string config_path;
  bool config_required = false;
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
  if (vars.count("config")) {
    args.config_path = vars["config"].as<std::string>();
    args.config_required = true;
  } else if (const char* env = std::getenv("PHONEVERIFY_CONFIG"); env && *env) {
    args.config_path = env;
    args.config_required = true;
  } else {
    args.config_path = kDefaultConfig;
  }
  return args;
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
    std::cerr << kProgram << ": " << loaded.error().details << "\n";
    return std::nullopt;
  }
  for (const auto& warning : loaded.value().warnings) {
    std::cerr << kProgram << ": warning: " << warning << "\n";
  }
  return std::move(loaded).value().config;
}

bool SecretsPresent(const util::Config& config) {
  for (auto [key, bytes] : {std::pair{"otp_hash_key", &config.otp_hash_key_bytes},
                            std::pair{"outbox_key", &config.outbox_key_bytes}}) {
    if (bytes->size() != util::kKeyBytes) {
      std::cerr << kProgram << ": " << key
                << " is required (64 hex characters; `make run` generates it in " << config.var_dir
                << "/secrets.conf)\n";
      return false;
    }
  }
  return true;
}

domain::OtpPolicy PolicyFrom(const util::Config& config) {
  domain::OtpPolicy policy;
  policy.otp_length = config.otp_length;
  policy.otp_ttl = config.otp_ttl;
  policy.otp_max_attempts = config.otp_max_attempts;
  policy.otp_resend_cooldown = config.otp_resend_cooldown;
  policy.otp_max_sends_per_day = config.otp_max_sends_per_day;
  policy.account_max_sends_per_day = config.account_max_sends_per_day;
  policy.ip_max_sends_per_hour = config.ip_max_sends_per_hour;
  policy.ip_max_signups_per_hour = config.ip_max_signups_per_hour;
  policy.login_max_failures = config.login_max_failures;
  policy.sms_daily_budget = config.sms_daily_budget;
  policy.allowed_prefixes = config.allowed_prefixes;
  policy.otp_hash_key = config.otp_hash_key_bytes;
  policy.outbox_key = config.outbox_key_bytes;
  return policy;
}

// What every worker shares read-only (built once, before forking).
struct Shared {
  const util::Config& config;
  const domain::OtpPolicy& policy;
  const http::TrustedProxies& proxies;
  util::Logger& logger;
};

// One worker: a database connection pool shared by its serving threads (thread-safe);
// each thread builds its own services, routes and App on its own stack frame.
int RunWorker(const Shared& shared, int listen_fd) {
  storage::Database database(shared.config, &shared.logger);
  storage::MysqlAccountRepository accounts(database);
  storage::MysqlLimitRepository limits(database);
  const util::WakeSender dispatcher(shared.config.dispatcher_socket);
  storage::MysqlOtpRepository otps(database, [&dispatcher] { dispatcher.Notify(); });
  storage::MysqlHealthCheck health(database);
  fcgi::AppBuilder build = [&](const fcgi::AppRunner& run) {
    util::SystemClock clock;
    util::SodiumRandom random;
    domain::AccountService account_service(accounts, limits, shared.policy, clock, random);
    domain::VerificationService verification(otps, shared.policy, clock, random);
    http::Router router(handlers::BuildRoutes({account_service, verification, health}));
    http::App app(router, shared.proxies, clock, random, shared.logger);
    return run(app);
  };
  return fcgi::Serve(listen_fd, shared.config.worker_threads, build,
                     static_cast<size_t>(shared.config.max_body_bytes), shared.logger);
}

int Main(int argc, char** argv) {
  int exit_code = 0;
  std::optional<Args> args = ParseArgs(argc, argv, &exit_code);
  if (!args) return exit_code;
  std::optional<util::Config> config = LoadConfiguration(*args);
  if (!config) return kExitUsage;
  if (args->print_config) {
    std::cout << util::DescribeConfig(*config);
    return 0;
  }
  if (!SecretsPresent(*config)) return kExitUsage;
  auto proxies = http::TrustedProxies::Parse(config->trusted_proxies);
  if (!proxies.ok()) {
    std::cerr << kProgram << ": " << proxies.error().details << "\n";
    return kExitUsage;
  }
  if (!util::InitCrypto()) {
    std::cerr << kProgram << ": libsodium failed to initialise\n";
    return 1;
  }
  util::Logger logger(config->log_file, "fcgi");
  domain::OtpPolicy policy = PolicyFrom(*config);
  Shared shared{*config, policy, proxies.value(), logger};
  fcgi::WorkerMain worker = [&shared](int listen_fd) { return RunWorker(shared, listen_fd); };
  if (fcgi::HasInheritedSocket()) return fcgi::RunInherited(worker, logger);
  fcgi::ServerOptions options;
  options.socket_path = config->fcgi_socket;
  options.workers = config->workers;
  return fcgi::RunMaster(options, worker, logger);
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
