// domain::HealthCheck over MariaDB: "SELECT 1" within the configured db_timeout, on the
// node in use (db_hosts), which it names. Thread-safe.
#pragma once

#include "domain/ports.h"

namespace phoneverify::storage {

class Database;

class MysqlHealthCheck final : public domain::HealthCheck {
 public:
  explicit MysqlHealthCheck(Database& db) : db_(db) {}

  util::Result<std::string> AnsweringNode() override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
