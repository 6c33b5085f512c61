#include "fakes/memory_outbox.h"

namespace phoneverify::fakes {
namespace {

bool Undelivered(const OutboxRow& row) {
  return row.state == "queued" || row.state == "retry" || row.state == "sending";
}

bool Due(const OutboxRow& row, int64_t now) {
  if (row.expires_at <= now) return false;
  if (row.state == "queued" || row.state == "retry") return row.next_attempt_at <= now;
  return row.state == "sending" && row.lease_until <= now;
}

void Finish(OutboxRow& row, const std::string& state, const std::string& error) {
  row.state = state;
  row.sealed_text.clear();
  row.claim_token.clear();
  if (!error.empty()) {
    row.error = error;
    row.errors.push_back(error);
  }
}

}  // namespace

int64_t MemoryOutbox::Enqueue(const std::string& phone, const std::string& sealed_text, int64_t now,
                              int64_t expires_at, const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  OutboxRow row;
  row.id = next_id_++;
  row.phone = phone;
  row.sealed_text = sealed_text;
  row.state = "queued";
  row.request_id = request_id;
  row.created_at = now;
  row.next_attempt_at = now;
  row.expires_at = expires_at;
  rows_[row.id] = row;
  return row.id;
}

std::optional<OutboxRow> MemoryOutbox::Row(int64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = rows_.find(id);
  if (it == rows_.end()) return std::nullopt;
  return it->second;
}

std::vector<OutboxRow> MemoryOutbox::Rows() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<OutboxRow> out;
  for (const auto& [id, row] : rows_) out.push_back(row);
  return out;
}

void MemoryOutbox::FailNextCalls(int calls) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_calls_ = calls;
}

void MemoryOutbox::StealClaim(int64_t id, const std::string& new_token) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = rows_.find(id);
  if (it != rows_.end()) it->second.claim_token = new_token;
}

bool MemoryOutbox::ShouldFail() {
  if (fail_calls_ <= 0) return false;
  --fail_calls_;
  return true;
}

OutboxRow* MemoryOutbox::Claimed(int64_t id, const std::string& claim_token) {
  const auto it = rows_.find(id);
  if (it == rows_.end()) return nullptr;
  OutboxRow& row = it->second;
  if (row.state != "sending" || row.claim_token != claim_token) return nullptr;
  return &row;
}

util::Result<std::vector<domain::OutboxMessage>> MemoryOutbox::Claim(const std::string& claim_token,
                                                                     int64_t now,
                                                                     int64_t lease_seconds,
                                                                     int max,
                                                                     bool take_abandoned) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  std::vector<domain::OutboxMessage> out;
  for (auto& [id, row] : rows_) {
    if (static_cast<int>(out.size()) >= max) break;
    if (!Due(row, now) || (row.state == "sending" && !take_abandoned)) continue;
    row.state = "sending";
    row.claim_token = claim_token;
    row.lease_until = now + lease_seconds;
    ++row.tries;
    out.push_back({row.id, row.phone, row.sealed_text, row.tries, row.expires_at, row.request_id});
  }
  return out;
}

util::Result<bool> MemoryOutbox::MarkSent(int64_t id, const std::string& claim_token, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  OutboxRow* row = Claimed(id, claim_token);
  if (row == nullptr) return false;
  row->sent_at = now;
  Finish(*row, "sent", "");
  row->error.clear();
  return true;
}

util::Result<bool> MemoryOutbox::MarkRetry(int64_t id, const std::string& claim_token,
                                           int64_t next_attempt_at, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  OutboxRow* row = Claimed(id, claim_token);
  if (row == nullptr) return false;
  row->state = "retry";
  row->claim_token.clear();
  row->next_attempt_at = next_attempt_at;
  row->error = error;
  if (!error.empty()) row->errors.push_back(error);
  return true;
}

util::Result<bool> MemoryOutbox::MarkFailed(int64_t id, const std::string& claim_token,
                                            int64_t /*now*/, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  OutboxRow* row = Claimed(id, claim_token);
  if (row == nullptr) return false;
  Finish(*row, "failed", error);
  return true;
}

util::Result<bool> MemoryOutbox::Release(int64_t id, const std::string& claim_token) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  OutboxRow* row = Claimed(id, claim_token);
  if (row == nullptr) return false;
  row->state = "retry";
  row->claim_token.clear();
  row->lease_until = 0;
  row->tries = row->tries > 0 ? row->tries - 1 : 0;
  return true;
}

util::Result<int> MemoryOutbox::ExpireStale(int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  int expired = 0;
  for (auto& [id, row] : rows_) {
    if (!Undelivered(row) || row.expires_at > now) continue;
    if (row.state == "sending" && row.lease_until > now) continue;  // its holder decides
    Finish(row, "failed", "expired");
    ++expired;
  }
  return expired;
}

util::Result<int> MemoryOutbox::Depth() {
  std::lock_guard<std::mutex> lock(mu_);
  if (ShouldFail()) return util::Error::Unavailable();
  int depth = 0;
  for (const auto& [id, row] : rows_) depth += Undelivered(row) ? 1 : 0;
  return depth;
}

}  // namespace phoneverify::fakes
