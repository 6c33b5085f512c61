#include "util/config_loader.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>

extern char** environ;

namespace phoneverify::util {

namespace {

namespace fs = std::filesystem;

// <tree>/conf/phoneverify.conf for a binary at <tree>/build*/bin/NAME, else "".
std::string SourceTreeConfig(const std::string& program_path) {
  if (program_path.empty()) return "";
  const fs::path bin = fs::path(program_path).parent_path();
  const fs::path build = bin.parent_path();
  if (bin.filename() != "bin" || build.filename().string().rfind("build", 0) != 0) return "";
  return (build.parent_path() / kSourceTreeConfig).string();
}

}  // namespace

std::string ProgramPath() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? "" : self.string();
}

ConfigSource ResolveConfigSource(const std::string& flag_path,
                                 const std::string& program_path) {
  if (!flag_path.empty()) return {flag_path, true};
  if (const char* env = std::getenv("PHONEVERIFY_CONFIG"); env != nullptr && *env != '\0') {
    return {env, true};
  }
  const std::string tree_config = SourceTreeConfig(program_path);
  for (const std::string& candidate : {tree_config, std::string(kSystemConfig)}) {
    if (!candidate.empty() && ::access(candidate.c_str(), F_OK) == 0) return {candidate, false};
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
