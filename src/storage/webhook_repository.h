// domain::WebhookEventStore over MariaDB (tables webhook_events and api_clients, sql/015).
//
// Several deliverers (processes or hosts) may claim at once: Due is a plain read, and each
// claim is a committed conditional UPDATE by id that stamps a fresh claim token and a
// lease, so an event is held by one token at a time; a claim whose lease ran out can be
// taken over. The per-verification order needs no lock: "every earlier event of the
// verification is delivered or dropped" can only turn from false to true (both states are
// final), so what Due saw stays true when the UPDATE runs.
//
// Statements per delivered event, in the steady state: its share of one Due read and one
// read-back per claim, one UPDATE to claim it and one to mark it.
// Thread-safe (each call takes its own connection from the Database).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/webhook_events.h"

namespace phoneverify::storage {

class Database;

class MysqlWebhookRepository final : public domain::WebhookEventStore {
 public:
  // `db` must outlive this.
  explicit MysqlWebhookRepository(Database& db) : db_(db) {}

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

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
