// API clients of the verification API (contract section 7) over MariaDB: table api_clients
// (sql/015). FindByKeyHash is the API's port (domain::ApiClientRepository); the rest is what
// `phoneverify-admin client ...` needs. Prepared statements only; every multi-step change
// is one transaction.
//
// Keys arrive here only as hashes (util::Hash of the key) and the webhook signing secret
// only sealed (util::Seal with the outbox key): this class never sees either in clear.
//
// Errors: Error::Unavailable() when the database cannot be reached, Error::Internal()
// otherwise (see storage/database.h); the admin operations add the ones they list.
// Thread-safe (Database is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/api_client.h"
#include "util/status.h"

namespace phoneverify::storage {

class Database;

// One api_clients row as the operator sees it.
struct ApiClientRecord {
  domain::ApiClient client;
  std::string webhook_secret_sealed;
  int64_t webhook_disabled_at = 0;  // when the endpoint answered 410; 0 = never
  int64_t old_key_until = 0;        // the previous key works until then (0: none)
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct NewApiClient {
  // name, settings (nullopt = follow the configuration) and webhook_url; id, disabled and
  // webhook_disabled are ignored.
  domain::ApiClient client;
  std::string key_hash;               // util::Hash(api key): 32 raw bytes
  std::string webhook_secret_sealed;  // util::Seal(outbox key, "whsec_...")
  int64_t now = 0;
};

// What `client update` changes. A field left nullopt is kept; a setting whose inner value
// is nullopt is unset (NULL: it follows the configuration again).
struct ApiClientUpdate {
  std::optional<std::optional<std::string>> brand;
  std::optional<std::optional<int>> code_length;
  std::optional<std::optional<int64_t>> ttl;
  std::optional<std::optional<int>> max_attempts;
  std::optional<std::optional<int>> max_sends_per_day;
  // "" removes the webhook. Any value given also clears webhook_disabled_at: the operator
  // says where the endpoint is now, so a 410 from the old one no longer holds.
  std::optional<std::string> webhook_url;
};

class MysqlApiClientRepository final : public domain::ApiClientRepository {
 public:
  explicit MysqlApiClientRepository(Database& db) : db_(db) {}

  // See domain::ApiClientRepository: the current key, or the previous one while
  // old_key_until > now; disabled clients too. One indexed read.
  util::Result<std::optional<domain::ApiClient>> FindByKeyHash(const std::string& key_hash,
                                                               int64_t now) override;

  // Inserts the client and returns its row. Error kConflict "client_exists" (field
  // "name") when the name is taken: the unique key decides, so two concurrent creates
  // cannot both succeed.
  util::Result<ApiClientRecord> Create(const NewApiClient& client);

  // Every client, in id order.
  util::Result<std::vector<ApiClientRecord>> List();
  util::Result<std::optional<ApiClientRecord>> FindByName(const std::string& name);

  // Applies `update` to the client named `name` (read and write in one transaction) and
  // returns the row as it now is; nullopt when there is no such client.
  util::Result<std::optional<ApiClientRecord>> Update(const std::string& name,
                                                      const ApiClientUpdate& update, int64_t now);

  // The current key becomes the previous one, working until now + grace_seconds (0: at
  // once no longer); `new_key_hash` becomes the current key. A key older than the current
  // one stops working. False when there is no such client.
  util::Result<bool> RotateKey(const std::string& name, const std::string& new_key_hash,
                               int64_t grace_seconds, int64_t now);

  // Sets the disabled flag. nullopt when there is no such client, else whether it changed.
  util::Result<std::optional<bool>> SetDisabled(const std::string& name, bool disabled,
                                                int64_t now);

 private:
  Database& db_;
};

}  // namespace phoneverify::storage
