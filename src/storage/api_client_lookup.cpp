#include "storage/api_client_lookup.h"

#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {

util::Result<std::optional<domain::ApiClient>> MysqlApiClientLookup::FindByKeyHash(
    const std::string& key_hash, int64_t now) {
  using Found = std::optional<domain::ApiClient>;
  return db_.Run([&](Connection& conn) -> util::Result<Found> {
    auto rows = conn.Query(
        "SELECT id, name, brand, code_length, ttl, max_attempts, max_sends_per_day, "
        "webhook_url, webhook_disabled_at, disabled FROM api_clients "
        "WHERE key_hash = ? OR (old_key_hash = ? AND old_key_until > ?)",
        {Param::Bytes(key_hash), Param::Bytes(key_hash), Param::Int(now)});
    if (!rows.ok()) return rows.error();
    if (rows.value().empty()) return Found();
    const Row& row = rows.value()[0];
    domain::ApiClient c;
    c.id = row.Int(0);
    c.name = row.Text(1);
    if (!row.IsNull(2)) c.brand = row.Text(2);
    if (!row.IsNull(3)) c.code_length = static_cast<int>(row.Int(3));
    if (!row.IsNull(4)) c.ttl = row.Int(4);
    if (!row.IsNull(5)) c.max_attempts = static_cast<int>(row.Int(5));
    if (!row.IsNull(6)) c.max_sends_per_day = static_cast<int>(row.Int(6));
    c.webhook_url = row.Text(7);
    c.webhook_disabled = row.Int(8) != 0;
    c.disabled = row.Int(9) != 0;
    return Found(std::move(c));
  });
}

}  // namespace phoneverify::storage
