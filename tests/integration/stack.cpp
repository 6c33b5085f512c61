#include "stack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace phoneverify::itest {
namespace {

Stack* g_stack = nullptr;  // set by the global fixture, for the test cases only

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string EnvName(const std::string& key) {
  std::string name = "PHONEVERIFY_";
  for (char c : key) name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return name;
}

}  // namespace

Stack& Stack::Get() {
  if (!g_stack) throw std::logic_error("the stack fixture is not running");
  return *g_stack;
}

Stack::Stack() : sparrow_(fakes::FakeSparrow::Options{0, true, "itest-sparrow-token-5c1f", {}}) {
  if (!sparrow_.ok()) throw std::runtime_error("fake sparrow: " + sparrow_.error());
  // PHONEVERIFY_TEST_FRONT: nginx (default), apache (mod_proxy_fcgi) or apache-fcgid
  // (mod_fcgid spawns phoneverify-fcgi); each front gets its own var dir.
  const char* front = std::getenv("PHONEVERIFY_TEST_FRONT");
  front_ = front && *front ? front : "nginx";
  const char* var = std::getenv("PHONEVERIFY_TEST_VAR_DIR");
  var_dir_ = var ? var : front_ == "nginx" ? "var/itest" : "var/itest-" + front_;
  port_ = FreeLoopbackPort();
  defaults_ = {
      {"var_dir", var_dir_},
      {"http_front", front_},
      {"http_port", std::to_string(port_)},
      {"sms_backend", "sparrow"},
      {"sparrow_url", sparrow_.Url()},
      {"sparrow_token", "itest-sparrow-token-5c1f"},
      {"sparrow_from", "PhoneVerify"},
      {"workers", "4"},
      {"otp_resend_cooldown", "2"},
      {"ip_max_sends_per_hour", "0"},
      {"ip_max_signups_per_hour", "0"},
      {"login_max_failures_per_ip", "0"},  // every test logs in from 127.0.0.1
      {"sms_daily_budget", "0"},
      {"prefix_max_sends_per_hour", "0"},  // test phones share one number block
      {"dispatcher_poll_ms", "100"},
  };
  // A fresh database every run: tests assume no earlier data.
  if (std::system(("rm -rf '" + var_dir_ + "' && mkdir -p '" + var_dir_ + "'").c_str()) != 0) {
    throw std::runtime_error("cannot clear " + var_dir_);
  }
  ApplyEnvironment({});
  std::cout << "integration stack (" << front_ << "): http://127.0.0.1:" << port_ << " var_dir "
            << var_dir_
            << " fake sparrow " << sparrow_.Url() << std::endl;
  if (StackCommand("start") != 0) {
    StackCommand("stop");
    throw std::runtime_error("src/ops/stack.sh start failed");
  }
  g_stack = this;
}

Stack::~Stack() {
  g_stack = nullptr;
  StackCommand("stop");
}

void Stack::ApplyEnvironment(const std::map<std::string, std::string>& overrides) const {
  std::map<std::string, std::string> values = defaults_;
  for (const auto& [k, v] : overrides) values[k] = v;
  // Overrides from an earlier RestartApp must not linger.
  for (const auto& key : touched_) {
    if (!values.count(key)) ::unsetenv(EnvName(key).c_str());
  }
  for (const auto& [k, v] : values) {
    ::setenv(EnvName(k).c_str(), v.c_str(), 1);
    touched_.insert(k);
  }
}

void Stack::RestartApp(const std::map<std::string, std::string>& overrides) {
  ApplyEnvironment(overrides);
  BOOST_REQUIRE_EQUAL(StackCommand("restart-app"), 0);
}

void Stack::RestartAll() {
  ApplyEnvironment({});
  BOOST_REQUIRE_EQUAL(StackCommand("stop"), 0);
  BOOST_REQUIRE_EQUAL(StackCommand("start"), 0);
}

int Stack::StackCommand(const std::string& command) const {
  const std::string line = "src/ops/stack.sh " + command + " >> '" + var_dir_ +
                           "/stack.log' 2>&1";
  int rc = std::system(line.c_str());
  if (rc != 0) {
    std::cout << "stack.sh " << command << " failed (" << rc << "); tail of " << var_dir_
              << "/stack.log:" << std::endl;
    int ignored = std::system(("tail -n 40 '" + var_dir_ + "/stack.log'").c_str());
    (void)ignored;
  }
  return rc == 0 ? 0 : 1;
}

BOOST_TEST_GLOBAL_FIXTURE(Stack);

}  // namespace phoneverify::itest
