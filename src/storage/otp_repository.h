// domain::OtpRepository over MariaDB: tables otp_codes, outbox (the producing side),
// limit_gates, limit_events, idempotency_keys, and accounts (phone owner, verification).
//
// Sending: one CALL of pv_send_code_v2 (sql/016_send_procedure.sql, sql/017_send_by_token.sql),
// one round trip, an API token resolved in it. It locks
// the gate rows of the phone ('last_send') and of every limit key, in one order, before
// reading, so concurrent sends to one phone, account or IP run one after another on a
// node; the stamps it writes on them make conflicting commits on different Galera nodes
// fail certification (1213: the CALL runs again). The procedure accepts only what the
// C++ decider accepts (no owner, cooldown passed, limits below their max) and returns
// the snapshot it read; the decider then runs on it: it must agree with an acceptance,
// and names the refusal otherwise. A refusal that still charges limits (phone_taken)
// takes a second transaction that decides again on a locked read.
// Guessing: a wrong guess is counted with a compare-and-set on the code row (applied
// only if the row is unchanged since it was read, which also resolved the API token and
// found the client key's earlier result): two round trips. A correct guess, or one
// under contention, takes the row lock in a transaction.
// Run once per request: a client's Idempotency-Key is recorded in idempotency_keys in the
// transaction of its change (24 h); with none, the repository makes up a key (MadeUpKey)
// that guards its own re-run of a write whose COMMIT went unanswered
// (Database::RunIdempotent, TransactIdempotent). A repeated request gets the first
// result back, and nothing is written again.
// Thread-safe; errors as described in domain/ports.h.
#pragma once

#include <functional>
#include <utility>
#include <optional>
#include <string>
#include <vector>

#include "domain/ports.h"
#include "util/random.h"

namespace phoneverify::storage {

class Database;

class MysqlOtpRepository final : public domain::OtpRepository {
 public:
  // `on_queued` (optional) runs after each committed send, e.g. to wake the dispatcher.
  explicit MysqlOtpRepository(Database& db, std::function<void()> on_queued = {})
      : db_(db), on_queued_(std::move(on_queued)) {}

  // On acceptance the earlier undelivered messages of (account, phone) become
  // 'superseded' with their sealed text erased.
  util::Result<domain::RecordedSend> RecordSend(
      const domain::SendPlan& plan, const domain::NewCode& code,
      const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) override;

  // kCorrect on a phone another account verified meanwhile: 409 phone_taken (field
  // "phone"), and nothing changes.
  util::Result<domain::RecordedGuess> RecordGuess(
      const domain::GuessRequest& guess,
      const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) override;

  // delivery_state is "" if the code's outbox row no longer exists.
  util::Result<std::optional<domain::CodeStatusRecord>> FindCodeStatus(
      int64_t account_id, const std::string& phone) override;
  util::Result<std::vector<domain::WindowUsage>> Usage(
      const std::vector<domain::WindowLimit>& limits, int64_t now) override;
  util::Result<std::optional<int64_t>> PhoneOwner(const std::string& phone) override;

 private:
  util::Result<domain::RecordedGuess> RecordGuessLocked(
      int64_t account_id, const domain::GuessRequest& guess,
      const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide);

  Database& db_;
  std::function<void()> on_queued_;
  util::SodiumRandom random_;  // MadeUpKey
};

}  // namespace phoneverify::storage
