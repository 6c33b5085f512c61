// phoneverify-admin: the operator's command-line tool. Commands are a table (commands.cpp);
// each has --help, reads the same configuration as the servers and reaches the database
// only through storage::AdminRepository (API clients: storage::MysqlApiClientRepository).
//
//   phoneverify-admin [--config PATH] COMMAND [OPTIONS] [ARGS]
//
// Exit status of every command:
//   0  done
//   1  refused or nothing to do: no such account or message, not applicable, Sparrow
//      refused the request
//   2  bad usage or configuration
//   3  the database or Sparrow could not be reached (or failed): try again later
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "domain/webhook_events.h"
#include "storage/admin_repository.h"
#include "storage/api_client_repository.h"
#include "util/clock.h"
#include "util/config.h"
#include "util/random.h"

namespace phoneverify::admin {

enum ExitCode { kExitOk = 0, kExitRefused = 1, kExitUsage = 2, kExitUnavailable = 3 };

// What a command works with; main owns all of it.
struct Context {
  const util::Config& config;
  storage::AdminRepository& repo;
  const util::Clock& clock;
  std::ostream& out;
  std::ostream& err;
  storage::MysqlApiClientRepository& clients;
  util::Random& random;  // API keys and webhook secrets
  domain::WebhookEventStore* webhooks = nullptr;  // `client show`'s delivery figures
};

using Vars = boost::program_options::variables_map;

struct Command {
  const char* name;
  const char* arguments;  // synopsis after the name, e.g. "ACCOUNT"
  const char* summary;    // one line
  const char* details;    // paragraphs for --help
  // Adds the command's options and positional arguments.
  std::function<void(boost::program_options::options_description&,
                     boost::program_options::positional_options_description&)>
      declare;
  std::function<int(Context&, const Vars&)> run;
};

// Every command, in the order --help lists them.
const std::vector<Command>& Commands();

struct Invocation {
  std::string config_path;  // --config ("" when not given)
  const Command* command = nullptr;
  Vars vars;
};

// Reads `args` (without the program name). nullopt when there is nothing to run: help
// was printed to `out` (*exit_code 0) or a usage error to `err` (*exit_code 2).
std::optional<Invocation> ParseCommandLine(const std::vector<std::string>& args, std::ostream& out,
                                           std::ostream& err, int* exit_code);

}  // namespace phoneverify::admin
