#include "storage/api_client_repository.h"

#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

using OptionalRecord = std::optional<ApiClientRecord>;

// Each statement whole; every SELECT of a row has ReadRecord's column order.
constexpr char kSelectByKey[] =
    "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, webhook_url, "
    "webhook_disabled_at, disabled, webhook_secret_sealed, old_key_until, created_at, updated_at "
    "FROM api_clients WHERE key_hash = ? "
    "UNION ALL "
    "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, webhook_url, "
    "webhook_disabled_at, disabled, webhook_secret_sealed, old_key_until, created_at, updated_at "
    "FROM api_clients WHERE old_key_hash = ? AND old_key_until > ? "
    "LIMIT 1";
constexpr char kSelectById[] =
    "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, webhook_url, "
    "webhook_disabled_at, disabled, webhook_secret_sealed, old_key_until, created_at, updated_at "
    "FROM api_clients WHERE id = ?";
constexpr char kSelectByName[] =
    "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, webhook_url, "
    "webhook_disabled_at, disabled, webhook_secret_sealed, old_key_until, created_at, updated_at "
    "FROM api_clients WHERE name = ?";
constexpr char kSelectByNameForUpdate[] =
    "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, webhook_url, "
    "webhook_disabled_at, disabled, webhook_secret_sealed, old_key_until, created_at, updated_at "
    "FROM api_clients WHERE name = ? FOR UPDATE";
constexpr char kSelectAll[] =
    "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, webhook_url, "
    "webhook_disabled_at, disabled, webhook_secret_sealed, old_key_until, created_at, updated_at "
    "FROM api_clients ORDER BY id";

template <typename T>
std::optional<T> OptionalInt(const Row& row, size_t column) {
  if (row.IsNull(column)) return std::nullopt;
  return static_cast<T>(row.Int(column));
}

ApiClientRecord ReadRecord(const Row& row) {
  ApiClientRecord r;
  domain::ApiClient& c = r.client;
  c.id = row.Int(0);
  c.name = row.Text(1);
  if (!row.IsNull(2)) c.brand = row.Text(2);
  c.code_length = OptionalInt<int>(row, 3);
  c.ttl = OptionalInt<int64_t>(row, 4);
  c.max_attempts = OptionalInt<int>(row, 5);
  c.max_sends_per_day = OptionalInt<int>(row, 6);
  c.webhook_url = row.Text(7);
  r.webhook_disabled_at = row.Int(8);
  c.webhook_disabled = r.webhook_disabled_at != 0;
  c.disabled = row.Int(9) != 0;
  r.webhook_secret_sealed = row.Text(10);
  r.old_key_until = row.Int(11);
  r.created_at = row.Int(12);
  r.updated_at = row.Int(13);
  return r;
}

util::Result<OptionalRecord> FirstRecord(util::Result<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return OptionalRecord();
  return OptionalRecord(ReadRecord(rows.value()[0]));
}

template <typename T>
Param OptionalParam(const std::optional<T>& value) {
  return value ? Param::Int(*value) : Param::Null();
}

Param OptionalText(const std::optional<std::string>& value) {
  return value ? Param::Text(*value) : Param::Null();
}

util::Error ClientExists(const std::string& name) {
  return util::Error::Make(util::ErrorKind::kConflict, "client_exists",
                           "a client named '" + name + "' already exists", "name");
}

util::Result<int64_t> InsertClient(Connection& conn, const NewApiClient& in) {
  const domain::ApiClient& c = in.client;
  auto done = conn.Exec(
      "INSERT INTO api_clients (name, key_hash, brand, code_length, ttl, max_attempts, "
      "max_sends_per_day, webhook_url, webhook_secret_sealed, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {Param::Text(c.name), Param::Bytes(in.key_hash), OptionalText(c.brand),
       OptionalParam(c.code_length), OptionalParam(c.ttl), OptionalParam(c.max_attempts),
       OptionalParam(c.max_sends_per_day), Param::Text(c.webhook_url),
       Param::Bytes(in.webhook_secret_sealed), Param::Int(in.now), Param::Int(in.now)});
  if (!done.ok()) {
    // The unique key decides: two creates of one name race here.
    if (conn.last_errno() == kErrDuplicateKey) return ClientExists(c.name);
    return done.error();
  }
  return static_cast<int64_t>(done.value().insert_id);
}

// `update` applied to `r` in memory.
void Apply(const ApiClientUpdate& update, int64_t now, ApiClientRecord& r) {
  domain::ApiClient& c = r.client;
  if (update.brand) c.brand = *update.brand;
  if (update.code_length) c.code_length = *update.code_length;
  if (update.ttl) c.ttl = *update.ttl;
  if (update.max_attempts) c.max_attempts = *update.max_attempts;
  if (update.max_sends_per_day) c.max_sends_per_day = *update.max_sends_per_day;
  if (update.webhook_url) {
    c.webhook_url = *update.webhook_url;
    r.webhook_disabled_at = 0;
    c.webhook_disabled = false;
  }
  r.updated_at = now;
}

util::Status WriteSettings(Connection& conn, const ApiClientRecord& r) {
  const domain::ApiClient& c = r.client;
  return conn
      .Exec(
          "UPDATE api_clients SET brand = ?, code_length = ?, ttl = ?, max_attempts = ?, "
          "max_sends_per_day = ?, webhook_url = ?, webhook_disabled_at = ?, updated_at = ? "
          "WHERE id = ?",
          {OptionalText(c.brand), OptionalParam(c.code_length), OptionalParam(c.ttl),
           OptionalParam(c.max_attempts), OptionalParam(c.max_sends_per_day),
           Param::Text(c.webhook_url), Param::Int(r.webhook_disabled_at),
           Param::Int(r.updated_at), Param::Int(c.id)})
      .status();
}

}  // namespace

util::Result<std::optional<domain::ApiClient>> MysqlApiClientRepository::FindByKeyHash(
    const std::string& key_hash, int64_t now) {
  using OptionalClient = std::optional<domain::ApiClient>;
  return db_.Run([&](Connection& conn) -> util::Result<OptionalClient> {
    auto found = FirstRecord(conn.Query(
        kSelectByKey, {Param::Bytes(key_hash), Param::Bytes(key_hash), Param::Int(now)}));
    if (!found.ok()) return found.error();
    if (!found.value()) return OptionalClient();
    return OptionalClient(std::move(found.value()->client));
  });
}

util::Result<ApiClientRecord> MysqlApiClientRepository::Create(const NewApiClient& client) {
  return db_.Transact([&](Connection& conn) -> util::Result<ApiClientRecord> {
    auto id = InsertClient(conn, client);
    if (!id.ok()) return id.error();
    auto row = FirstRecord(conn.Query(kSelectById, {Param::Int(id.value())}));
    if (!row.ok()) return row.error();
    if (!row.value()) return util::Error::Internal("the new client's row is missing");
    return std::move(*row.value());
  });
}

util::Result<std::vector<ApiClientRecord>> MysqlApiClientRepository::List() {
  return db_.Run([&](Connection& conn) -> util::Result<std::vector<ApiClientRecord>> {
    auto rows = conn.Query(kSelectAll, {});
    if (!rows.ok()) return rows.error();
    std::vector<ApiClientRecord> out;
    for (const Row& row : rows.value()) out.push_back(ReadRecord(row));
    return out;
  });
}

util::Result<OptionalRecord> MysqlApiClientRepository::FindByName(const std::string& name) {
  return db_.Run([&](Connection& conn) {
    return FirstRecord(conn.Query(kSelectByName, {Param::Text(name)}));
  });
}

util::Result<OptionalRecord> MysqlApiClientRepository::Update(const std::string& name,
                                                              const ApiClientUpdate& update,
                                                              int64_t now) {
  return db_.Transact([&](Connection& conn) -> util::Result<OptionalRecord> {
    auto found = FirstRecord(conn.Query(kSelectByNameForUpdate, {Param::Text(name)}));
    if (!found.ok() || !found.value()) return found;
    ApiClientRecord record = std::move(*found.value());
    Apply(update, now, record);
    if (util::Status st = WriteSettings(conn, record); !st.ok()) return st.error();
    return OptionalRecord(std::move(record));
  });
}

util::Result<bool> MysqlApiClientRepository::RotateKey(const std::string& name,
                                                       const std::string& new_key_hash,
                                                       int64_t grace_seconds, int64_t now) {
  return db_.Run([&](Connection& conn) -> util::Result<bool> {
    // Assignments run left to right (and under SIMULTANEOUS_ASSIGNMENT all read the old
    // row): either way old_key_hash gets the key being replaced.
    auto done = conn.Exec(
        "UPDATE api_clients SET old_key_hash = key_hash, old_key_until = ?, key_hash = ?, "
        "updated_at = ? WHERE name = ?",
        {Param::Int(now + grace_seconds), Param::Bytes(new_key_hash), Param::Int(now),
         Param::Text(name)});
    if (!done.ok()) return done.error();
    return done.value().affected_rows > 0;
  });
}

util::Result<std::optional<bool>> MysqlApiClientRepository::SetDisabled(const std::string& name,
                                                                        bool disabled,
                                                                        int64_t now) {
  using Changed = std::optional<bool>;
  return db_.Transact([&](Connection& conn) -> util::Result<Changed> {
    auto rows = conn.Query("SELECT id, disabled FROM api_clients WHERE name = ? FOR UPDATE",
                           {Param::Text(name)});
    if (!rows.ok()) return rows.error();
    if (rows.value().empty()) return Changed();
    const Row& row = rows.value()[0];
    if ((row.Int(1) != 0) == disabled) return Changed(false);
    auto done = conn.Exec("UPDATE api_clients SET disabled = ?, updated_at = ? WHERE id = ?",
                          {Param::Int(disabled ? 1 : 0), Param::Int(now), Param::Int(row.Int(0))});
    if (!done.ok()) return done.error();
    return Changed(true);
  });
}

}  // namespace phoneverify::storage
