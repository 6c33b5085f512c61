#include "util/config_loader.h"

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
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
  // Tests run from the source tree, where conf/phoneverify.conf exists.
  BOOST_TEST(source.path == kSourceTreeConfig);
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
