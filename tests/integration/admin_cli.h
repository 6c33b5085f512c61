// Running the real build/bin/phoneverify-admin against the integration stack (its
// configuration comes from the PHONEVERIFY_* environment the stack fixture sets).
#pragma once

#include <map>
#include <string>

namespace phoneverify::itest {

struct AdminRun {
  int status = -1;
  std::string out;
  std::string err;
  std::map<std::string, std::string> fields;  // "key: value" lines of out
};

// Runs phoneverify-admin with `args` (shell words, test-controlled) and `env`
// ("NAME=value ...") added to the stack's environment.
AdminRun Admin(const std::string& args, const std::string& env = "");

}  // namespace phoneverify::itest
