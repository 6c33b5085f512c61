// TEMPORARY until the clients branch lands: domain::ApiClientRepository over api_clients.
#pragma once

#include "domain/api_client.h"

namespace phoneverify::storage {

class Database;

class MysqlApiClientLookup final : public domain::ApiClientRepository {
 public:
  explicit MysqlApiClientLookup(Database& db) : db_(db) {}
  util::Result<std::optional<domain::ApiClient>> FindByKeyHash(const std::string& key_hash,
                                                               int64_t now) override;

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
