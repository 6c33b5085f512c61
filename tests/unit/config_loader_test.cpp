#include "util/config_loader.h"

#include <stdlib.h>

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace phoneverify::util {
namespace {

// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      ::setenv(name_, old_.c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

BOOST_AUTO_TEST_SUITE(config_loader)

BOOST_AUTO_TEST_CASE(flag_wins_over_environment_and_both_are_required) {
  ScopedEnv env("PHONEVERIFY_CONFIG", "/from/env.conf");
  ConfigSource flag = ResolveConfigSource("/from/flag.conf");
  BOOST_TEST(flag.path == "/from/flag.conf");
  BOOST_TEST(flag.required);
  ConfigSource from_env = ResolveConfigSource("");
  BOOST_TEST(from_env.path == "/from/env.conf");
  BOOST_TEST(from_env.required);
}

BOOST_AUTO_TEST_CASE(without_flag_or_environment_a_found_default_is_optional) {
  ScopedEnv env("PHONEVERIFY_CONFIG", nullptr);
  ConfigSource source = ResolveConfigSource("");
  BOOST_TEST(!source.required);
  // This test binary runs from <tree>/build*/bin/, and <tree>/conf/phoneverify.conf exists.
  const std::filesystem::path tree =
      std::filesystem::path(ProgramPath()).parent_path().parent_path().parent_path();
  BOOST_TEST(source.path == (tree / kSourceTreeConfig).string());
}

// A directory with its own conf/phoneverify.conf (a hostile one, or just another tree):
// an installed binary started there must not read it.
BOOST_AUTO_TEST_CASE(an_installed_binary_ignores_the_working_directorys_conf) {
  namespace fs = std::filesystem;
  ScopedEnv env("PHONEVERIFY_CONFIG", nullptr);
  const fs::path dir = fs::temp_directory_path() / ("pv-config-" + std::to_string(::getpid()));
  fs::create_directories(dir / "conf");
  fs::create_directories(dir / "build/bin");
  std::ofstream(dir / "conf/phoneverify.conf") << "sparrow_url = http://evil.example/\n";
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir);
  ConfigSource installed = ResolveConfigSource("", "/usr/local/bin/phoneverify-fcgi");
  ConfigSource in_tree = ResolveConfigSource("", (dir / "build/bin/phoneverify-fcgi").string());
  fs::current_path(old_cwd);
  fs::remove_all(dir);
  BOOST_TEST(installed.path.find("conf/phoneverify.conf") == std::string::npos);
  BOOST_TEST((installed.path.empty() || installed.path == kSystemConfig));
  BOOST_TEST(in_tree.path == (dir / "conf/phoneverify.conf").string());
  BOOST_TEST(!in_tree.required);
}

BOOST_AUTO_TEST_CASE(errors_and_warnings_are_prefixed_with_the_program) {
  ScopedEnv bad("PHONEVERIFY_OTP_LENGTH", "99");
  std::ostringstream err;
  BOOST_TEST(!LoadProgramConfig("prog-x", {"", false}, err).has_value());
  BOOST_TEST(err.str().rfind("prog-x: ", 0) == 0u);
  BOOST_TEST(err.str().find("otp_length") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_missing_required_file_is_an_error) {
  std::ostringstream err;
  BOOST_TEST(!LoadProgramConfig("prog-y", {"/nonexistent/pv.conf", true}, err).has_value());
  BOOST_TEST(err.str().find("/nonexistent/pv.conf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unknown_variables_are_warnings) {
  ScopedEnv odd("PHONEVERIFY_NO_SUCH_KEY", "1");
  std::ostringstream err;
  auto config = LoadProgramConfig("prog-z", {"", false}, err);
  BOOST_TEST(config.has_value());
  BOOST_TEST(err.str().find("prog-z: warning: ") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
