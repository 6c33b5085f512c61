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

#include <vector>

#include "domain/otp_policy.h"
#include "domain/ports.h"
#include "domain/verification_store.h"
#include "util/random.h"

namespace phoneverify::storage {

class Connection;
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

// The verification changes no request makes, with their webhook events (stored only for a
// client with a webhook URL), each in the transaction of what causes it:
//   - a verification's message sent: message.sent;
//   - its message failed for good (not "expired": still retrying at expires_at is
//     expiry) while pending: status failed, verification.failed;
//   - pending past expires_at: status expired, verification.expired (the sweep).
// Used by the dispatcher's outbox repository. Thread-safe if `random` is.
class VerificationEventWriter {
 public:
  VerificationEventWriter(const domain::OtpPolicy& policy, util::Random& random)
      : policy_(policy), random_(random) {}

  // Inside the transaction that applies `marks` (`held[i]`: mark i applied), for the marks
  // of verification messages.
  util::Status OnMarks(Connection& conn, const std::vector<domain::OutboxMark>& marks,
                       const std::vector<bool>& held) const;
  // Expires up to `max` pending verifications past their expiry at `now` (rows another
  // sweep holds are skipped); how many. In a transaction.
  util::Result<int> ExpireDue(Connection& conn, int64_t now, int max) const;

  struct Source;  // a verification with what its events need (internal)

 private:
  util::Status Emit(Connection& conn, const Source& source, const char* type,
                    int64_t now) const;

  const domain::OtpPolicy& policy_;
  util::Random& random_;
};

}  // namespace phoneverify::storage
