// In-memory OutboxRepository for dispatcher unit tests. Follows the contract in
// domain/ports.h: claims stamp a token and a lease, Mark* apply only while the row is
// still "sending" under that token, sent/failed/expired rows lose their sealed text;
// ExpireStale leaves a "sending" row alone until its lease ran out (as MySQL does).
// Test helpers enqueue rows, inspect them, inject storage failures and steal claims.
// Thread-safe (one mutex), so several dispatchers may share one instance.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "domain/ports.h"

namespace phoneverify::fakes {

struct OutboxRow {
  int64_t id = 0;
  std::string phone;
  std::string sealed_text;  // "" once sent, failed or expired
  std::string state;        // "queued", "retry", "sending", "sent", "failed"
  std::string claim_token;
  std::string error;
  std::string request_id;
  int tries = 0;
  int64_t created_at = 0;
  int64_t next_attempt_at = 0;
  int64_t lease_until = 0;
  int64_t expires_at = 0;
  int64_t sent_at = 0;
  std::vector<std::string> errors;  // every error recorded, in order
};

class MemoryOutbox final : public domain::OutboxRepository {
 public:
  // Queues a message due at `now`; returns its id.
  int64_t Enqueue(const std::string& phone, const std::string& sealed_text, int64_t now,
                  int64_t expires_at, const std::string& request_id = "");
  std::optional<OutboxRow> Row(int64_t id) const;
  std::vector<OutboxRow> Rows() const;
  // The next `calls` repository calls fail with Error::Unavailable().
  void FailNextCalls(int calls);
  // Re-stamps a row's claim as if another dispatcher had taken it over.
  void StealClaim(int64_t id, const std::string& new_token = "stolen");

  util::Result<std::vector<domain::OutboxMessage>> Claim(const std::string& claim_token,
                                                         int64_t now, int64_t lease_seconds,
                                                         int max,
                                                         bool take_abandoned = true) override;
  util::Result<bool> MarkSent(int64_t id, const std::string& claim_token, int64_t now) override;
  util::Result<bool> MarkRetry(int64_t id, const std::string& claim_token, int64_t next_attempt_at,
                               const std::string& error) override;
  util::Result<bool> MarkFailed(int64_t id, const std::string& claim_token, int64_t now,
                                const std::string& error) override;
  util::Result<bool> Release(int64_t id, const std::string& claim_token) override;
  util::Result<int> ExpireStale(int64_t now) override;
  util::Result<int> Depth() override;

 private:
  bool ShouldFail();                                               // call with mu_ held
  OutboxRow* Claimed(int64_t id, const std::string& claim_token);  // mu_ held

  mutable std::mutex mu_;
  std::map<int64_t, OutboxRow> rows_;
  int64_t next_id_ = 1;
  int fail_calls_ = 0;
};

}  // namespace phoneverify::fakes
