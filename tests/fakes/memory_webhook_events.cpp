#include "fakes/memory_webhook_events.h"

#include <algorithm>
#include <tuple>

namespace phoneverify::fakes {

int64_t MemoryWebhookEvents::AddEvent(int64_t client_id, int64_t verification_id,
                                      const std::string& type, const std::string& body,
                                      int64_t created_at) {
  Row row;
  row.event.id = next_id_++;
  row.event.event_id = "evt_" + std::to_string(row.event.id);
  row.event.client_id = client_id;
  row.event.verification_id = verification_id;
  row.event.type = type;
  row.event.body = body;
  row.event.created_at = created_at;
  row.next_attempt_at = created_at;
  rows_[row.event.id] = row;
  return row.event.id;
}

bool MemoryWebhookEvents::Failing() {
  if (fail_next_ <= 0) return false;
  --fail_next_;
  return true;
}

bool MemoryWebhookEvents::Takes(int64_t client_id) const {
  const auto found = clients_.find(client_id);
  return found != clients_.end() && !found->second.url.empty() &&
         found->second.webhook_disabled_at == 0 && !found->second.disabled;
}

bool MemoryWebhookEvents::Blocked(const Row& row) const {
  for (const auto& [id, other] : rows_) {
    if (id >= row.event.id) break;
    if (other.event.verification_id == row.event.verification_id &&
        (other.state == "pending" || other.state == "sending")) {
      return true;
    }
  }
  return false;
}

bool MemoryWebhookEvents::Claimable(const Row& row, int64_t now) const {
  const bool due = (row.state == "pending" || (row.state == "sending" && row.lease_until <= now)) &&
                   row.next_attempt_at <= now;
  return due && Takes(row.event.client_id);
}

bool MemoryWebhookEvents::Holds(int64_t id, const std::string& claim_token) const {
  const auto found = rows_.find(id);
  return found != rows_.end() && found->second.state == "sending" &&
         found->second.claim_token == claim_token;
}

util::Result<std::vector<domain::WebhookCandidate>> MemoryWebhookEvents::Due(int64_t now,
                                                                             int per_client,
                                                                             int max) {
  if (Failing()) return util::Error::Unavailable();
  std::vector<std::tuple<int64_t, int64_t, int64_t>> due;  // next attempt, id, client
  for (const auto& [id, row] : rows_) {
    if (Claimable(row, now) && !Blocked(row))
      due.emplace_back(row.next_attempt_at, id, row.event.client_id);
  }
  std::sort(due.begin(), due.end());
  std::map<int64_t, int> per;
  std::vector<domain::WebhookCandidate> out;
  for (const auto& [at, id, client] : due) {
    if (static_cast<int>(out.size()) >= max) break;
    if (++per[client] > per_client) continue;
    out.push_back({id, client});
  }
  return out;
}

util::Result<std::vector<domain::WebhookEvent>> MemoryWebhookEvents::Claim(
    const std::vector<int64_t>& ids, const std::string& claim_token, int64_t now,
    int64_t lease_seconds) {
  if (Failing()) return util::Error::Unavailable();
  std::vector<domain::WebhookEvent> out;
  for (int64_t id : ids) {
    auto found = rows_.find(id);
    if (found == rows_.end() || !Claimable(found->second, now)) continue;
    Row& row = found->second;
    row.state = "sending";
    row.claim_token = claim_token;
    row.lease_until = row.next_attempt_at = now + lease_seconds;
    ++row.event.tries;
    const Client& client = clients_.at(row.event.client_id);
    row.event.client_name = client.name;
    row.event.url = client.url;
    row.event.secret_sealed = client.secret_sealed;
    out.push_back(row.event);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

util::Result<bool> MemoryWebhookEvents::MarkDelivered(int64_t id, const std::string& claim_token,
                                                      int64_t now) {
  if (Failing()) return util::Error::Unavailable();
  if (!Holds(id, claim_token)) return false;
  Row& row = rows_.at(id);
  row.state = "delivered";
  row.delivered_at = now;
  row.last_error.clear();
  return true;
}

util::Result<bool> MemoryWebhookEvents::MarkRetry(const domain::WebhookEvent& event,
                                                  const std::string& claim_token,
                                                  int64_t next_attempt_at,
                                                  const std::string& error) {
  if (Failing()) return util::Error::Unavailable();
  if (!Holds(event.id, claim_token)) return false;
  Row& row = rows_.at(event.id);
  row.state = "pending";
  row.next_attempt_at = next_attempt_at;
  row.last_error = error;
  row.claim_token.clear();
  for (auto& [id, other] : rows_) {
    if (id > event.id && other.event.verification_id == event.verification_id &&
        other.state == "pending") {
      other.next_attempt_at = std::max(other.next_attempt_at, next_attempt_at);
    }
  }
  return true;
}

util::Result<bool> MemoryWebhookEvents::MarkDropped(int64_t id, const std::string& claim_token,
                                                    const std::string& error) {
  if (Failing()) return util::Error::Unavailable();
  if (!Holds(id, claim_token)) return false;
  Row& row = rows_.at(id);
  row.state = "dropped";
  row.last_error = error;
  row.claim_token.clear();
  return true;
}

util::Result<domain::WebhookGone> MemoryWebhookEvents::MarkGone(const domain::WebhookEvent& event,
                                                                const std::string& claim_token,
                                                                int64_t now,
                                                                const std::string& error) {
  if (Failing()) return util::Error::Unavailable();
  domain::WebhookGone gone;
  gone.held = MarkDropped(event.id, claim_token, error).value();
  Client& client = clients_.at(event.client_id);
  if (client.url != event.url || client.webhook_disabled_at != 0) return gone;
  client.webhook_disabled_at = now;
  gone.disabled = true;
  for (auto& [id, row] : rows_) {
    if (row.event.client_id != event.client_id || row.state != "pending") continue;
    row.state = "dropped";
    row.last_error = "webhook gone (410)";
    ++gone.dropped;
  }
  return gone;
}

util::Result<bool> MemoryWebhookEvents::Release(int64_t id, const std::string& claim_token) {
  if (Failing()) return util::Error::Unavailable();
  if (!Holds(id, claim_token)) return false;
  Row& row = rows_.at(id);
  row.state = "pending";
  row.event.tries = std::max(0, row.event.tries - 1);
  row.claim_token.clear();
  row.next_attempt_at = 0;
  return true;
}

util::Result<int> MemoryWebhookEvents::Sweep(int64_t /*now*/, int64_t /*prune_before*/) {
  if (Failing()) return util::Error::Unavailable();
  int dropped = 0;
  for (auto& [id, row] : rows_) {
    if (row.state != "pending" || Takes(row.event.client_id)) continue;
    row.state = "dropped";
    row.last_error = "undeliverable";
    ++dropped;
  }
  return dropped;
}

util::Result<domain::WebhookClientState> MemoryWebhookEvents::ClientState(int64_t client_id) {
  if (Failing()) return util::Error::Unavailable();
  domain::WebhookClientState state;
  state.disabled_at = clients_.at(client_id).webhook_disabled_at;
  for (const auto& [id, row] : rows_) {
    if (row.event.client_id != client_id) continue;
    if (row.state == "pending" || row.state == "sending") ++state.pending;
    if (row.state == "delivered") ++state.delivered;
    if (row.state == "dropped") ++state.dropped;
    if (!row.last_error.empty()) state.last_error = row.last_error;
  }
  return state;
}

}  // namespace phoneverify::fakes
