// phoneverify-admin: the operator's command-line tool. Wiring only; the commands live in
// src/admin/ (see admin/admin.h for the usage and exit status).
#include <iostream>
#include <string>
#include <vector>

#include "admin/admin.h"
#include "sms/curl_global.h"
#include "storage/admin_repository.h"
#include "storage/api_client_repository.h"
#include "storage/webhook_repository.h"
#include "storage/database.h"
#include "util/core_dumps.h"
#include "util/clock.h"
#include "util/config_loader.h"
#include "util/crypto.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify {
namespace {

constexpr const char* kProgram = "phoneverify-admin";

int Main(int argc, char** argv) {
  // Before any secret is read.
  if (!util::DisableCoreDumps()) std::cerr << kProgram << ": warning: core dumps stay on\n";
  const std::vector<std::string> args(argv + 1, argv + argc);
  int exit_code = admin::kExitOk;
  auto invocation = admin::ParseCommandLine(args, std::cout, std::cerr, &exit_code);
  if (!invocation) return exit_code;
  const auto config = util::LoadProgramConfig(
      kProgram, util::ResolveConfigSource(invocation->config_path), std::cerr);
  if (!config) return admin::kExitUsage;
  if (!util::InitCrypto()) {  // `client` makes keys and seals secrets
    std::cerr << kProgram << ": libsodium failed to start\n";
    return admin::kExitUnavailable;
  }
  sms::CurlGlobal curl;  // for `credit`; cheap otherwise
  if (!curl.ok()) {
    std::cerr << kProgram << ": curl_global_init failed\n";
    return admin::kExitUnavailable;
  }
  // Storage failures also go to stderr as JSON lines, with the server's error number.
  util::Logger logger("", "admin");
  storage::Database database(*config, &logger);
  storage::AdminRepository repo(database);
  storage::MysqlApiClientRepository clients(database);
  util::SystemClock clock;
  util::SodiumRandom random;
  storage::MysqlWebhookRepository webhooks(database);
  admin::Context context{*config, repo, clock, std::cout, std::cerr, clients, random, &webhooks};
  const int rc = invocation->command->run(context, invocation->vars);
  std::cout.flush();
  return rc;
}

}  // namespace
}  // namespace phoneverify

int main(int argc, char** argv) { return phoneverify::Main(argc, argv); }
