#include "test_db.h"

#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace phoneverify::itest {

util::Config IntegrationDbConfig() {
  std::vector<std::string> env;
  bool has_var_dir = false;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
    has_var_dir = has_var_dir || env.back().rfind("PHONEVERIFY_VAR_DIR=", 0) == 0;
  }
  if (!has_var_dir) env.emplace_back("PHONEVERIFY_VAR_DIR=var/test");
  auto loaded = util::LoadConfig("conf/phoneverify.conf", false, env);
  if (!loaded.ok()) {
    throw std::runtime_error("integration db config: " + loaded.error().details);
  }
  return loaded.value().config;
}

}  // namespace phoneverify::itest
