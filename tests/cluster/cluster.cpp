#include "cluster/cluster.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace phoneverify::ctest {
namespace {

Cluster* g_cluster = nullptr;

constexpr char kVarDir[] = "var/ctest";
constexpr char kGatewayHost[] = "10.77.0.1";  // the root namespace, on the cluster's bridge
constexpr char kToken[] = "ctest-sparrow-token-7d2a";

void Set(const char* key, const std::string& value) { ::setenv(key, value.c_str(), 1); }

int Shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The configuration every host gets (the environment wins over conf/phoneverify.conf and
// reaches the hosts through cluster.sh). Limits that would stop a load of many sends from
// one client address are off; the ones the tests check (cooldown, attempts) stay on.
void Configure(int http_port, int gateway_port) {
  Set("PHONEVERIFY_VAR_DIR", kVarDir);
  Set("PHONEVERIFY_HTTP_PORT", std::to_string(http_port));
  Set("PHONEVERIFY_WORKERS", "2");
  Set("PHONEVERIFY_SMS_BACKEND", "sparrow");
  Set("PHONEVERIFY_SPARROW_URL",
      "http://" + std::string(kGatewayHost) + ":" + std::to_string(gateway_port) + "/v2/sms/");
  Set("PHONEVERIFY_SPARROW_TOKEN", kToken);
  Set("PHONEVERIFY_SPARROW_FROM", "ctest");
  // A dispatcher killed with claims in flight hands them on after its lease (2 x timeout
  // + 5 s): short, so the test does not wait long for them.
  Set("PHONEVERIFY_SPARROW_TIMEOUT", "4");
  for (const char* off :
       {"PHONEVERIFY_IP_MAX_SENDS_PER_HOUR", "PHONEVERIFY_IP_MAX_SIGNUPS_PER_HOUR",
        "PHONEVERIFY_ACCOUNT_MAX_SENDS_PER_DAY", "PHONEVERIFY_SMS_DAILY_BUDGET",
        "PHONEVERIFY_PREFIX_MAX_SENDS_PER_HOUR", "PHONEVERIFY_LOGIN_MAX_FAILURES_PER_IP"}) {
    Set(off, "0");
  }
}

}  // namespace

Cluster& Cluster::Get() {
  if (g_cluster == nullptr) throw std::logic_error("the cluster fixture is not running");
  return *g_cluster;
}

Cluster::Cluster() {
  if (::geteuid() != 0) throw std::runtime_error("the cluster tests need root (ip netns)");
  http_port_ = 18400 + static_cast<int>(::getpid() % 400) * 2;
  const int gateway_port = http_port_ + 1;
  Configure(http_port_, gateway_port);
  Shell("src/ops/cluster.sh stop >/dev/null 2>&1");  // what a killed earlier run left
  std::filesystem::remove_all(std::string(kVarDir) + "/cluster");  // a fresh cluster
  if (Shell("src/ops/cluster.sh start") != 0) {
    Shell("src/ops/cluster.sh stop");
    throw std::runtime_error("src/ops/cluster.sh start failed");
  }
  // The bridge exists now (cluster.sh checked that the hosts route over it): the gateway
  // can listen on the root namespace's side of it.
  fakes::FakeSparrow::Options options;
  options.port = gateway_port;
  options.expected_token = kToken;
  options.host = kGatewayHost;
  sparrow_ = std::make_unique<fakes::FakeSparrow>(options);
  if (!sparrow_->ok()) {
    Shell("src/ops/cluster.sh stop");
    throw std::runtime_error("fake sparrow: " + sparrow_->error());
  }
  g_cluster = this;
}

Cluster::~Cluster() {
  g_cluster = nullptr;
  if (Shell("src/ops/cluster.sh stop") != 0) std::cerr << "cluster.sh stop failed\n";
  sparrow_.reset();
}

bool Cluster::Ops(const std::string& action, const std::string& host) const {
  return Shell("src/ops/cluster.sh " + action + " " + host) == 0;
}

BOOST_TEST_GLOBAL_FIXTURE(Cluster);

}  // namespace phoneverify::ctest
