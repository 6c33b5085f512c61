// Whether a MariaDB server may serve the application (contract section 8): healthy when
// it is not a Galera node (no wsrep_on, or wsrep_on = OFF), or when it is one that is
// ready (wsrep_ready = ON) and Synced (wsrep_local_state_comment). A joining, donor or
// non-Primary node is not used.
//
// The pure half: kNodeStateSql is what a connection asks right after connecting, and
// ReadNodeState reads its answer. The query touches information_schema only, which a
// Galera node answers even when it is not ready (anything else would fail with 1047).
#pragma once

#include <string>
#include <vector>

#include "storage/connection.h"

namespace phoneverify::storage {

// Rows of (variable name, value): wsrep_on from the global variables, wsrep_ready and
// wsrep_local_state_comment from the global status. A server without wsrep support
// answers no rows.
inline constexpr char kNodeStateSql[] =
    "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES"
    " WHERE VARIABLE_NAME = 'WSREP_ON'"
    " UNION ALL"
    " SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
    " WHERE VARIABLE_NAME IN ('WSREP_READY', 'WSREP_LOCAL_STATE_COMMENT')";

struct NodeState {
  bool galera = false;       // wsrep_on = ON
  bool ready = false;        // wsrep_ready = ON
  std::string state;         // wsrep_local_state_comment, e.g. "Synced", "Donor/Desynced"

  bool healthy() const { return !galera || (ready && state == "Synced"); }
};

// Reads the rows of kNodeStateSql (names and ON/OFF in any case; unknown rows ignored).
NodeState ReadNodeState(const std::vector<Row>& rows);

}  // namespace phoneverify::storage
