#include "storage/common_sql.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "util/crypto.h"

namespace phoneverify::storage {
namespace {

// Length of the valid UTF-8 sequence starting at text[i]; 0 when it is not valid.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t len = 0;
  if ((lead & 0xE0) == 0xC0) {
    len = 2;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4;
  } else {
    return 0;
  }
  // Smallest code point each length may encode (longer forms are invalid "overlong" ones).
  static constexpr uint32_t kMinCodePoint[] = {0, 0, 0x80, 0x800, 0x10000};
  const uint32_t min = kMinCodePoint[len];
  if (i + len > text.size()) return 0;
  uint32_t code_point = lead & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  const bool surrogate = code_point >= 0xD800 && code_point <= 0xDFFF;
  if (code_point < min || code_point > 0x10FFFF || surrogate) return 0;
  return len;
}

bool GateLess(const GateKey& a, const GateKey& b) {
  return std::tie(a.scope, a.key) < std::tie(b.scope, b.key);
}

bool GateEqual(const GateKey& a, const GateKey& b) { return a.scope == b.scope && a.key == b.key; }

util::Result<domain::WindowUsage> ReadOneUsage(Connection& conn, const domain::WindowLimit& limit,
                                               int64_t now) {
  auto rows = conn.Query(
      "SELECT COUNT(*), COALESCE(MIN(at), 0) FROM limit_events "
      "WHERE scope = ? AND key_ = ? AND at > ?",
      {Param::Text(limit.scope), Param::Bytes(StoredKey(limit.key)),
       Param::Int(now - limit.window)});
  if (!rows.ok()) return rows.error();
  domain::WindowUsage usage;
  if (!rows.value().empty()) {
    usage.count = static_cast<int>(rows.value()[0].Int(0));
    usage.oldest = rows.value()[0].Int(1);
  }
  return usage;
}

}  // namespace

std::string StoredKey(const std::string& key) {
  if (key.size() <= kKeyColumnBytes) return key;
  return "#" + util::HexEncode(util::Hash(key));
}

std::string ClampUtf8(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size() && chars < max_chars; ++chars) {
    const size_t len = Utf8SequenceLength(text, i);
    if (len == 0) {
      out.push_back('?');
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::vector<GateKey> GatesFor(const std::vector<domain::WindowLimit>& limits,
                              const std::vector<GateKey>& extra) {
  std::vector<GateKey> gates = extra;
  for (const auto& limit : limits) gates.push_back({limit.scope, limit.key});
  std::sort(gates.begin(), gates.end(), GateLess);
  gates.erase(std::unique(gates.begin(), gates.end(), GateEqual), gates.end());
  return gates;
}

namespace {

// ON DUPLICATE KEY takes an exclusive lock on an existing row at once; a plain INSERT
// IGNORE + SELECT FOR UPDATE would take a shared lock first and deadlock two transactions
// upgrading it.
constexpr char kLockGateSql[] =
    "INSERT INTO limit_gates (scope, key_, last_at, prev_at) VALUES (?, ?, ?, 0) "
    "ON DUPLICATE KEY UPDATE prev_at = last_at, last_at = VALUES(last_at)";

// `gates` with StoredKey applied, in lock order, without duplicates.
std::vector<GateKey> StoredGates(std::vector<GateKey> gates) {
  for (GateKey& gate : gates) gate.key = StoredKey(gate.key);
  std::sort(gates.begin(), gates.end(), GateLess);
  gates.erase(std::unique(gates.begin(), gates.end(), GateEqual), gates.end());
  return gates;
}

}  // namespace

util::Status LockGates(Connection& conn, std::vector<GateKey> gates, int64_t now) {
  for (const GateKey& gate : StoredGates(std::move(gates))) {
    auto done = conn.Exec(kLockGateSql, {Param::Text(gate.scope), Param::Bytes(gate.key),
                                         Param::Int(now)});
    if (!done.ok()) return done.error();
  }
  return util::Status::Ok();
}

std::string MadeUpKey(util::Random& random) { return "~" + random.Hex(16); }

util::Result<int64_t> GateLastAt(Connection& conn, const GateKey& gate) {
  auto rows = conn.Query("SELECT last_at FROM limit_gates WHERE scope = ? AND key_ = ?",
                         {Param::Text(gate.scope), Param::Bytes(StoredKey(gate.key))});
  if (!rows.ok()) return rows.error();
  return rows.value().empty() ? int64_t{0} : rows.value()[0].Int(0);
}

util::Result<std::vector<domain::WindowUsage>> ReadUsage(
    Connection& conn, const std::vector<domain::WindowLimit>& limits, int64_t now) {
  std::vector<domain::WindowUsage> usage;
  usage.reserve(limits.size());
  for (const auto& limit : limits) {
    auto one = ReadOneUsage(conn, limit, now);
    if (!one.ok()) return one.error();
    usage.push_back(one.value());
  }
  return usage;
}

util::Status InsertEvents(Connection& conn, const std::vector<domain::WindowLimit>& limits,
                          int64_t now) {
  return InsertEventIds(conn, limits, now).status();
}

util::Result<std::vector<int64_t>> InsertEventIds(
    Connection& conn, const std::vector<domain::WindowLimit>& limits, int64_t now) {
  std::vector<int64_t> ids;
  for (const auto& limit : limits) {
    auto done =
        conn.Exec("INSERT INTO limit_events (scope, key_, at) VALUES (?, ?, ?)",
                  {Param::Text(limit.scope), Param::Bytes(StoredKey(limit.key)), Param::Int(now)});
    if (!done.ok()) return done.error();
    ids.push_back(static_cast<int64_t>(done.value().insert_id));
  }
  return ids;
}

util::Result<std::optional<int64_t>> FindPhoneOwner(Connection& conn, const std::string& phone) {
  auto rows = conn.Query("SELECT id FROM accounts WHERE phone = ? AND phone_verified = 1",
                         {Param::Text(phone)});
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(rows.value()[0].Int(0));
}

domain::Account ReadAccount(const Row& row) {
  domain::Account account;
  account.id = row.Int(0);
  account.username = row.Text(1);
  account.email = row.Text(2);
  account.first_name = row.Text(3);
  account.last_name = row.Text(4);
  if (!row.IsNull(5)) account.phone = row.Text(5);
  account.pending_phone = row.Text(6);
  account.phone_verified = row.Int(7) != 0;
  account.is_active = row.Int(8) != 0;
  account.date_joined = row.Int(9);
  return account;
}

}  // namespace phoneverify::storage
