#include "storage/node_health.h"

#include <strings.h>

namespace phoneverify::storage {
namespace {

bool Is(const std::string& text, const char* word) {
  return ::strcasecmp(text.c_str(), word) == 0;
}

}  // namespace

NodeState ReadNodeState(const std::vector<Row>& rows) {
  NodeState node;
  for (const Row& row : rows) {
    if (row.size() < 2 || row.IsNull(0) || row.IsNull(1)) continue;
    const std::string& name = row.Text(0);
    const std::string& value = row.Text(1);
    if (Is(name, "wsrep_on")) node.galera = Is(value, "ON");
    if (Is(name, "wsrep_ready")) node.ready = Is(value, "ON");
    if (Is(name, "wsrep_local_state_comment")) node.state = value;
  }
  return node;
}

}  // namespace phoneverify::storage
