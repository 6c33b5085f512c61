// One MariaDB connection (MariaDB Connector/C) and its prepared statements.
//
// Only connection.cpp includes <mysql.h>; this header names the C handles by their struct
// tags. Repositories talk SQL through Exec/Query with '?' placeholders and Param values:
// SQL text is always a constant in the source (a string literal or constexpr array that
// lives as long as the program), never built from input.
//
// Errors: every failed call returns Error::Unavailable() (connection lost, timeout,
// server gone, too many connections) or Error::Internal() (anything else) and leaves the
// server's error number in last_errno() for the caller's retry decisions (Database).
// A connection-class failure drops the connection and all its statements; the next call
// reconnects. MYSQL_OPT_RECONNECT is never used: it would silently drop the prepared
// statements and any open transaction.
//
// Thread-compatible: one thread at a time (Database hands connections out one per call).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

// MYSQL and MYSQL_STMT of MariaDB Connector/C.
struct st_mysql;
struct st_mysql_stmt;

namespace phoneverify::storage {

// Server and client error numbers the storage layer reacts to.
inline constexpr unsigned kErrDuplicateKey = 1062;  // ER_DUP_ENTRY
inline constexpr unsigned kErrLockWaitTimeout = 1205;
inline constexpr unsigned kErrDeadlock = 1213;  // also Galera certification failure

// True for errors meaning "no usable connection": lost, gone away, cannot connect,
// killed, server shutting down, Galera node not ready.
bool IsConnectionError(unsigned error_number);
// On a db_hosts node (Galera), IsConnectionError or 1180 (ER_ERROR_DURING_COMMIT: the
// node lost the cluster while committing; outcome unknown): the node is left for another.
bool IsNodeError(unsigned error_number);
// True for errors after which the whole transaction can simply run again.
bool IsRetryableConflict(unsigned error_number);

// mysql_library_init(): once per process before threads open connections (Database's
// constructor calls it). False when the client library cannot start.
bool InitClientLibrary();

// A value bound to one '?' placeholder.
class Param {
 public:
  enum class Type { kNull, kInt, kText, kBytes };
  static Param Int(int64_t value);
  static Param Text(std::string_view value);   // character data (utf8mb4 / ascii columns)
  static Param Bytes(std::string_view value);  // raw bytes (VARBINARY columns)
  static Param Null();

  Type type() const { return type_; }
  const int64_t& int_value() const { return int_; }
  const std::string& text() const { return text_; }

 private:
  Type type_ = Type::kNull;
  int64_t int_ = 0;
  std::string text_;
};

// One result row. Integer columns are read as int64, every other column as bytes.
class Row {
 public:
  struct Cell {
    bool is_null = true;
    int64_t int_value = 0;
    std::string text;
  };
  explicit Row(std::vector<Cell> cells) : cells_(std::move(cells)) {}

  size_t size() const { return cells_.size(); }
  bool IsNull(size_t column) const { return cells_.at(column).is_null; }
  int64_t Int(size_t column) const { return cells_.at(column).int_value; }  // 0 if NULL
  const std::string& Text(size_t column) const { return cells_.at(column).text; }

 private:
  std::vector<Cell> cells_;
};

struct ExecResult {
  uint64_t affected_rows = 0;  // rows matched (CLIENT_FOUND_ROWS), not only changed
  uint64_t insert_id = 0;
};

struct ConnectionOptions {
  std::string socket;  // used when host is empty
  std::string host;
  unsigned port = 3306;
  std::string user;
  std::string password;
  std::string database;
  unsigned timeout_seconds = 3;  // connect, read and write timeouts
  // A node of db_hosts: right after connecting, the node's health is checked
  // (storage/node_health.h; an unhealthy node fails the connect with 1047, a
  // connection-class error) and on a Galera node the session gets wsrep_sync_wait = 1, so
  // reads see every write committed anywhere in the cluster before they started.
  bool cluster_node = false;
};

// Where `options` lead, for logs and /healthz: "host:port" ("[v6]:port"), or "local"
// for the unix socket.
std::string NodeAddress(const ConnectionOptions& options);

// Owns one MYSQL_STMT*. Copy deleted; a move leaves the source empty.
class Statement {
 public:
  Statement() = default;
  explicit Statement(st_mysql_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;

  st_mysql_stmt* get() const { return stmt_; }

 private:
  void Close();
  st_mysql_stmt* stmt_ = nullptr;
};

class Connection {
 public:
  // Does not connect: the first call does (so processes can fork first).
  explicit Connection(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;

  // A statement that returns no rows (INSERT, UPDATE, DELETE, SET).
  util::Result<ExecResult> Exec(const char* sql, const std::vector<Param>& params);
  // A statement that returns rows (SELECT, also ... FOR UPDATE). All rows are buffered.
  util::Result<std::vector<Row>> Query(const char* sql, const std::vector<Param>& params);
  // A statement that changes data and returns rows (INSERT ... RETURNING).
  util::Result<std::vector<Row>> ExecReturning(const char* sql, const std::vector<Param>& params);
  // CALL of a stored procedure that may change data: the rows of its first result set
  // (none if it returns none); the results after it are read and dropped.
  util::Result<std::vector<Row>> Call(const char* sql, const std::vector<Param>& params);

  util::Status Begin();
  util::Status Commit();
  util::Status Rollback();

  // Connects now if not connected (what the first statement would do).
  util::Status Open();

  bool connected() const { return mysql_ != nullptr; }
  // NodeAddress() of this connection's server.
  std::string address() const { return NodeAddress(options_); }
  // Closes the connection and its statements; the next call reconnects.
  void Drop();

  // Error number of the latest failed call since ClearTracking() (0: none failed).
  unsigned last_errno() const { return last_errno_; }
  // True when, since ClearTracking(), a statement that may change data was sent (Exec or
  // COMMIT): after a lost connection its outcome is unknown, so it must not be replayed.
  bool possibly_wrote() const { return possibly_wrote_; }
  void ClearTracking();

 private:
  util::Status EnsureConnected();
  util::Status Connect();
  util::Status SetOptions(st_mysql* mysql) const;
  util::Status ConfigureSession();
  util::Status CheckNode();
  util::Result<st_mysql_stmt*> Prepare(const char* sql);
  util::Status Execute(st_mysql_stmt* stmt, const std::vector<Param>& params);
  util::Result<std::vector<Row>> FetchAll(st_mysql_stmt* stmt);
  util::Status SimpleQuery(const char* sql);
  util::Error Fail(unsigned error_number);
  util::Error FailConnection();
  util::Error FailStatement(st_mysql_stmt* stmt);
  void Close();

  ConnectionOptions options_;
  st_mysql* mysql_ = nullptr;
  // By the address of the SQL text: the texts are constants (string literals), so the
  // address names the statement without hashing or copying the text on every call.
  std::unordered_map<const char*, Statement> statements_;
  unsigned last_errno_ = 0;
  bool possibly_wrote_ = false;
  bool in_transaction_ = false;
  bool broken_ = false;  // dropped inside a transaction: refuse work until Rollback()
};

}  // namespace phoneverify::storage
