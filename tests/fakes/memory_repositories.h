// In-memory repositories implementing src/domain/ports.h for unit tests. Not thread-safe
// (unit tests are single-threaded); transactions are trivially atomic here. They follow
// the same contract as the MariaDB ones so domain rules can be tested with a fake clock.
#pragma once

#include <map>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "domain/ports.h"

namespace phoneverify::fakes {

struct MemoryStore {
  struct AccountRow {
    domain::Account account;
    std::string username_key;
    std::string password_hash;
    int64_t last_login = 0;
  };
  struct OutboxRow {
    int64_t id = 0;
    int64_t account_id = 0;
    std::string phone;
    std::string sealed_text;
    std::string state = "queued";
    std::string last_error;
    std::string request_id;
    int64_t expires_at = 0;
  };
  std::map<int64_t, AccountRow> accounts;
  std::map<std::string, int64_t> tokens;  // token hash -> account id
  struct SessionRow {
    int64_t account_id = 0;
    int64_t created_at = 0;
    int64_t last_seen_at = 0;
  };
  std::map<std::string, SessionRow> sessions;  // id hash -> row
  using LimitKey = std::pair<std::string, std::string>;  // (scope, key)
  std::map<LimitKey, std::vector<int64_t>> events;         // times of each limit's events
  // Events recorded by LimitRepository::Reserve, by id: whose and when, for Release.
  std::map<int64_t, std::pair<LimitKey, int64_t>> event_ids;
  int64_t next_event_id = 1;
  std::map<std::string, int64_t> last_send;  // phone -> time
  std::map<std::pair<int64_t, std::string>, domain::OtpRecord> codes;
  std::map<std::pair<int64_t, std::string>, int64_t> code_outbox;
  std::vector<OutboxRow> outbox;
  // (account, phone, operation, key) -> result, as idempotency_keys (no window here).
  std::map<std::tuple<int64_t, std::string, std::string, std::string>, int64_t> request_log;
  int64_t next_account_id = 1;
  bool fail_next = false;  // the next call answers 503 unavailable

  std::optional<int64_t> PhoneOwner(const std::string& phone) const;
  // The guesser's active account id, 0 when there is none.
  int64_t Resolve(const domain::Caller& who) const;
  std::vector<domain::WindowUsage> Usage(const std::vector<domain::WindowLimit>& limits,
                                         int64_t now) const;
  bool TakeFailure();
};

class MemoryAccountRepository final : public domain::AccountRepository {
 public:
  explicit MemoryAccountRepository(MemoryStore& store) : s_(store) {}
  util::Result<domain::Account> Create(const domain::NewAccount& account) override;
  util::Result<std::optional<domain::Account>> FindById(int64_t id) override;
  util::Result<std::optional<domain::Credentials>> FindCredentials(
      const std::string& username_key) override;
  util::Status RecordLogin(int64_t account_id, int64_t now) override;
  util::Status StoreToken(const std::string& token_hash, int64_t account_id,
                          int64_t now) override;
  util::Result<std::optional<domain::Account>> FindByTokenHash(
      const std::string& token_hash) override;
  util::Result<bool> DeleteToken(const std::string& token_hash) override;
  util::Status SetPendingPhone(int64_t account_id, const std::string& phone) override;

 private:
  MemoryStore& s_;
};

class MemorySessionRepository final : public domain::SessionRepository {
 public:
  explicit MemorySessionRepository(MemoryStore& store) : s_(store) {}
  util::Status Create(const std::string& id_hash, int64_t account_id, int64_t now) override;
  util::Result<std::optional<domain::SessionRecord>> Find(const std::string& id_hash) override;
  util::Status Touch(const std::string& id_hash, int64_t now) override;
  util::Result<bool> Delete(const std::string& id_hash) override;
  util::Result<int> DeleteExpired(int64_t idle_before, int64_t created_before, int max) override;

 private:
  MemoryStore& s_;
};

class MemoryLimitRepository final : public domain::LimitRepository {
 public:
  explicit MemoryLimitRepository(MemoryStore& store) : s_(store) {}
  util::Result<std::vector<domain::WindowUsage>> Usage(
      const std::vector<domain::WindowLimit>& limits, int64_t now) override;
  util::Result<std::vector<int64_t>> Reserve(
      const std::vector<domain::WindowLimit>& limits, int64_t now,
      const std::function<util::Status(const std::vector<domain::WindowUsage>&)>& decide)
      override;
  util::Status Release(const std::vector<int64_t>& event_ids) override;
  util::Status Clear(const domain::WindowLimit& limit) override;
  int reserve_calls = 0;  // how often Reserve ran (it is refused or records)

 private:
  MemoryStore& s_;
};

class MemoryOtpRepository final : public domain::OtpRepository {
 public:
  explicit MemoryOtpRepository(MemoryStore& store) : s_(store) {}
  util::Result<domain::RecordedSend> RecordSend(
      const domain::SendPlan& plan, const domain::NewCode& code,
      const std::function<domain::SendVerdict(const domain::SendSnapshot&)>& decide) override;
  util::Result<domain::RecordedGuess> RecordGuess(
      const domain::GuessRequest& guess,
      const std::function<domain::GuessDecision(const domain::GuessContext&)>& decide)
      override;
  util::Result<std::optional<domain::CodeStatusRecord>> FindCodeStatus(
      int64_t account_id, const std::string& phone) override;
  util::Result<std::vector<domain::WindowUsage>> Usage(
      const std::vector<domain::WindowLimit>& limits, int64_t now) override;
  util::Result<std::optional<int64_t>> PhoneOwner(const std::string& phone) override;

 private:
  MemoryStore& s_;
};

}  // namespace phoneverify::fakes
