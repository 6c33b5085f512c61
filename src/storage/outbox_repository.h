// domain::OutboxRepository over MariaDB (table outbox), the dispatcher's side.
//
// States: queued -> sending (claimed, leased) -> sent | retry | failed; queued/retry/
// sending -> superseded (by a newer code, see MysqlOtpRepository) or failed("expired").
// sealed_text is erased (NULL) on sent, failed, superseded and expired.
// Thread-safe; several dispatchers (processes or hosts) may claim concurrently: a row is
// held by one claim token at a time, and a claim whose lease ran out can be taken over.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;
class VerificationEventWriter;

class MysqlOutboxRepository final : public domain::OutboxRepository {
 public:
  // ExpireStale prunes finished rows older than `keep_finished_seconds` (the
  // retention_days setting; phoneverify-admin purge does the same in bulk).
  // `events` (optional, not owned): the verification API's events of a message's outcome
  // (in MarkMany's transaction) and its expiry sweep (in ExpireStale).
  explicit MysqlOutboxRepository(Database& db, int64_t keep_finished_seconds = 30 * 24 * 3600,
                                 const VerificationEventWriter* events = nullptr)
      : db_(db), keep_finished_seconds_(keep_finished_seconds), events_(events) {}

  // Claims up to `max` rows: retry, then queued rows with next_attempt_at <= now (each
  // oldest first), then (`take_abandoned`) sending rows with lease_until <= now; only rows with
  // expires_at > now. Reads O(max) index entries, not the whole queue. Each claimed row gets
  // state 'sending', tries + 1, lease_until = now + lease_seconds and `claim_token`
  // (at most 64 bytes). Rows are read back by token, so use a fresh token for every call
  // (e.g. Random::Hex(16)): a reused token would also return rows still held from before.
  util::Result<std::vector<domain::OutboxMessage>> Claim(const std::string& claim_token,
                                                         int64_t now, int64_t lease_seconds,
                                                         int max,
                                                         bool take_abandoned = true) override;
  // The Mark* calls apply only to a row in state 'sending' that still carries
  // `claim_token`; false otherwise. `error` is stored cut to 255 characters.
  util::Result<bool> MarkSent(int64_t id, const std::string& claim_token, int64_t now) override;
  util::Result<bool> MarkRetry(int64_t id, const std::string& claim_token, int64_t next_attempt_at,
                               const std::string& error) override;
  util::Result<bool> MarkFailed(int64_t id, const std::string& claim_token, int64_t now,
                                const std::string& error) override;
  // Fails ("expired") and erases undelivered rows with expires_at <= now (a 'sending' row
  // only once its lease has run out too). Returns how many. Also prunes, a bounded batch
  // per call: limit_events older than 24 h and finished outbox rows older than the
  // retention (keep_finished_seconds), and kept API answers older than 24 h. With an
  // event writer, then expires the verifications past their expiry (a bounded batch).
  util::Result<bool> Release(int64_t id, const std::string& claim_token) override;
  // The marks in one transaction.
  util::Result<std::vector<bool>> MarkMany(const std::vector<domain::OutboxMark>& marks) override;
  util::Result<int> ExpireStale(int64_t now) override;
  util::Result<int> Depth() override;

 private:
  util::Result<bool> WriteOne(const domain::OutboxMark& mark);

  Database& db_;
  int64_t keep_finished_seconds_;
  const VerificationEventWriter* events_;
};

}  // namespace phoneverify::storage
