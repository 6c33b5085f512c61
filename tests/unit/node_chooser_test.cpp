// storage::NodeChooser: which db_hosts node is in use, on a fake clock with scripted
// health answers (no database, no sleeping).
#include "storage/node_chooser.h"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "fakes/fake_transport.h"

namespace phoneverify::storage {
namespace {

constexpr int64_t kClaimMillis = 5000;
constexpr int kNone = -1;

// A board, a clock and a chooser over `count` nodes; the probe answers from `healthy`
// and records what it was asked.
struct Nodes {
  explicit Nodes(size_t count)
      : chooser(count, board, clock, kClaimMillis,
                [this](size_t from, size_t to) { changes.emplace_back(from, to); }) {}

  // The chosen node, or kNone.
  int Choose() {
    std::optional<size_t> node = chooser.Choose([this](size_t probe) {
      probed.push_back(probe);
      return healthy.count(probe) > 0;
    });
    return node ? static_cast<int>(*node) : kNone;
  }

  NodeBoard board;
  fakes::MillisClock clock;
  std::set<size_t> healthy = {0, 1, 2};
  std::vector<size_t> probed;
  std::vector<std::pair<size_t, size_t>> changes;
  NodeChooser chooser;
};

using Change = std::pair<size_t, size_t>;

BOOST_AUTO_TEST_SUITE(node_chooser)

BOOST_AUTO_TEST_CASE(the_first_node_is_used_while_it_answers) {
  Nodes nodes(3);
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(nodes.Choose() == 0);
    nodes.chooser.Answered(0);
    nodes.clock.AdvanceMs(700);
  }
  BOOST_TEST(nodes.probed.empty());  // on the first node nothing is probed
  BOOST_TEST(nodes.changes.empty());
}

BOOST_AUTO_TEST_CASE(a_failed_node_hands_over_to_the_next_and_is_held) {
  Nodes nodes(3);
  BOOST_TEST(nodes.Choose() == 0);
  nodes.chooser.Failed(0);
  BOOST_TEST(nodes.chooser.current() == 1u);
  BOOST_TEST((nodes.changes == std::vector<Change>{{0, 1}}));
  nodes.healthy.erase(0);
  // Within the hold node 0 is not even probed.
  for (int64_t t = 0; t < NodeChooser::kHoldMillis - 100; t += 300) {
    BOOST_TEST(nodes.Choose() == 1);
    nodes.chooser.Answered(1);
    nodes.clock.AdvanceMs(300);
  }
  BOOST_TEST(nodes.probed.empty());
}

BOOST_AUTO_TEST_CASE(the_first_node_takes_over_again_once_a_probe_finds_it_healthy) {
  Nodes nodes(3);
  nodes.chooser.Failed(0);
  nodes.healthy.erase(0);
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis);  // the hold is over: the next call probes
  BOOST_TEST(nodes.Choose() == 1);
  BOOST_TEST((nodes.probed == std::vector<size_t>{0}));
  // The failed probe holds node 0 again; a probe is also due at most once a second.
  nodes.clock.AdvanceMs(NodeChooser::kProbeEveryMillis);
  BOOST_TEST(nodes.Choose() == 1);
  BOOST_TEST(nodes.probed.size() == 1u);
  nodes.healthy.insert(0);
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis);
  BOOST_TEST(nodes.Choose() == 0);
  BOOST_TEST(nodes.probed.size() == 2u);
  BOOST_TEST((nodes.changes == std::vector<Change>{{0, 1}, {1, 0}}));
  BOOST_TEST(nodes.board.held_until[0].load() == 0);  // healthy: no longer held
}

BOOST_AUTO_TEST_CASE(a_probe_runs_at_most_once_a_second_across_choosers_of_one_board) {
  Nodes nodes(2);
  nodes.board.current.store(1);  // e.g. another process moved on; node 0 is not held
  nodes.healthy = {1};
  // A second chooser on the same board: another worker process of the host.
  NodeChooser other(2, nodes.board, nodes.clock, kClaimMillis);
  std::vector<size_t> other_probed;
  auto other_choose = [&] {
    std::optional<size_t> node = other.Choose([&](size_t probe) {
      other_probed.push_back(probe);
      return false;
    });
    return node ? static_cast<int>(*node) : kNone;
  };
  BOOST_TEST(nodes.Choose() == 1);
  BOOST_TEST(other_choose() == 1);
  BOOST_TEST((nodes.probed == std::vector<size_t>{0}));
  BOOST_TEST(other_probed.empty());  // the probe is due once for both
  nodes.clock.AdvanceMs(NodeChooser::kProbeEveryMillis);
  BOOST_TEST(other_choose() == 1);
  BOOST_TEST(other_probed.empty());  // due, but node 0 is held after its failed probe
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis);
  BOOST_TEST(other_choose() == 1);
  BOOST_TEST((other_probed == std::vector<size_t>{0}));
}

BOOST_AUTO_TEST_CASE(an_earlier_node_is_preferred_over_a_later_one_when_returning) {
  Nodes nodes(3);
  nodes.chooser.Failed(0);
  nodes.chooser.Failed(1);
  BOOST_TEST(nodes.chooser.current() == 2u);
  nodes.healthy = {1, 2};
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis);
  BOOST_TEST(nodes.Choose() == 1);
  BOOST_TEST((nodes.probed == std::vector<size_t>{0, 1}));  // 0 first, then 1
  BOOST_TEST((nodes.changes == std::vector<Change>{{0, 1}, {1, 2}, {2, 1}}));
}

BOOST_AUTO_TEST_CASE(the_failure_of_the_last_node_wraps_to_the_first_when_its_hold_is_over) {
  Nodes nodes(2);
  nodes.chooser.Failed(0);
  BOOST_TEST(nodes.chooser.current() == 1u);
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis);
  nodes.board.probe_at.store(nodes.clock.MonotonicMillis() + 60'000);  // no probe now
  nodes.chooser.Failed(1);
  BOOST_TEST(nodes.chooser.current() == 0u);
  BOOST_TEST(nodes.Choose() == 0);
}

BOOST_AUTO_TEST_CASE(with_every_node_held_calls_fail_fast_until_a_hold_ends) {
  Nodes nodes(3);
  nodes.healthy.clear();
  nodes.chooser.Failed(0);
  nodes.chooser.Failed(1);
  nodes.chooser.Failed(2);
  const size_t stuck = nodes.chooser.current();
  BOOST_TEST(stuck == 2u);  // nowhere to go: the last one stays named
  BOOST_TEST(nodes.Choose() == kNone);
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis - 1);
  BOOST_TEST(nodes.Choose() == kNone);
  BOOST_TEST(nodes.probed.empty());
  nodes.clock.AdvanceMs(1);
  // The holds are over: each caller claims one node to try it (the one in use first), and
  // the others keep away from a claimed node meanwhile.
  BOOST_TEST(nodes.Choose() == 2);
  BOOST_TEST(nodes.Choose() == 0);
  BOOST_TEST(nodes.Choose() == 1);
  BOOST_TEST(nodes.Choose() == kNone);
  BOOST_TEST(nodes.probed.empty());  // the probe was due a moment ago, not yet again
  // Node 1 answered, the others did not: node 1 serves.
  nodes.chooser.Failed(2);
  nodes.chooser.Failed(0);
  nodes.chooser.Answered(1);
  BOOST_TEST(nodes.Choose() == 1);
  BOOST_TEST(nodes.Choose() == 1);
}

BOOST_AUTO_TEST_CASE(a_node_whose_hold_ran_out_is_tried_by_one_caller_at_a_time) {
  Nodes nodes(1);  // one node listed: no other to move to
  nodes.chooser.Failed(0);
  BOOST_TEST(nodes.Choose() == kNone);
  nodes.clock.AdvanceMs(NodeChooser::kHoldMillis);
  BOOST_TEST(nodes.Choose() == 0);  // this caller tries it
  BOOST_TEST(nodes.Choose() == kNone);                 // the others fail fast
  nodes.clock.AdvanceMs(kClaimMillis);  // the trying caller vanished: the claim runs out
  BOOST_TEST(nodes.Choose() == 0);
  nodes.chooser.Failed(0);
  BOOST_TEST(nodes.Choose() == kNone);
}

BOOST_AUTO_TEST_CASE(a_failure_of_a_node_not_in_use_only_holds_it) {
  Nodes nodes(3);
  nodes.chooser.Failed(2);
  BOOST_TEST(nodes.chooser.current() == 0u);
  BOOST_TEST(nodes.changes.empty());
  nodes.chooser.Failed(0);
  BOOST_TEST(nodes.chooser.current() == 1u);  // 2 is held: skipped
  nodes.chooser.Failed(1);
  BOOST_TEST(nodes.chooser.current() == 1u);  // 0 and 2 are held: stays
}

BOOST_AUTO_TEST_CASE(an_index_beyond_a_shortened_list_reads_as_the_first_node) {
  Nodes nodes(2);
  nodes.board.current.store(7);  // left by a configuration with more nodes
  BOOST_TEST(nodes.chooser.current() == 0u);
  BOOST_TEST(nodes.Choose() == 0);
  BOOST_TEST(nodes.board.current.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::storage
