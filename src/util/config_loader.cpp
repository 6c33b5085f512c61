#include "util/config_loader.h"

#include <unistd.h>

#include <cstdlib>
#include <ostream>

extern char** environ;

namespace phoneverify::util {

ConfigSource ResolveConfigSource(const std::string& flag_path) {
  if (!flag_path.empty()) return {flag_path, true};
  if (const char* env = std::getenv("PHONEVERIFY_CONFIG"); env != nullptr && *env != '\0') {
    return {env, true};
  }
  for (const char* candidate : {kSourceTreeConfig, kSystemConfig}) {
    if (::access(candidate, F_OK) == 0) return {candidate, false};
  }
  return {"", false};
}

std::vector<std::string> ProcessEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  return env;
}

std::optional<Config> LoadProgramConfig(const std::string& program, const ConfigSource& source,
                                        std::ostream& err) {
  auto loaded = LoadConfig(source.path, source.required, ProcessEnvironment());
  if (!loaded.ok()) {
    err << program << ": " << loaded.error().details << "\n";
    return std::nullopt;
  }
  for (const auto& warning : loaded.value().warnings) {
    err << program << ": warning: " << warning << "\n";
  }
  return std::move(loaded).value().config;
}

}  // namespace phoneverify::util
