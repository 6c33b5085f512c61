// The real stack for integration tests: a fresh MariaDB, nginx (or Apache: see
// PHONEVERIFY_TEST_FRONT in stack.cpp), phoneverify-fcgi and
// phoneverify-dispatcher started through src/ops/stack.sh with their own var dir and port,
// the SMS backend pointed at an in-process FakeSparrow on 127.0.0.1. One instance for the
// whole test binary (a Boost.Test global fixture); tests reach it through Stack::Get().
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "fakes/fake_sparrow.h"
#include "http_client.h"

namespace phoneverify::itest {

class Stack {
 public:
  Stack();
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  static Stack& Get();

  HttpClient Client() const { return HttpClient(port_); }
  fakes::FakeSparrow& Sparrow() { return sparrow_; }
  int port() const { return port_; }
  const std::string& var_dir() const { return var_dir_; }
  // The web server in front: "nginx", "apache" or "apache-fcgid" (PHONEVERIFY_TEST_FRONT).
  const std::string& front() const { return front_; }

  // Restarts phoneverify-fcgi and the dispatcher with these config overrides on top of
  // the test defaults (keys as in conf/phoneverify.conf). An empty map restores defaults.
  void RestartApp(const std::map<std::string, std::string>& overrides);
  // Stops and starts everything, database included (data must survive).
  void RestartAll();

  // Runs `src/ops/stack.sh <command>`; returns its exit status.
  int StackCommand(const std::string& command) const;

 private:
  void ApplyEnvironment(const std::map<std::string, std::string>& overrides) const;

  fakes::FakeSparrow sparrow_;
  int port_ = 0;
  std::string front_;
  std::string var_dir_;
  std::map<std::string, std::string> defaults_;
  mutable std::set<std::string> touched_;
};

// Restarts the app with overrides for one scope, restoring the defaults afterwards.
using Overrides = std::map<std::string, std::string>;

class ScopedAppConfig {
 public:
  explicit ScopedAppConfig(const std::map<std::string, std::string>& overrides) {
    Stack::Get().RestartApp(overrides);
  }
  ~ScopedAppConfig() { Stack::Get().RestartApp({}); }
  ScopedAppConfig(const ScopedAppConfig&) = delete;
  ScopedAppConfig& operator=(const ScopedAppConfig&) = delete;
};

}  // namespace phoneverify::itest
