// Named counters that several processes add to: a fixed table of slots meant to live in a
// util::SharedMemory mapping the FastCGI master creates before forking, so /metrics served
// by any worker sees what every worker counted. Lock-free (a worker may die anywhere):
// a slot is claimed by compare-and-swap, its name written once, then only its value
// changes (atomic add). Nothing decides anything from these numbers; they are only shown.
//
// A key is the whole series, e.g. `phoneverify_http_requests_total{route="/x",status="200"}`
// (at most kCounterKeyBytes - 1 bytes; longer keys are dropped and counted in dropped()).
// When every slot is taken, new keys are dropped too. Thread- and process-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace phoneverify::util {

inline constexpr size_t kCounterKeyBytes = 168;
inline constexpr size_t kCounterSlots = 2048;

struct CounterSlot {
  std::atomic<uint32_t> state{0};  // 0 free, 1 name being written, 2 ready
  std::atomic<uint64_t> value{0};
  char key[kCounterKeyBytes] = {};
};

struct CounterTable {
  std::atomic<uint64_t> dropped{0};
  CounterSlot slots[kCounterSlots];
};

class Counters {
 public:
  explicit Counters(CounterTable& table) : table_(table) {}

  void Add(std::string_view key, uint64_t n = 1);
  // Every ready series with its value, in slot order.
  std::vector<std::pair<std::string, uint64_t>> Snapshot() const;
  uint64_t dropped() const { return table_.dropped.load(); }

 private:
  CounterTable& table_;
};

}  // namespace phoneverify::util
