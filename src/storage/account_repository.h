// domain::AccountRepository over MariaDB: tables accounts and api_tokens, plus the
// sign-up limit's gate and events (limit_gates, limit_events).
// Thread-safe (Database is); errors as described in domain/ports.h.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlAccountRepository final : public domain::AccountRepository {
 public:
  explicit MysqlAccountRepository(Database& db) : db_(db) {}

  // One INSERT (in a transaction of its own): 409 username_taken (field "username") when
  // the username_key exists (the unique key decides, so concurrent sign-ups cannot both
  // pass).
  util::Result<domain::Account> Create(const domain::NewAccount& account) override;
  util::Result<std::optional<domain::Account>> FindById(int64_t id) override;
  util::Result<std::optional<domain::Credentials>> FindCredentials(
      const std::string& username_key) override;
  util::Status RecordLogin(int64_t account_id, int64_t now) override;

  util::Status StoreToken(const std::string& token_hash, int64_t account_id, int64_t now) override;
  util::Result<std::optional<domain::Account>> FindByTokenHash(
      const std::string& token_hash) override;
  util::Result<bool> DeleteToken(const std::string& token_hash) override;
  util::Status SetPendingPhone(int64_t account_id, const std::string& phone) override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
