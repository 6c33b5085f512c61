// Finding and loading the configuration the same way in every phoneverify binary
// (phoneverify-fcgi, phoneverify-dispatcher, phoneverify-admin), at start-up and again
// when a server reloads on SIGHUP.
//
// Where the file is, first match wins:
//   1. --config PATH                                   (must exist)
//   2. $PHONEVERIFY_CONFIG                             (must exist)
//   3. <tree>/conf/phoneverify.conf when the binary runs from <tree>/build*/bin/ (the
//      source tree); found from the binary's own path, never the working directory, so a
//      hostile directory cannot hand an installed binary its own Sparrow URL or token
//   4. /etc/phoneverify/phoneverify.conf               (an installed system)
//   otherwise no file: built-in defaults, the secrets file and the environment only.
// Then util::LoadConfig applies it: see config.h for the order of the sources.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "util/config.h"

namespace phoneverify::util {

inline constexpr char kSourceTreeConfig[] = "conf/phoneverify.conf";  // under the tree
inline constexpr char kSystemConfig[] = "/etc/phoneverify/phoneverify.conf";

struct ConfigSource {
  std::string path;       // "" when no file applies
  bool required = false;  // named explicitly: a missing file is an error
};

// The running binary's path (/proc/self/exe), "" when unknown.
std::string ProgramPath();

// `flag_path` is the --config value ("" when not given); `program_path` the binary's
// path (ProgramPath(); tests pass others).
ConfigSource ResolveConfigSource(const std::string& flag_path,
                                 const std::string& program_path = ProgramPath());

// The process environment as NAME=VALUE entries.
std::vector<std::string> ProcessEnvironment();

// Loads the configuration from `source` and the process environment. Warnings go to
// `err` as "<program>: warning: ..."; on an error, "<program>: <error naming the key>"
// and nullopt.
std::optional<Config> LoadProgramConfig(const std::string& program, const ConfigSource& source,
                                        std::ostream& err);

}  // namespace phoneverify::util
