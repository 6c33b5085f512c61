// Statements shared by several repositories: limit gates and events, the phone owner,
// and fitting untrusted text into columns. Internal to src/storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/ports.h"
#include "storage/connection.h"
#include "util/random.h"
#include "util/status.h"

namespace phoneverify::storage {

// Gate scope whose row per phone stamps the latest accepted send to that phone.
inline constexpr char kLastSendScope[] = "last_send";
inline constexpr size_t kKeyColumnBytes = 190;  // limit_gates.key_, limit_events.key_

// The stored form of a limit key: keys that do not fit the column become "#" followed by
// the hex BLAKE2b-256 of the key (deterministic, so reads and writes agree).
std::string StoredKey(const std::string& key);

// Text for a utf8mb4 VARCHAR(max_chars) column: invalid UTF-8 bytes become '?' and the
// text is cut after max_chars characters (strict mode would otherwise reject it).
std::string ClampUtf8(std::string_view text, size_t max_chars);

struct GateKey {
  std::string scope;
  std::string key;  // as given; StoredKey is applied inside
};

// The gates of a send or sign-up: `limits` plus `extra`, without duplicates.
std::vector<GateKey> GatesFor(const std::vector<domain::WindowLimit>& limits,
                              const std::vector<GateKey>& extra);

// Creates missing gate rows and locks all of them, in one global order so that two
// transactions wait for each other instead of deadlocking, and writes `now` into each
// (last_at; the value it replaces goes to prev_at): the write that Galera certifies.
// A refusal rolls the stamps back with the transaction. In a transaction only.
util::Status LockGates(Connection& conn, std::vector<GateKey> gates, int64_t now);

// A key for a request the client gave none: "~" + 128 random bits. It guards only the
// storage's own re-run of a write whose COMMIT went unanswered; no client can send it.
std::string MadeUpKey(util::Random& random);

// The gate's last_at, 0 when the gate does not exist.
util::Result<int64_t> GateLastAt(Connection& conn, const GateKey& gate);

// Usage of each limit at `now` (events with at > now - window), in order.
util::Result<std::vector<domain::WindowUsage>> ReadUsage(
    Connection& conn, const std::vector<domain::WindowLimit>& limits, int64_t now);
// One event per limit at `now`.
util::Status InsertEvents(Connection& conn, const std::vector<domain::WindowLimit>& limits,
                          int64_t now);
// The same, returning the events' ids (same order as `limits`).
util::Result<std::vector<int64_t>> InsertEventIds(
    Connection& conn, const std::vector<domain::WindowLimit>& limits, int64_t now);

// The account that verified `phone`, if any.
util::Result<std::optional<int64_t>> FindPhoneOwner(Connection& conn, const std::string& phone);

// The account in columns 0-9 of a row selected as: id, username, email, first_name,
// last_name, phone, pending_phone, phone_verified, is_active, date_joined.
domain::Account ReadAccount(const Row& row);

}  // namespace phoneverify::storage
