// The cluster the tests of build/bin/cluster_tests run against: src/ops/cluster.sh start
// (three Galera nodes and two application hosts in network namespaces, nginx on
// 127.0.0.1), with a fake Sparrow on 10.77.0.1, the root namespace's address on the
// cluster's bridge. Started once for the whole binary (a global fixture), stopped at the
// end; the namespaces, links and bridge go with it.
#pragma once

#include <memory>
#include <string>

#include "fakes/fake_sparrow.h"
#include "integration/http_client.h"

namespace phoneverify::ctest {

class Cluster {
 public:
  Cluster();
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  static Cluster& Get();

  int http_port() const { return http_port_; }
  fakes::FakeSparrow& sparrow() { return *sparrow_; }
  itest::HttpClient client() const { return itest::HttpClient(http_port_); }

  // src/ops/cluster.sh ACTION HOST (kill, restart, partition, heal, wait); true on exit 0.
  bool Ops(const std::string& action, const std::string& host) const;

 private:
  int http_port_ = 0;
  std::unique_ptr<fakes::FakeSparrow> sparrow_;
};

}  // namespace phoneverify::ctest
