// domain::SessionRepository over MariaDB (table sessions, sql/002_sessions.sql).
// Each method is one autocommit statement. Thread-safe (Database is); errors as described
// in domain/ports.h.
#pragma once

#include <optional>
#include <string>

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlSessionRepository final : public domain::SessionRepository {
 public:
  explicit MysqlSessionRepository(Database& db) : db_(db) {}

  util::Status Create(const std::string& id_hash, int64_t account_id, int64_t now) override;
  // Joins the owner; sessions of inactive accounts are not found.
  util::Result<std::optional<domain::SessionRecord>> Find(const std::string& id_hash) override;
  util::Status Touch(const std::string& id_hash, int64_t now) override;
  util::Result<bool> Delete(const std::string& id_hash) override;
  util::Result<int> DeleteExpired(int64_t idle_before, int64_t created_before, int max) override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
