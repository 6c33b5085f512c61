// Which node of db_hosts (contract section 8) a host reads and writes through.
//
// Every application host uses the first healthy node of the list, so that writes meet on
// one node while it lives (fewer Galera certification conflicts). The rules:
//   - the node in use stays in use until it fails: a connection-class error on it holds
//     it for kHoldMillis, and the next node after it (in list order, wrapping) that is not
//     held takes over;
//   - while the node in use is not the first, at most once per kProbeEveryMillis the
//     earlier nodes are probed in order (a short connect and the wsrep health check) and
//     the first healthy one takes over again; a failed probe holds that node;
//   - a node whose hold is over is tried by one caller only (it claims the node for
//     claim_millis, like the probe of the down latch): the others keep away until that
//     caller reports Answered or Failed;
//   - when every node is held, Choose answers nullopt: the database is down and calls
//     fail fast until a hold ends.
// The choice lives in a NodeBoard that every process of a host may share (a MAP_SHARED
// mapping the FastCGI master creates before forking), so one worker's discovery serves
// them all. Pure logic: the clock and the probe are injected, no I/O of its own.
// Thread-safe (lock-free atomics only: a process may die anywhere).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "util/clock.h"
#include "util/config.h"

namespace phoneverify::storage {

// What the processes of one host share about the nodes. Zero-filled is the start state:
// node 0 in use, no node held, a probe due. Plain data of lock-free atomics, so it may
// live in util::SharedMemory. A configuration reload may change the list under it: a
// stale index is read as node 0, stale holds simply run out.
struct NodeBoard {
  std::atomic<int32_t> current{0};   // index of the node in use
  std::atomic<int64_t> probe_at{0};  // MonotonicMillis before which no return probe runs
  // Per node: MonotonicMillis until which it is held (failed, or claimed by a caller
  // trying it); 0 when not held.
  std::array<std::atomic<int64_t>, util::kMaxDbNodes> held_until{};
};

class NodeChooser {
 public:
  static constexpr int64_t kHoldMillis = 2000;
  static constexpr int64_t kProbeEveryMillis = 1000;

  // True when the node answers and is healthy (connects, Synced or not Galera).
  using Probe = std::function<bool(size_t node)>;
  // Called by the caller that moved the node in use.
  using OnChange = std::function<void(size_t from, size_t to)>;

  // `node_count` in 1..util::kMaxDbNodes. `board` and `clock` (not owned) must outlive
  // the chooser. `claim_millis`: how long one try of a node may take (connect plus the
  // work: db_timeout), during which no one else tries a node whose hold had run out.
  NodeChooser(size_t node_count, NodeBoard& board, const util::Clock& clock,
              int64_t claim_millis, OnChange on_change = {});

  // The node to use now, or nullopt when every node is held. May run `probe` on earlier
  // nodes (see above) before answering.
  std::optional<size_t> Choose(const Probe& probe);

  // `node` failed with a connection-class error (or is not healthy): it is held for
  // kHoldMillis, and if it was in use the next node not held takes over.
  void Failed(size_t node);
  // `node` answered: its hold (or claim) ends.
  void Answered(size_t node);

  // The node in use (as Choose last left it; no probing, no claiming).
  size_t current() const;

 private:
  bool Held(size_t node, int64_t now) const;
  bool Claim(size_t node, int64_t now);
  bool ProbeDue(int64_t now);
  std::optional<size_t> ReturnToEarlier(size_t in_use, const Probe& probe);
  void Move(size_t from, size_t to);

  size_t count_;
  NodeBoard& board_;
  const util::Clock& clock_;
  int64_t claim_millis_;
  OnChange on_change_;
};

}  // namespace phoneverify::storage
