#include "storage/account_repository.h"

#include "storage/common_sql.h"
#include "storage/connection.h"
#include "storage/database.h"

namespace phoneverify::storage {
namespace {

using domain::Account;
using OptionalAccount = std::optional<Account>;

util::Result<OptionalAccount> FirstAccount(util::Result<std::vector<Row>> rows) {
  if (!rows.ok()) return rows.error();
  if (rows.value().empty()) return OptionalAccount();
  return OptionalAccount(ReadAccount(rows.value()[0]));
}

util::Error UsernameTaken() {
  return util::Error::Make(util::ErrorKind::kConflict, "username_taken", "That username is taken.",
                           "username");
}

util::Result<int64_t> InsertAccount(Connection& conn, const domain::NewAccount& in) {
  auto done = conn.Exec(
      "INSERT INTO accounts (username, username_key, email, first_name, last_name, "
      "password_hash, pending_phone, date_joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {Param::Text(in.username), Param::Text(in.username_key), Param::Text(in.email),
       Param::Text(in.first_name), Param::Text(in.last_name), Param::Text(in.password_hash),
       Param::Text(in.pending_phone), Param::Int(in.now)});
  if (!done.ok()) {
    // The unique key, not an earlier read, decides: concurrent sign-ups race here.
    if (conn.last_errno() == kErrDuplicateKey) return UsernameTaken();
    return done.error();
  }
  return static_cast<int64_t>(done.value().insert_id);
}

Account CreatedAccount(const domain::NewAccount& in, int64_t id) {
  Account account;
  account.id = id;
  account.username = in.username;
  account.email = in.email;
  account.first_name = in.first_name;
  account.last_name = in.last_name;
  account.pending_phone = in.pending_phone;
  account.date_joined = in.now;
  return account;
}

}  // namespace

util::Result<Account> MysqlAccountRepository::Create(const domain::NewAccount& in) {
  return db_.Transact([&](Connection& conn) -> util::Result<Account> {
    auto id = InsertAccount(conn, in);
    if (!id.ok()) return id.error();
    return CreatedAccount(in, id.value());
  });
}

util::Result<OptionalAccount> MysqlAccountRepository::FindById(int64_t id) {
  return db_.Run([&](Connection& conn) {
    return FirstAccount(
        conn.Query("SELECT id, username, email, first_name, last_name, phone, pending_phone, "
                   "phone_verified, is_active, date_joined FROM accounts WHERE id = ?",
                   {Param::Int(id)}));
  });
}

util::Result<std::optional<domain::Credentials>> MysqlAccountRepository::FindCredentials(
    const std::string& username_key) {
  using OptionalCredentials = std::optional<domain::Credentials>;
  return db_.Run([&](Connection& conn) -> util::Result<OptionalCredentials> {
    auto rows =
        conn.Query("SELECT id, password_hash, is_active FROM accounts WHERE username_key = ?",
                   {Param::Text(username_key)});
    if (!rows.ok()) return rows.error();
    if (rows.value().empty()) return OptionalCredentials();
    const Row& row = rows.value()[0];
    return OptionalCredentials(domain::Credentials{row.Int(0), row.Text(1), row.Int(2) != 0});
  });
}

util::Status MysqlAccountRepository::RecordLogin(int64_t account_id, int64_t now) {
  return db_.Run([&](Connection& conn) {
    return conn
        .Exec("UPDATE accounts SET last_login = ? WHERE id = ?",
              {Param::Int(now), Param::Int(account_id)})
        .status();
  });
}

util::Status MysqlAccountRepository::StoreToken(const std::string& token_hash, int64_t account_id,
                                                int64_t now) {
  return db_.Run([&](Connection& conn) {
    return conn
        .Exec(
            "INSERT INTO api_tokens (token_hash, account_id, created_at) "
            "VALUES (?, ?, ?)",
            {Param::Bytes(token_hash), Param::Int(account_id), Param::Int(now)})
        .status();
  });
}

util::Result<OptionalAccount> MysqlAccountRepository::FindByTokenHash(
    const std::string& token_hash) {
  return db_.Run([&](Connection& conn) {
    return FirstAccount(
        conn.Query("SELECT a.id, a.username, a.email, a.first_name, a.last_name, a.phone, "
                   "a.pending_phone, a.phone_verified, a.is_active, a.date_joined "
                   "FROM api_tokens t JOIN accounts a ON a.id = t.account_id "
                   "WHERE t.token_hash = ? AND a.is_active = 1",
                   {Param::Bytes(token_hash)}));
  });
}

util::Result<bool> MysqlAccountRepository::DeleteToken(const std::string& token_hash) {
  return db_.Run([&](Connection& conn) -> util::Result<bool> {
    auto done =
        conn.Exec("DELETE FROM api_tokens WHERE token_hash = ?", {Param::Bytes(token_hash)});
    if (!done.ok()) return done.error();
    return done.value().affected_rows > 0;
  });
}

util::Status MysqlAccountRepository::SetPendingPhone(int64_t account_id,
                                                     const std::string& phone) {
  return db_.Run([&](Connection& conn) {
    return conn
        .Exec("UPDATE accounts SET pending_phone = ? WHERE id = ?",
              {Param::Text(phone), Param::Int(account_id)})
        .status();
  });
}

}  // namespace phoneverify::storage
