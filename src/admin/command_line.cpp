#include <algorithm>
#include <ostream>

#include "admin/admin.h"

namespace phoneverify::admin {
namespace {

namespace po = boost::program_options;

constexpr const char* kProgram = "phoneverify-admin";

constexpr const char* kExitStatus =
    "Exit status: 0 done; 1 refused or nothing to do (no such account or message, not\n"
    "applicable, Sparrow refused); 2 bad usage or configuration; 3 the database or Sparrow\n"
    "could not be reached.\n";

void PrintOverview(std::ostream& out) {
  out << "Usage: " << kProgram << " [--config PATH] COMMAND [OPTIONS] [ARGS]\n"
      << "       " << kProgram << " COMMAND --help\n\n"
      << "Operates a phoneverify installation from the command line: the same configuration\n"
      << "as phoneverify-fcgi (--config PATH, else $PHONEVERIFY_CONFIG, else\n"
      << "conf/phoneverify.conf or /etc/phoneverify/phoneverify.conf; PHONEVERIFY_* variables\n"
      << "override). Run it as the user that owns the secrets file (<var_dir>/secrets.conf).\n\n"
      << "Commands:\n";
  for (const Command& command : Commands()) {
    std::string name = command.name;
    name.resize(std::max<size_t>(name.size() + 1, 12), ' ');
    out << "  " << name << command.summary << "\n";
  }
  out << "\n" << kExitStatus;
}

po::options_description OptionsOf(const Command& command,
                                  po::positional_options_description& positional) {
  po::options_description options("Options");
  options.add_options()("help,h", "show this help");
  command.declare(options, positional);
  return options;
}

void PrintCommandHelp(const Command& command, std::ostream& out) {
  po::positional_options_description positional;
  const po::options_description options = OptionsOf(command, positional);
  out << "Usage: " << kProgram << " [--config PATH] " << command.name << " " << command.arguments
      << "\n\n"
      << command.summary << ".\n\n"
      << command.details << "\n"
      << options << "\n"
      << kExitStatus;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& command : Commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

// Global options before the command: --config PATH, --help.
struct Global {
  std::string config_path;
  bool help = false;
  size_t next = 0;  // index of the command name
  std::string error;
};

Global ParseGlobal(const std::vector<std::string>& args) {
  Global global;
  size_t i = 0;
  for (; i < args.size() && args[i].rfind("-", 0) == 0; ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      global.help = true;
    } else if (args[i] == "--config" && i + 1 < args.size()) {
      global.config_path = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      global.config_path = args[i].substr(9);
    } else {
      global.error = "unknown option '" + args[i] + "' (options of a command go after it)";
      break;
    }
  }
  global.next = i;
  return global;
}

int UsageError(std::ostream& err, const std::string& message) {
  err << kProgram << ": " << message << "\n"
      << "Try '" << kProgram << " --help'.\n";
  return kExitUsage;
}

// "--name=" becomes "--name" "": boost refuses an empty value after '=', and an empty
// value means something (e.g. `client update --brand=` unsets the brand).
std::vector<std::string> SplitEmptyValues(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const std::string& arg : args) {
    if (arg.size() > 3 && arg.rfind("--", 0) == 0 && arg.back() == '=' &&
        arg.find('=') == arg.size() - 1) {
      out.push_back(arg.substr(0, arg.size() - 1));
      out.emplace_back();
    } else {
      out.push_back(arg);
    }
  }
  return out;
}

// Parses the command's own arguments; nullopt after --help or an error.
std::optional<Vars> ParseCommandArgs(const Command& command, const std::vector<std::string>& args,
                                     std::ostream& out, std::ostream& err, int* exit_code) {
  po::positional_options_description positional;
  const po::options_description options = OptionsOf(command, positional);
  Vars vars;
  try {
    po::store(po::command_line_parser(SplitEmptyValues(args))
                  .options(options)
                  .positional(positional)
                  .run(),
              vars);
    if (vars.count("help")) {
      PrintCommandHelp(command, out);
      *exit_code = kExitOk;
      return std::nullopt;
    }
    po::notify(vars);
  } catch (const po::error& e) {
    err << kProgram << " " << command.name << ": " << e.what() << "\n"
        << "Try '" << kProgram << " " << command.name << " --help'.\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return vars;
}

}  // namespace

std::optional<Invocation> ParseCommandLine(const std::vector<std::string>& args, std::ostream& out,
                                           std::ostream& err, int* exit_code) {
  const Global global = ParseGlobal(args);
  if (!global.error.empty()) {
    *exit_code = UsageError(err, global.error);
    return std::nullopt;
  }
  if (global.help || global.next >= args.size()) {
    PrintOverview(global.help ? out : err);
    *exit_code = global.help ? kExitOk : kExitUsage;
    return std::nullopt;
  }
  std::string name = args[global.next];
  std::vector<std::string> rest(args.begin() + static_cast<long>(global.next) + 1, args.end());
  if (name == "help") {  // "help COMMAND" is "COMMAND --help"
    if (rest.empty()) {
      PrintOverview(out);
      *exit_code = kExitOk;
      return std::nullopt;
    }
    name = rest[0];
    rest = {"--help"};
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    *exit_code = UsageError(err, "unknown command '" + name + "'");
    return std::nullopt;
  }
  std::optional<Vars> vars = ParseCommandArgs(*command, rest, out, err, exit_code);
  if (!vars) return std::nullopt;
  return Invocation{global.config_path, command, std::move(*vars)};
}

}  // namespace phoneverify::admin
