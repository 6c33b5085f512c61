// domain::OtpRepository over MariaDB: tables otp_codes, outbox (the producing side),
// limit_gates, limit_events, and accounts (phone owner, verification).
//
// Serialisation: RecordSend locks the gate rows of the phone ('last_send') and of every
// limit key before reading the limits, so concurrent sends to one phone, account or IP
// run one after another on a node; it writes every gate as it locks it (a refusal or a
// replay rolls that back), so on Galera conflicting commits fail certification (1213)
// and run again. RecordGuess counts a wrong guess with a compare-and-set on the code row
// (applied only if the row is unchanged since it was read; the read also finds the
// idempotency key's earlier result; a client's key is recorded in the same transaction
// as the UPDATE), and takes the row lock in a transaction for a correct guess or under
// contention. Both record their idempotency key in
// idempotency_keys (sql/004) and run their transactions as Database::TransactIdempotent:
// a COMMIT lost with its connection is simply run again.
// Round trips: a send is START, one statement per gate (the phone's also returns what the
// decision needs and the idempotency key's earlier result), one per limit, the writes,
// COMMIT; a wrong guess (or a refusal, or a replay of a wrong guess) is one SELECT, which
// also resolves the guesser's API token, and at most one UPDATE, autocommit (with a
// client's key: START, the UPDATE, the key's INSERT, COMMIT).
// Thread-safe; errors as described in domain/ports.h.
#pragma once

#include <functional>
#include <utility>
#include <optional>
#include <string>
#include <vector>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlOtpRepository final : public domain::OtpRepository {
 public:
  // `on_queued` (optional) runs after each committed send, e.g. to wake the dispatcher.
  explicit MysqlOtpRepository(Database& db, std::function<void()> on_queued = {})
      : db_(db), on_queued_(std::move(on_queued)) {}

  // Returns the new outbox row's id. On acceptance the earlier undelivered messages of
  // (account, phone) become 'superseded' with their sealed text erased.
  util::Result<int64_t> RecordSend(
      const domain::SendPlan& plan, const domain::NewCode& code,
      const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) override;

  // kCorrect on a phone another account verified meanwhile: 409 phone_taken (field
  // "phone"), and nothing changes.
  util::Result<domain::GuessDecision> RecordGuess(
      const domain::GuessRequest& guess,
      const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide) override;

  // delivery_state is "" if the code's outbox row no longer exists.
  util::Result<std::optional<domain::CodeStatusRecord>> FindCodeStatus(
      int64_t account_id, const std::string& phone) override;
  util::Result<std::vector<domain::WindowUsage>> Usage(
      const std::vector<domain::WindowLimit>& limits, int64_t now) override;
  util::Result<std::optional<int64_t>> PhoneOwner(const std::string& phone) override;

 private:
  util::Result<domain::GuessDecision> RecordGuessLocked(
      int64_t account_id, const domain::GuessRequest& guess,
      const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide);

  Database& db_;
  std::function<void()> on_queued_;
};

}  // namespace phoneverify::storage
