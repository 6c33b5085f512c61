#include "storage/node_chooser.h"

#include <utility>

namespace phoneverify::storage {

NodeChooser::NodeChooser(size_t node_count, NodeBoard& board, const util::Clock& clock,
                         int64_t claim_millis, OnChange on_change)
    : count_(node_count),
      board_(board),
      clock_(clock),
      claim_millis_(claim_millis),
      on_change_(std::move(on_change)) {}

size_t NodeChooser::current() const {
  const int32_t in_use = board_.current.load();
  // Out of range only after a reload shortened the list: read as the first node.
  return in_use >= 0 && static_cast<size_t>(in_use) < count_ ? static_cast<size_t>(in_use) : 0;
}

std::optional<size_t> NodeChooser::Choose(const Probe& probe) {
  int32_t raw = board_.current.load();
  if (static_cast<size_t>(raw) != current()) board_.current.compare_exchange_strong(raw, 0);
  const size_t in_use = current();
  if (in_use > 0 && ProbeDue(clock_.MonotonicMillis())) {
    if (std::optional<size_t> earlier = ReturnToEarlier(in_use, probe)) return earlier;
  }
  // The node in use; when it is held (it failed, here or in another process), the next
  // one that is not held or whose hold is over.
  const size_t from = current();
  const int64_t now = clock_.MonotonicMillis();
  for (size_t k = 0; k < count_; ++k) {
    const size_t node = (from + k) % count_;
    if (!Claim(node, now)) continue;
    if (node != from) Move(from, node);
    return node;
  }
  return std::nullopt;
}

std::optional<size_t> NodeChooser::ReturnToEarlier(size_t in_use, const Probe& probe) {
  for (size_t node = 0; node < in_use; ++node) {
    if (!Claim(node, clock_.MonotonicMillis())) continue;
    if (!probe(node)) {
      Failed(node);
      continue;
    }
    Answered(node);
    Move(in_use, node);
    return node;
  }
  return std::nullopt;
}

void NodeChooser::Failed(size_t node) {
  const int64_t now = clock_.MonotonicMillis();
  board_.held_until[node].store(now + kHoldMillis);
  if (node != current()) return;
  for (size_t k = 1; k < count_; ++k) {
    const size_t next = (node + k) % count_;
    if (!Held(next, now)) {
      Move(node, next);
      return;
    }
  }
  // Every node is held: Choose fails fast until the first hold runs out.
}

void NodeChooser::Answered(size_t node) {
  // Read first: the common case (not held) then writes nothing shared.
  if (board_.held_until[node].load() != 0) board_.held_until[node].store(0);
}

bool NodeChooser::Held(size_t node, int64_t now) const {
  const int64_t until = board_.held_until[node].load();
  return until != 0 && now < until;
}

bool NodeChooser::Claim(size_t node, int64_t now) {
  int64_t until = board_.held_until[node].load();
  if (until == 0) return true;
  if (now < until) return false;
  // The hold is over: one caller tries the node; the others keep away meanwhile.
  return board_.held_until[node].compare_exchange_strong(until, now + claim_millis_);
}

bool NodeChooser::ProbeDue(int64_t now) {
  int64_t at = board_.probe_at.load();
  if (now < at) return false;
  return board_.probe_at.compare_exchange_strong(at, now + kProbeEveryMillis);
}

void NodeChooser::Move(size_t from, size_t to) {
  int32_t expected = static_cast<int32_t>(from);
  if (board_.current.compare_exchange_strong(expected, static_cast<int32_t>(to)) && on_change_) {
    on_change_(from, to);
  }
}

}  // namespace phoneverify::storage
