#include "storage/connection.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>
#include <utility>

#include "storage/node_health.h"

namespace phoneverify::storage {
namespace {

constexpr size_t kMinColumnBuffer = 64;
constexpr char kSetLockWaitSql[] = "SET SESSION innodb_lock_wait_timeout = ?";

bool IsIntegerType(enum_field_types type) {
  switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
      return true;
    default:
      return false;
  }
}

// Client-side failures leave the protocol state unknown: such a connection is not reused.
bool IsClientError(unsigned error_number) {
  return (error_number >= CR_MIN_ERROR && error_number <= CR_MAX_ERROR) ||
         (error_number >= CR_EVENT_CREATE_FAILED && error_number <= CR_MARIADB_LAST_ERROR);
}

// Where one result column is fetched into.
struct ColumnBuffer {
  int64_t int_value = 0;
  std::string bytes;
  unsigned long length = 0;
  my_bool is_null = 0;
  my_bool error = 0;
};

MYSQL_BIND BindParam(const Param& param) {
  MYSQL_BIND bind{};
  // Connector/C only reads input buffers; MYSQL_BIND merely lacks const.
  switch (param.type()) {
    case Param::Type::kNull:
      bind.buffer_type = MYSQL_TYPE_NULL;
      break;
    case Param::Type::kInt:
      bind.buffer_type = MYSQL_TYPE_LONGLONG;
      bind.buffer = const_cast<int64_t*>(&param.int_value());
      break;
    case Param::Type::kText:
    case Param::Type::kBytes:
      // BLOB parameters are sent as the binary character set, so bytes are never
      // validated or converted as utf8mb4.
      bind.buffer_type = param.type() == Param::Type::kText ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
      bind.buffer = const_cast<char*>(param.text().data());
      bind.buffer_length = param.text().size();
      break;
  }
  return bind;
}

MYSQL_BIND BindColumn(const MYSQL_FIELD& field, ColumnBuffer& column) {
  MYSQL_BIND bind{};
  if (IsIntegerType(field.type)) {
    bind.buffer_type = MYSQL_TYPE_LONGLONG;
    bind.buffer = &column.int_value;
    bind.is_unsigned = (field.flags & UNSIGNED_FLAG) != 0;
  } else {
    column.bytes.resize(std::max<size_t>(field.max_length, kMinColumnBuffer));
    bind.buffer_type = MYSQL_TYPE_BLOB;
    bind.buffer = column.bytes.data();
    bind.buffer_length = column.bytes.size();
  }
  bind.length = &column.length;
  bind.is_null = &column.is_null;
  bind.error = &column.error;
  return bind;
}

// Frees a statement's buffered result set on every path out of ReadRows.
class StoredResult {
 public:
  explicit StoredResult(MYSQL_STMT* stmt) : stmt_(stmt) {}
  ~StoredResult() { mysql_stmt_free_result(stmt_); }
  StoredResult(const StoredResult&) = delete;
  StoredResult& operator=(const StoredResult&) = delete;

 private:
  MYSQL_STMT* stmt_;
};

using Metadata = std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)>;

// Reads a column longer than its buffer (a fallback: max_length normally sizes buffers).
bool FetchLongColumn(MYSQL_STMT* stmt, unsigned index, unsigned long length, std::string& out) {
  out.resize(length);
  unsigned long fetched = 0;
  MYSQL_BIND bind{};
  bind.buffer_type = MYSQL_TYPE_BLOB;
  bind.buffer = out.data();
  bind.buffer_length = length;
  bind.length = &fetched;
  if (mysql_stmt_fetch_column(stmt, &bind, index, 0) != 0) return false;
  out.resize(std::min(fetched, length));
  return true;
}

bool ReadCell(MYSQL_STMT* stmt, unsigned index, const MYSQL_FIELD& field,
              const ColumnBuffer& column, Row::Cell& cell) {
  cell.is_null = column.is_null != 0;
  if (cell.is_null) return true;
  if (IsIntegerType(field.type)) {
    cell.int_value = column.int_value;
    return column.error == 0;  // out of int64 range: never expected
  }
  if (column.length <= column.bytes.size()) {
    cell.text.assign(column.bytes.data(), column.length);
  } else if (!FetchLongColumn(stmt, index, column.length, cell.text)) {
    return false;
  }
  // An integer-valued DECIMAL (COALESCE or arithmetic mixing signed and unsigned
  // BIGINT gives one) reads as its number too, not as 0.
  if (field.type == MYSQL_TYPE_NEWDECIMAL || field.type == MYSQL_TYPE_DECIMAL) {
    const char* end = cell.text.data() + cell.text.size();
    std::from_chars(cell.text.data(), end, cell.int_value);
  }
  return true;
}

// Buffers every row of an executed statement. Returns 0 or the error number; the result
// set is freed before returning either way.
unsigned ReadRows(MYSQL_STMT* stmt, std::vector<Row>& rows) {
  Metadata meta(mysql_stmt_result_metadata(stmt), &mysql_free_result);
  if (meta == nullptr) return mysql_stmt_errno(stmt);  // 0: no result set
  if (mysql_stmt_store_result(stmt) != 0) return mysql_stmt_errno(stmt);
  StoredResult stored(stmt);
  const unsigned count = mysql_num_fields(meta.get());
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta.get());
  std::vector<ColumnBuffer> columns(count);
  std::vector<MYSQL_BIND> binds(count);
  for (unsigned i = 0; i < count; ++i) binds[i] = BindColumn(fields[i], columns[i]);
  if (count > 0 && mysql_stmt_bind_result(stmt, binds.data()) != 0) {
    return mysql_stmt_errno(stmt);
  }
  for (;;) {
    const int rc = mysql_stmt_fetch(stmt);
    if (rc == MYSQL_NO_DATA) return 0;
    if (rc == 1) return mysql_stmt_errno(stmt);
    std::vector<Row::Cell> cells(count);
    for (unsigned i = 0; i < count; ++i) {
      if (!ReadCell(stmt, i, fields[i], columns[i], cells[i])) return CR_UNKNOWN_ERROR;
    }
    rows.emplace_back(std::move(cells));
  }
}
}  // namespace

bool InitClientLibrary() { return mysql_library_init(0, nullptr, nullptr) == 0; }

bool IsConnectionError(unsigned error_number) {
  switch (error_number) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_CON_COUNT_ERROR:
    case ER_ACCESS_DENIED_ERROR:
    case ER_BAD_DB_ERROR:
    case ER_UNKNOWN_COM_ERROR:  // Galera: node not ready for application use
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
      return true;
    default:
      return false;
  }
}

bool IsNodeError(unsigned error_number) {
  return IsConnectionError(error_number) || error_number == ER_ERROR_DURING_COMMIT;
}

bool IsRetryableConflict(unsigned error_number) {
  return error_number == kErrDeadlock || error_number == kErrLockWaitTimeout;
}

std::string NodeAddress(const ConnectionOptions& options) {
  if (options.host.empty()) return "local";
  const bool v6 = options.host.find(':') != std::string::npos;
  return (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(options.port);
}

// ---- Param ------------------------------------------------------------------------

Param Param::Int(int64_t value) {
  Param p;
  p.type_ = Type::kInt;
  p.int_ = value;
  return p;
}

Param Param::Text(std::string_view value) {
  Param p;
  p.type_ = Type::kText;
  p.text_ = std::string(value);
  return p;
}

Param Param::Bytes(std::string_view value) {
  Param p;
  p.type_ = Type::kBytes;
  p.text_ = std::string(value);
  return p;
}

Param Param::Null() { return Param(); }

// ---- Statement --------------------------------------------------------------------

Statement::~Statement() { Close(); }

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Close();
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

void Statement::Close() {
  // The result is ignored on purpose: a failed close (dead connection) frees the handle
  // anyway and there is nothing left to do with the error.
  if (stmt_ != nullptr) static_cast<void>(mysql_stmt_close(stmt_));
  stmt_ = nullptr;
}

// ---- Connection: lifetime ------------------------------------------------------------

Connection::Connection(ConnectionOptions options) : options_(std::move(options)) {}

Connection::~Connection() { Close(); }

Connection::Connection(Connection&& other) noexcept
    : options_(std::move(other.options_)),
      mysql_(std::exchange(other.mysql_, nullptr)),
      statements_(std::move(other.statements_)),
      last_errno_(other.last_errno_),
      possibly_wrote_(other.possibly_wrote_),
      in_transaction_(std::exchange(other.in_transaction_, false)),
      broken_(std::exchange(other.broken_, false)) {
  other.statements_.clear();
}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    Close();
    options_ = std::move(other.options_);
    mysql_ = std::exchange(other.mysql_, nullptr);
    statements_ = std::move(other.statements_);
    other.statements_.clear();
    last_errno_ = other.last_errno_;
    possibly_wrote_ = other.possibly_wrote_;
    in_transaction_ = std::exchange(other.in_transaction_, false);
    broken_ = std::exchange(other.broken_, false);
  }
  return *this;
}

void Connection::Close() {
  statements_.clear();  // statements first: they belong to the connection
  if (mysql_ != nullptr) mysql_close(mysql_);
  mysql_ = nullptr;
}

void Connection::Drop() {
  Close();
  // Whatever the transaction did is gone with the session; later calls must not run
  // outside it as if nothing happened.
  if (in_transaction_) broken_ = true;
}

void Connection::ClearTracking() {
  last_errno_ = 0;
  possibly_wrote_ = false;
}

// ---- Connection: connecting ----------------------------------------------------------

util::Status Connection::EnsureConnected() {
  if (broken_) {
    last_errno_ = CR_SERVER_LOST;
    return util::Error::Unavailable();
  }
  if (mysql_ != nullptr) return util::Status::Ok();
  return Connect();
}

util::Status Connection::SetOptions(MYSQL* mysql) const {
  const unsigned timeout = options_.timeout_seconds;
  const unsigned protocol = options_.host.empty() ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
  if (mysql_options(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout) != 0 ||
      mysql_options(mysql, MYSQL_OPT_READ_TIMEOUT, &timeout) != 0 ||
      mysql_options(mysql, MYSQL_OPT_WRITE_TIMEOUT, &timeout) != 0 ||
      mysql_options(mysql, MYSQL_OPT_PROTOCOL, &protocol) != 0 ||
      mysql_options(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
    return util::Error::Internal();
  }
  return util::Status::Ok();
}

util::Status Connection::Connect() {
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) {
    last_errno_ = CR_OUT_OF_MEMORY;
    return util::Error::Internal();
  }
  if (util::Status st = SetOptions(mysql); !st.ok()) {
    mysql_close(mysql);
    last_errno_ = CR_UNKNOWN_ERROR;
    return st;
  }
  const bool tcp = !options_.host.empty();
  // CLIENT_FOUND_ROWS: affected_rows counts matched rows, so "did this UPDATE apply"
  // does not depend on whether the values changed.
  if (mysql_real_connect(mysql, tcp ? options_.host.c_str() : nullptr, options_.user.c_str(),
                         options_.password.c_str(), options_.database.c_str(),
                         tcp ? options_.port : 0, tcp ? nullptr : options_.socket.c_str(),
                         CLIENT_FOUND_ROWS) == nullptr) {
    last_errno_ = mysql_errno(mysql);
    mysql_close(mysql);
    return util::Error::Unavailable();  // whatever the reason, the database is not usable
  }
  mysql_ = mysql;
  util::Status st = ConfigureSession();
  if (st.ok() && options_.cluster_node) st = CheckNode();
  if (!st.ok()) Close();
  return st;
}

util::Status Connection::Open() { return EnsureConnected(); }

util::Status Connection::ConfigureSession() {
  // READ COMMITTED: each read sees the latest commit, and no gap locks (fewer deadlocks).
  if (util::Status st = SimpleQuery("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
      !st.ok()) {
    return st;
  }
  // A lock wait must end with an error (1205, retried) before the client read timeout
  // turns it into a lost connection.
  const unsigned timeout = options_.timeout_seconds;
  const int64_t lock_wait = timeout > 1 ? timeout - 1 : 1;
  util::Result<MYSQL_STMT*> stmt = Prepare(kSetLockWaitSql);
  if (!stmt.ok()) return stmt.status();
  util::Status st = Execute(stmt.value(), {Param::Int(lock_wait)});
  statements_.erase(kSetLockWaitSql);
  return st;
}

util::Status Connection::CheckNode() {
  util::Result<std::vector<Row>> rows = Query(kNodeStateSql, {});
  statements_.erase(kNodeStateSql);  // asked once per connection
  if (!rows.ok()) return rows.status();
  const NodeState node = ReadNodeState(rows.value());
  if (!node.healthy()) {
    // What the node itself answers to statements until it is ready: a connection-class
    // error, so Database moves to another node.
    last_errno_ = ER_UNKNOWN_COM_ERROR;
    return util::Error::Unavailable();
  }
  // Causal reads: a code sent through another host verifies here at once. Only a Galera
  // node knows the variable.
  if (node.galera) return SimpleQuery("SET SESSION wsrep_sync_wait = 1");
  return util::Status::Ok();
}

// ---- Connection: errors --------------------------------------------------------------

util::Error Connection::Fail(unsigned error_number) {
  if (error_number == 0) error_number = CR_UNKNOWN_ERROR;  // e.g. out of memory
  last_errno_ = error_number;
  const bool connection_lost =
      options_.cluster_node ? IsNodeError(error_number) : IsConnectionError(error_number);
  if (connection_lost || IsClientError(error_number)) Drop();
  if (connection_lost || IsRetryableConflict(error_number)) return util::Error::Unavailable();
  return util::Error::Internal();
}

util::Error Connection::FailConnection() { return Fail(mysql_errno(mysql_)); }

util::Error Connection::FailStatement(MYSQL_STMT* stmt) { return Fail(mysql_stmt_errno(stmt)); }

// ---- Connection: statements ----------------------------------------------------------

util::Result<MYSQL_STMT*> Connection::Prepare(const char* sql) {
  if (util::Status st = EnsureConnected(); !st.ok()) return st.error();
  auto cached = statements_.find(sql);
  if (cached != statements_.end()) return cached->second.get();
  Statement stmt(mysql_stmt_init(mysql_));
  if (stmt.get() == nullptr) return FailConnection();
  if (mysql_stmt_prepare(stmt.get(), sql, std::strlen(sql)) != 0) {
    return FailStatement(stmt.get());
  }
  const my_bool update_max_length = 1;  // lets FetchAll size its buffers exactly
  if (mysql_stmt_attr_set(stmt.get(), STMT_ATTR_UPDATE_MAX_LENGTH, &update_max_length) != 0) {
    return FailStatement(stmt.get());
  }
  MYSQL_STMT* raw = stmt.get();
  statements_.emplace(sql, std::move(stmt));
  return raw;
}

util::Status Connection::Execute(MYSQL_STMT* stmt, const std::vector<Param>& params) {
  if (mysql_stmt_param_count(stmt) != params.size()) {
    last_errno_ = CR_INVALID_PARAMETER_NO;
    return util::Error::Internal();
  }
  std::vector<MYSQL_BIND> binds;
  binds.reserve(params.size());
  for (const Param& param : params) binds.push_back(BindParam(param));
  if (!binds.empty() && mysql_stmt_bind_param(stmt, binds.data()) != 0) {
    return FailStatement(stmt);
  }
  if (mysql_stmt_execute(stmt) != 0) return FailStatement(stmt);
  return util::Status::Ok();
}

util::Result<ExecResult> Connection::Exec(const char* sql, const std::vector<Param>& params) {
  util::Result<MYSQL_STMT*> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.error();
  possibly_wrote_ = true;
  if (util::Status st = Execute(stmt.value(), params); !st.ok()) return st.error();
  ExecResult result;
  result.affected_rows = mysql_stmt_affected_rows(stmt.value());
  result.insert_id = mysql_stmt_insert_id(stmt.value());
  return result;
}

util::Result<std::vector<Row>> Connection::Query(const char* sql,
                                                 const std::vector<Param>& params) {
  util::Result<MYSQL_STMT*> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.error();
  if (util::Status st = Execute(stmt.value(), params); !st.ok()) return st.error();
  return FetchAll(stmt.value());
}

util::Result<std::vector<Row>> Connection::ExecReturning(const char* sql,
                                                         const std::vector<Param>& params) {
  util::Result<MYSQL_STMT*> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.error();
  possibly_wrote_ = true;
  if (util::Status st = Execute(stmt.value(), params); !st.ok()) return st.error();
  return FetchAll(stmt.value());
}

util::Result<std::vector<Row>> Connection::Call(const char* sql,
                                                const std::vector<Param>& params) {
  util::Result<MYSQL_STMT*> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.error();
  possibly_wrote_ = true;
  if (util::Status st = Execute(stmt.value(), params); !st.ok()) return st.error();
  auto rows = FetchAll(stmt.value());
  if (!rows.ok()) return rows.error();
  // A CALL ends with a status result (and any further result sets): read them all, or
  // the connection stays busy.
  int rc;
  while ((rc = mysql_stmt_next_result(stmt.value())) == 0) {
    if (mysql_stmt_field_count(stmt.value()) > 0) {
      std::vector<Row> ignored;
      if (const unsigned error_number = ReadRows(stmt.value(), ignored); error_number != 0) {
        return Fail(error_number);
      }
    }
  }
  if (rc > 0) return FailStatement(stmt.value());
  return rows;
}

util::Result<std::vector<Row>> Connection::FetchAll(MYSQL_STMT* stmt) {
  std::vector<Row> rows;
  // ReadRows has released the result set before Fail may close the statement.
  const unsigned error_number = ReadRows(stmt, rows);
  if (error_number != 0) return Fail(error_number);
  return rows;
}

// ---- Connection: transactions --------------------------------------------------------

util::Status Connection::SimpleQuery(const char* sql) {
  if (util::Status st = EnsureConnected(); !st.ok()) return st;
  if (mysql_real_query(mysql_, sql, std::strlen(sql)) != 0) return FailConnection();
  return util::Status::Ok();
}

util::Status Connection::Begin() {
  util::Status st = SimpleQuery("START TRANSACTION");
  if (st.ok()) in_transaction_ = true;
  return st;
}

util::Status Connection::Commit() {
  possibly_wrote_ = true;
  util::Status st;
  if (connected() && !broken_) {
    st = SimpleQuery("COMMIT");
  } else {
    st = Fail(CR_SERVER_LOST);
  }
  in_transaction_ = false;
  broken_ = false;
  return st;
}

util::Status Connection::Rollback() {
  // Without a connection the server has already rolled the transaction back.
  util::Status st = connected() ? SimpleQuery("ROLLBACK") : util::Status::Ok();
  in_transaction_ = false;
  broken_ = false;
  return st;
}

}  // namespace phoneverify::storage
