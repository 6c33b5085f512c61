#include "admin_cli.h"

#include <sys/wait.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "stack.h"

namespace phoneverify::itest {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> Fields(const std::string& out) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const size_t colon = line.find(": ");
    if (colon != std::string::npos) fields.emplace(line.substr(0, colon), line.substr(colon + 2));
  }
  return fields;
}

}  // namespace

AdminRun Admin(const std::string& args, const std::string& env) {
  const std::string dir = Stack::Get().var_dir();
  const std::string command = (env.empty() ? "" : "env " + env + " ") +
                              "build/bin/phoneverify-admin " + args + " >'" + dir +
                              "/client-admin.out' 2>'" + dir + "/client-admin.err'";
  const int rc = std::system(command.c_str());
  AdminRun run;
  run.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  run.out = ReadFile(dir + "/client-admin.out");
  run.err = ReadFile(dir + "/client-admin.err");
  run.fields = Fields(run.out);
  BOOST_TEST_MESSAGE("phoneverify-admin " << args << " -> " << run.status << "\n"
                                          << run.out << run.err);
  return run;
}

}  // namespace phoneverify::itest
