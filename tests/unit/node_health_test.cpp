// storage::ReadNodeState: which servers a db_hosts list may use, from the rows the
// wsrep query answers (no database).
#include "storage/node_health.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

namespace phoneverify::storage {
namespace {

std::vector<Row> Rows(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<Row> rows;
  for (const auto& [name, value] : pairs) {
    Row::Cell n;
    n.is_null = false;
    n.text = name;
    Row::Cell v;
    v.is_null = false;
    v.text = value;
    rows.emplace_back(std::vector<Row::Cell>{n, v});
  }
  return rows;
}

BOOST_AUTO_TEST_SUITE(node_health)

BOOST_AUTO_TEST_CASE(a_server_without_wsrep_is_healthy) {
  BOOST_TEST(ReadNodeState({}).healthy());
  BOOST_TEST(!ReadNodeState({}).galera);
  // MariaDB with wsrep built in but no provider: wsrep_on OFF, wsrep_ready OFF.
  const NodeState plain = ReadNodeState(Rows({{"WSREP_ON", "OFF"}, {"WSREP_READY", "OFF"}}));
  BOOST_TEST(!plain.galera);
  BOOST_TEST(plain.healthy());
}

BOOST_AUTO_TEST_CASE(a_galera_node_is_healthy_only_when_ready_and_synced) {
  const NodeState synced = ReadNodeState(Rows({{"WSREP_ON", "ON"},
                                               {"WSREP_READY", "ON"},
                                               {"WSREP_LOCAL_STATE_COMMENT", "Synced"}}));
  BOOST_TEST(synced.galera);
  BOOST_TEST(synced.healthy());
  for (const auto& [ready, state] : std::vector<std::pair<std::string, std::string>>{
           {"ON", "Donor/Desynced"},
           {"ON", "Joining"},
           {"ON", "Joined"},
           {"OFF", "Synced"},  // non-Primary
           {"OFF", "Initialized"}}) {
    BOOST_TEST_CONTEXT(ready << " " << state) {
      BOOST_TEST(!ReadNodeState(Rows({{"wsrep_on", "on"},
                                      {"wsrep_ready", ready},
                                      {"wsrep_local_state_comment", state}}))
                      .healthy());
    }
  }
  // A Galera node that does not say it is ready is not used.
  BOOST_TEST(!ReadNodeState(Rows({{"WSREP_ON", "ON"}})).healthy());
}

// Contract section 8: on these a host moves to the next node.
BOOST_AUTO_TEST_CASE(the_errors_that_leave_a_node) {
  for (unsigned err : {1047u, 1180u, 2002u, 2003u, 2006u, 2013u}) {
    BOOST_TEST_CONTEXT(err) { BOOST_TEST(IsNodeError(err)); }
  }
  for (unsigned err : {kErrDeadlock, kErrLockWaitTimeout, kErrDuplicateKey, 0u}) {
    BOOST_TEST_CONTEXT(err) { BOOST_TEST(!IsNodeError(err)); }
  }
  BOOST_TEST(!IsConnectionError(1180));  // one local server: a failed COMMIT, as before
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::storage
