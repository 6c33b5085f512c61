#include "util/counters.h"

#include <cstring>
#include <functional>
#include <thread>

namespace phoneverify::util {
namespace {

constexpr uint32_t kFree = 0;
constexpr uint32_t kWriting = 1;
constexpr uint32_t kReady = 2;
constexpr int kWaitForWriterSpins = 1000;

bool SameKey(const CounterSlot& slot, std::string_view key) {
  return std::strncmp(slot.key, key.data(), key.size()) == 0 && slot.key[key.size()] == '\0';
}

// Waits briefly for a slot another process is naming; false if it never becomes ready
// (that process died mid-write: the slot is lost, which only costs one slot).
bool WaitReady(const CounterSlot& slot) {
  for (int i = 0; i < kWaitForWriterSpins; ++i) {
    if (slot.state.load(std::memory_order_acquire) == kReady) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace

void Counters::Add(std::string_view key, uint64_t n) {
  if (key.empty() || key.size() >= kCounterKeyBytes) {
    table_.dropped.fetch_add(n);
    return;
  }
  const size_t start = std::hash<std::string_view>{}(key) % kCounterSlots;
  for (size_t probe = 0; probe < kCounterSlots; ++probe) {
    CounterSlot& slot = table_.slots[(start + probe) % kCounterSlots];
    uint32_t state = slot.state.load(std::memory_order_acquire);
    if (state == kFree) {
      if (slot.state.compare_exchange_strong(state, kWriting, std::memory_order_acq_rel)) {
        std::memcpy(slot.key, key.data(), key.size());
        slot.key[key.size()] = '\0';
        slot.value.fetch_add(n);
        slot.state.store(kReady, std::memory_order_release);
        return;
      }
      // Lost the race for this slot: `state` now holds what the winner wrote.
    }
    if (state == kWriting && !WaitReady(slot)) continue;
    if (SameKey(slot, key)) {
      slot.value.fetch_add(n);
      return;
    }
  }
  table_.dropped.fetch_add(n);
}

std::vector<std::pair<std::string, uint64_t>> Counters::Snapshot() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (const CounterSlot& slot : table_.slots) {
    if (slot.state.load(std::memory_order_acquire) != kReady) continue;
    out.emplace_back(std::string(slot.key), slot.value.load());
  }
  return out;
}

}  // namespace phoneverify::util
