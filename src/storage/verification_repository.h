// domain::VerificationStore over MariaDB: tables verifications, outbox (the producing
// side), webhook_events, limit_gates, limit_events and api_answers (sql/015).
//
// Serialisation: a start or resend locks the gates of its limits and of the phone
// ('last_send', shared with the account API) before it reads anything, so sends to one
// phone run one after another on a node and conflicting commits on different Galera nodes
// fail certification (1213) and run again. A request on one verification locks its row
// (SELECT ... FOR UPDATE, after the gates), so parallel checks count every wrong guess.
// Every write runs under RunOnce (api_answers.h): re-runs after a lost COMMIT, and a
// client's repeated Idempotency-Key, get the first answer and write nothing.
// Thread-safe; errors as described in domain/ports.h.
#pragma once

#include "domain/verification_store.h"
#include "util/random.h"

namespace phoneverify::storage {

class Database;

class MysqlVerificationStore final : public domain::VerificationStore {
 public:
  // `random` (thread-safe, e.g. util::SodiumRandom) makes the server's re-run tokens.
  MysqlVerificationStore(Database& db, util::Random& random) : db_(db), random_(random) {}

  util::Result<domain::ApiAnswer> Start(
      const domain::ApiRequest& request, const domain::StartPlan& plan,
      const std::function<domain::VerificationChange(const domain::StartSnapshot&)>& decide)
      override;
  util::Result<domain::ApiAnswer> Change(
      const domain::ApiRequest& request, const std::string& public_id,
      const std::function<domain::ChangePlan(const domain::VerificationRecord&)>& plan,
      const std::function<domain::VerificationChange(const domain::VerificationSnapshot&)>&
          decide) override;
  util::Result<std::optional<domain::VerificationSnapshot>> Find(
      int64_t client_id, const std::string& public_id, int64_t now,
      const std::function<domain::ChangePlan(const domain::VerificationRecord&)>& plan)
      override;

 private:
  Database& db_;
  util::Random& random_;
};

}  // namespace phoneverify::storage
