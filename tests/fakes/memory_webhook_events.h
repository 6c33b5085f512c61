// In-memory domain::WebhookEventStore for unit tests, with the MariaDB one's rules: the
// order per verification, at most `per_client` due per client, leases, marks only under
// the claim's token, 410 disabling the client (same URL only) and dropping its pending
// events. Clients and events are added directly. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "domain/webhook_events.h"

namespace phoneverify::fakes {

class MemoryWebhookEvents final : public domain::WebhookEventStore {
 public:
  struct Client {
    std::string name;
    std::string url;
    std::string secret_sealed;
    int64_t webhook_disabled_at = 0;
    bool disabled = false;
  };
  struct Row {
    domain::WebhookEvent event;  // url/name/secret filled at claim time
    std::string state = "pending";
    int64_t next_attempt_at = 0;
    std::string claim_token;
    int64_t lease_until = 0;
    std::string last_error;
    int64_t delivered_at = 0;
  };

  void AddClient(int64_t id, Client client) { clients_[id] = std::move(client); }
  // A pending event due at `created_at`; returns its id (ids increase).
  int64_t AddEvent(int64_t client_id, int64_t verification_id, const std::string& type,
                   const std::string& body, int64_t created_at);

  util::Result<std::vector<domain::WebhookCandidate>> Due(int64_t now, int per_client,
                                                          int max) override;
  util::Result<std::vector<domain::WebhookEvent>> Claim(const std::vector<int64_t>& ids,
                                                        const std::string& claim_token, int64_t now,
                                                        int64_t lease_seconds) override;
  util::Result<bool> MarkDelivered(int64_t id, const std::string& claim_token,
                                   int64_t now) override;
  util::Result<bool> MarkRetry(const domain::WebhookEvent& event, const std::string& claim_token,
                               int64_t next_attempt_at, const std::string& error) override;
  util::Result<bool> MarkDropped(int64_t id, const std::string& claim_token,
                                 const std::string& error) override;
  util::Result<domain::WebhookGone> MarkGone(const domain::WebhookEvent& event,
                                             const std::string& claim_token, int64_t now,
                                             const std::string& error) override;
  util::Result<bool> Release(int64_t id, const std::string& claim_token) override;
  util::Result<int> Sweep(int64_t now, int64_t prune_before) override;
  util::Result<domain::WebhookClientState> ClientState(int64_t client_id) override;

  const Row& row(int64_t id) const { return rows_.at(id); }
  Client& client(int64_t id) { return clients_.at(id); }
  // The next `n` calls answer Unavailable.
  void FailNext(int n) { fail_next_ = n; }

 private:
  bool Claimable(const Row& row, int64_t now) const;
  bool Blocked(const Row& row) const;  // an earlier event of its verification unfinished
  bool Takes(int64_t client_id) const;
  bool Holds(int64_t id, const std::string& claim_token) const;
  bool Failing();

  std::map<int64_t, Client> clients_;
  std::map<int64_t, Row> rows_;  // by id
  int64_t next_id_ = 1;
  int fail_next_ = 0;
};

}  // namespace phoneverify::fakes
