// A MemoryOutbox seen through a counter: how many claims, how many marks per MarkMany,
// how many single Mark* calls. For tests of how the dispatcher talks to its storage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "fakes/memory_outbox.h"

namespace phoneverify::fakes {

class CountingOutbox final : public domain::OutboxRepository {
 public:
  explicit CountingOutbox(MemoryOutbox& inner) : inner_(inner) {}
  util::Result<std::vector<domain::OutboxMessage>> Claim(const std::string& token, int64_t now,
                                                         int64_t lease, int max,
                                                         bool take_abandoned = true) override {
    ++claims;
    return inner_.Claim(token, now, lease, max, take_abandoned);
  }
  util::Result<std::vector<bool>> MarkMany(const std::vector<domain::OutboxMark>& marks) override {
    sizes.push_back(marks.size());
    return inner_.MarkMany(marks);
  }
  util::Result<bool> MarkSent(int64_t id, const std::string& token, int64_t now) override {
    ++single_marks;
    return inner_.MarkSent(id, token, now);
  }
  util::Result<bool> MarkRetry(int64_t id, const std::string& token, int64_t at,
                               const std::string& error) override {
    ++single_marks;
    return inner_.MarkRetry(id, token, at, error);
  }
  util::Result<bool> MarkFailed(int64_t id, const std::string& token, int64_t now,
                                const std::string& error) override {
    ++single_marks;
    return inner_.MarkFailed(id, token, now, error);
  }
  util::Result<bool> Release(int64_t id, const std::string& token) override {
    ++single_marks;
    return inner_.Release(id, token);
  }
  util::Result<int> ExpireStale(int64_t now) override { return inner_.ExpireStale(now); }
  util::Result<int> Depth() override { return inner_.Depth(); }

  int claims = 0;
  std::vector<size_t> sizes;  // per MarkMany call
  int single_marks = 0;

 private:
  MemoryOutbox& inner_;
};

}  // namespace phoneverify::fakes
