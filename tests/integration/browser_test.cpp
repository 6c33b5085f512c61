// A real browser through the whole sign-up wall, in English and in Nepali: Debian's
// chromium (headless) driven by tests/browser/signup_flow.mjs (playwright-core from npm,
// installed into tests/browser/node_modules on first use; never a downloaded browser).
// The script reads the SMS from a file this test keeps filled with what the stack's fake
// Sparrow received for the script's phone. Screenshots go to
// build/test-reports/browser/<lang>-*.png.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "stack.h"

namespace phoneverify::itest {
namespace {

namespace fs = std::filesystem;

constexpr char kBrowserDir[] = "tests/browser";
constexpr char kScript[] = "tests/browser/signup_flow.mjs";
constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kOutDir[] = "build/test-reports/browser";
constexpr auto kFlowDeadline = std::chrono::seconds(180);

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// playwright-core in tests/browser/node_modules, installed from the committed lock file
// when missing or older than it. Empty on success, else what went wrong.
std::string EnsurePlaywright() {
  fs::create_directories(kOutDir);  // a clean clone has no report folder yet
  const fs::path installed = fs::path(kBrowserDir) / "node_modules/.package-lock.json";
  const fs::path lock = fs::path(kBrowserDir) / "package-lock.json";
  if (fs::exists(installed) && fs::exists(fs::path(kBrowserDir) / "node_modules/playwright-core") &&
      fs::last_write_time(installed) >= fs::last_write_time(lock)) {
    return "";
  }
  const std::string log = (fs::path(kOutDir) / "npm-install.log").string();
  const std::string command = std::string("cd ") + kBrowserDir +
                              " && timeout 300 npm install --no-audit --no-fund >'" +
                              fs::absolute(log).string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) return "npm install failed:\n" + ReadText(log);
  return "";
}

// Starts `argv` in its own process group with stdout and stderr into `log`.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  // Built before fork: the child of a threaded process may only make plain system calls.
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setpgid(0, 0);
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
  ::execvp(args[0], args.data());
  ::_exit(127);
}

// Every SMS the fake gateway received for `phone`, as JSON lines, written atomically.
void WriteSmsFile(const std::string& phone, const fs::path& file) {
  std::string lines;
  for (const auto& sms : Stack::Get().Sparrow().Requests()) {
    if (sms.to != phone) continue;
    Json::Value line;
    line["to"] = sms.to;
    line["text"] = sms.text;
    lines += ToJson(line) + "\n";
  }
  const fs::path tmp = file.string() + ".tmp";
  std::ofstream(tmp) << lines;
  fs::rename(tmp, file);
}

struct FlowResult {
  int exit_status = -1;  // -1: killed at the deadline
  std::string output;
};

// Runs the script for one language and keeps its SMS file fed until it exits.
FlowResult RunFlow(const std::string& lang) {
  fs::create_directories(kOutDir);
  const std::string phone = UniquePhone(lang == "ne" ? "986" : "984");
  const fs::path sms_file = fs::absolute(Stack::Get().var_dir()) / ("browser-" + lang + "-sms.jsonl");
  const std::string log = (fs::path(kOutDir) / (lang + "-node.log")).string();
  for (const char* shot : {"1-signup", "2-verify-error", "2-verify", "3-account"}) {
    fs::remove(fs::path(kOutDir) / (lang + "-" + shot + ".png"));
  }
  WriteSmsFile(phone, sms_file);
  const pid_t pid = Spawn({"node", kScript, "--base", "http://127.0.0.1:" + std::to_string(Stack::Get().port()),
                           "--sms", sms_file.string(), "--out", kOutDir, "--lang", lang,
                           "--username", UniqueName("chromium_" + lang), "--phone", phone},
                          log);
  BOOST_REQUIRE(pid > 0);
  FlowResult result;
  const auto deadline = std::chrono::steady_clock::now() + kFlowDeadline;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);  // node and the chromium it started
      ::waitpid(pid, &status, 0);
      result.output = ReadText(log);
      return result;
    }
    WriteSmsFile(phone, sms_file);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(-pid, SIGKILL);  // anything the script left behind
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.output = ReadText(log);
  return result;
}

void CheckFlow(const std::string& lang) {
  BOOST_REQUIRE_MESSAGE(::access(kChromium, X_OK) == 0,
                        kChromium << " is missing: src/ops/deps.sh installs Debian's chromium");
  const std::string problem = EnsurePlaywright();
  BOOST_REQUIRE_MESSAGE(problem.empty(), problem);
  const FlowResult flow = RunFlow(lang);
  BOOST_TEST_MESSAGE(flow.output);
  BOOST_TEST(flow.exit_status == 0, "browser flow (" << lang << ") failed:\n" << flow.output);
  for (const char* shot : {"1-signup", "2-verify-error", "2-verify", "3-account"}) {
    const fs::path png = fs::path(kOutDir) / (lang + "-" + shot + ".png");
    BOOST_TEST((fs::exists(png) && fs::file_size(png) > 1000), png.string() << " was not saved");
  }
}

BOOST_AUTO_TEST_SUITE(browser)

BOOST_AUTO_TEST_CASE(english_signup_verify_account_in_chromium) { CheckFlow("en"); }

BOOST_AUTO_TEST_CASE(nepali_signup_verify_account_in_chromium) { CheckFlow("ne"); }

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
