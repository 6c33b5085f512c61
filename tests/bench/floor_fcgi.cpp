// bench-floor-fcgi: the floor of the architecture for `make bench` (src/ops/bench.sh).
// A FastCGI responder with nothing in it but what every request must cost: libfcgi,
// the same process model as phoneverify-fcgi (pre-forked processes, each with
// accept threads), and for floors 2 and 3 the minimum SQL of each operation on the same
// MariaDB, through prepared statements made once per thread, autocommit.
//
//   bench-floor-fcgi --socket PATH [--processes N] [--threads T]
//                    [--db-socket S --db-user U --db-password P --db-name D]
//
// Routes (DOCUMENT_URI):
//   .../floor1          200 {"status": 200}: hello world, no database
//   .../floor2/send     one INSERT ... ON DUPLICATE KEY UPDATE of the code row
//   .../floor2/verify   one SELECT of the code row + one UPDATE of its attempts
//   .../floor3/send     one prepared CALL f3_send(token hash, phone, code hash, message)
//                       (tests/bench/floor3.sql: the token resolved, gate row, code row
//                       and outbox row written in one transaction, one round trip);
//                       202, 401 when the procedure does not know the token, 500 else
// The floor 2 code row is (account, phone) in table bench_floor_codes (shaped like
// otp_codes): the account comes from the X-Bench-Account header. Floor 3 instead takes the
// API token from `Authorization: Token <token>` (or Bearer) and hashes it as phoneverify
// stores API tokens (util::Hash: libsodium's crypto_generichash, BLAKE2b, 32 bytes, no
// key); the code hash and a 100-byte message are random bytes. The phone is the first run
// of ten digits in the body. Deliberately no parsing, routing table, logging or error
// shape: this is the yardstick, not an application. The password comes from the
// environment (BENCH_DB_PASSWORD) when not given, so it is not on the command line.
// Without the floor 3 procedure in the database (floor3.sql not loaded, or no EXECUTE on
// it) the floor 3 route answers 500 and the others still work.
#include <fcgiapp.h>
#include <mysql.h>
#include <signal.h>
#include <sodium.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  std::string socket;
  int processes = 1;
  int threads = 1;
  std::string db_socket;
  std::string db_user;
  std::string db_password;
  std::string db_name;
};

constexpr char kSendSql[] =
    "INSERT INTO bench_floor_codes (account_id, phone, code_hash, created_at, expires_at, "
    "attempts_used, max_attempts, consumed, outbox_id) VALUES (?, ?, ?, ?, ?, 0, 0, 0, NULL) "
    "ON DUPLICATE KEY UPDATE code_hash = VALUES(code_hash), created_at = VALUES(created_at), "
    "expires_at = VALUES(expires_at), attempts_used = 0, consumed = 0";
constexpr char kSelectSql[] =
    "SELECT code_hash, expires_at, attempts_used, max_attempts, consumed "
    "FROM bench_floor_codes WHERE account_id = ? AND phone = ?";
constexpr char kUpdateSql[] =
    "UPDATE bench_floor_codes SET attempts_used = attempts_used + 1 "
    "WHERE account_id = ? AND phone = ?";
constexpr char kFloor3Sql[] = "CALL f3_send(?, ?, ?, ?)";
constexpr size_t kFloor3MessageBytes = 100;  // about a sealed SMS text

enum class Floor3 { kAccepted, kNotAuthenticated, kFailed };
// One database session and its three statements; one per thread.
class Db {
 public:
  bool Open(const Options& o) {
    mysql_ = mysql_init(nullptr);
    if (mysql_ == nullptr) return false;
    if (!mysql_real_connect(mysql_, nullptr, o.db_user.c_str(), o.db_password.c_str(),
                            o.db_name.c_str(), 0, o.db_socket.c_str(),
                            CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS)) {
      std::fprintf(stderr, "bench-floor-fcgi: connect: %s\n", mysql_error(mysql_));
      return false;
    }
    send_ = Prepare(kSendSql);
    select_ = Prepare(kSelectSql);
    update_ = Prepare(kUpdateSql);
    floor3_ = Prepare(kFloor3Sql);  // optional: see the header comment
    return send_ && select_ && update_;
  }

  // Floor 3: one CALL. A CALL answers with the procedure's result sets (none here) and a
  // final status result; all of it is read before the connection takes the next statement.
  Floor3 Send3(const std::string& token, const std::string& phone) {
    if (floor3_ == nullptr) return Floor3::kFailed;
    unsigned char token_hash[crypto_generichash_BYTES];
    crypto_generichash(token_hash, sizeof token_hash,
                       reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                       nullptr, 0);
    char code_hash[32];
    char message[kFloor3MessageBytes];
    for (char& c : code_hash) c = static_cast<char>(random_());
    for (char& c : message) c = static_cast<char>(random_());
    MYSQL_BIND b[4] = {};
    BindBytes(b[0], token_hash, sizeof token_hash);
    BindText(b[1], phone);
    BindBytes(b[2], code_hash, sizeof code_hash);
    BindBytes(b[3], message, sizeof message);
    if (mysql_stmt_bind_param(floor3_, b) != 0) return Floor3::kFailed;
    if (mysql_stmt_execute(floor3_) != 0) {
      if (mysql_stmt_errno(floor3_) == 1644 &&
          std::strcmp(mysql_stmt_sqlstate(floor3_), "45000") == 0) {
        return Floor3::kNotAuthenticated;  // SIGNAL before START TRANSACTION
      }
      std::fprintf(stderr, "bench-floor-fcgi: floor3: %s\n", mysql_stmt_error(floor3_));
      mysql_rollback(mysql_);  // a statement failed inside the procedure's transaction
      return Floor3::kFailed;
    }
    int status = 0;
    do {
      if (mysql_stmt_field_count(floor3_) > 0) mysql_stmt_free_result(floor3_);
      status = mysql_stmt_next_result(floor3_);
    } while (status == 0);
    if (status > 0) {  // -1: no more results
      std::fprintf(stderr, "bench-floor-fcgi: floor3: %s\n", mysql_stmt_error(floor3_));
      return Floor3::kFailed;
    }
    return Floor3::kAccepted;
  }

  bool Send(int64_t account, const std::string& phone) {
    char hash[32];
    for (char& c : hash) c = static_cast<char>(random_());
    int64_t now = std::time(nullptr);
    int64_t expires = now + 300;
    MYSQL_BIND b[5] = {};
    BindInt(b[0], &account);
    BindText(b[1], phone);
    b[2].buffer_type = MYSQL_TYPE_BLOB;
    b[2].buffer = hash;
    b[2].buffer_length = sizeof hash;
    BindInt(b[3], &now);
    BindInt(b[4], &expires);
    return mysql_stmt_bind_param(send_, b) == 0 && mysql_stmt_execute(send_) == 0;
  }

  bool Verify(int64_t account, const std::string& phone) {
    MYSQL_BIND key[2] = {};
    BindInt(key[0], &account);
    BindText(key[1], phone);
    if (mysql_stmt_bind_param(select_, key) != 0 || mysql_stmt_execute(select_) != 0) {
      return false;
    }
    char hash[64];
    unsigned long hash_length = 0;
    int64_t ints[4] = {};
    MYSQL_BIND out[5] = {};
    out[0].buffer_type = MYSQL_TYPE_BLOB;
    out[0].buffer = hash;
    out[0].buffer_length = sizeof hash;
    out[0].length = &hash_length;
    for (int i = 0; i < 4; ++i) BindInt(out[i + 1], &ints[i]);
    if (mysql_stmt_bind_result(select_, out) != 0 || mysql_stmt_store_result(select_) != 0) {
      return false;
    }
    while (mysql_stmt_fetch(select_) == 0) {
    }
    mysql_stmt_free_result(select_);
    if (mysql_stmt_bind_param(update_, key) != 0) return false;
    return mysql_stmt_execute(update_) == 0;
  }

 private:
  MYSQL_STMT* Prepare(const char* sql) {
    MYSQL_STMT* stmt = mysql_stmt_init(mysql_);
    if (stmt == nullptr || mysql_stmt_prepare(stmt, sql, std::strlen(sql)) != 0) {
      std::fprintf(stderr, "bench-floor-fcgi: prepare %.24s...: %s\n", sql, mysql_error(mysql_));
      return nullptr;
    }
    return stmt;
  }
  static void BindInt(MYSQL_BIND& b, int64_t* value) {
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = value;
  }
  static void BindBytes(MYSQL_BIND& b, const void* data, size_t size) {
    b.buffer_type = MYSQL_TYPE_BLOB;
    b.buffer = const_cast<void*>(data);
    b.buffer_length = size;
  }
  static void BindText(MYSQL_BIND& b, const std::string& text) {
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = const_cast<char*>(text.data());
    b.buffer_length = text.size();
  }

  std::minstd_rand random_{static_cast<unsigned>(std::time(nullptr))};
  MYSQL* mysql_ = nullptr;
  MYSQL_STMT* send_ = nullptr;
  MYSQL_STMT* select_ = nullptr;
  MYSQL_STMT* update_ = nullptr;
  MYSQL_STMT* floor3_ = nullptr;
};

bool EndsWith(const char* s, const char* suffix) {
  size_t n = std::strlen(s), m = std::strlen(suffix);
  return n >= m && std::strcmp(s + n - m, suffix) == 0;
}

std::string FirstPhone(const std::string& body) {
  size_t run = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    run = std::isdigit(static_cast<unsigned char>(body[i])) ? run + 1 : 0;
    if (run == 10) return body.substr(i - 9, 10);
  }
  return "9800000000";
}

std::string ReadBody(FCGX_Request& request) {
  const char* length = FCGX_GetParam("CONTENT_LENGTH", request.envp);
  long n = length ? std::strtol(length, nullptr, 10) : 0;
  if (n <= 0 || n > 16384) return {};
  std::string body(static_cast<size_t>(n), '\0');
  int got = FCGX_GetStr(body.data(), static_cast<int>(n), request.in);
  body.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return body;
}

// The token of `Authorization: Token <token>` (or Bearer), trimmed; empty when absent.
std::string RequestToken(FCGX_Request& request) {
  const char* header = FCGX_GetParam("HTTP_AUTHORIZATION", request.envp);
  if (header == nullptr) return {};
  std::string h(header);
  const size_t space = h.find(' ');
  if (space == std::string::npos) return {};
  const std::string scheme = h.substr(0, space);
  if (strcasecmp(scheme.c_str(), "Token") != 0 && strcasecmp(scheme.c_str(), "Bearer") != 0) {
    return {};
  }
  const size_t begin = h.find_first_not_of(" \t", space);
  const size_t end = h.find_last_not_of(" \t");
  return begin == std::string::npos ? std::string() : h.substr(begin, end - begin + 1);
}

void Reply(FCGX_Request& request, int status) {
  char out[160];
  int n = std::snprintf(out, sizeof out,
                        "Status: %d\r\nContent-Type: application/json; charset=utf-8\r\n"
                        "Cache-Control: no-store\r\n\r\n{\"status\": %d}\n",
                        status, status);
  FCGX_PutStr(out, n, request.out);
}

void Handle(FCGX_Request& request, Db* db) {
  const char* uri = FCGX_GetParam("DOCUMENT_URI", request.envp);
  if (uri == nullptr) uri = "";
  if (EndsWith(uri, "/floor1")) {
    Reply(request, 200);
    return;
  }
  const bool send = EndsWith(uri, "/floor2/send");
  const bool verify = EndsWith(uri, "/floor2/verify");
  const bool send3 = EndsWith(uri, "/floor3/send");
  if (db == nullptr || (!send && !verify && !send3)) {
    Reply(request, 404);
    return;
  }
  if (send3) {
    const std::string token = RequestToken(request);
    const std::string phone = FirstPhone(ReadBody(request));
    if (token.empty()) {  // as phoneverify: no database work without a token
      Reply(request, 401);
      return;
    }
    const Floor3 result = db->Send3(token, phone);
    Reply(request, result == Floor3::kAccepted           ? 202
                   : result == Floor3::kNotAuthenticated ? 401
                                                         : 500);
    return;
  }
  const char* account = FCGX_GetParam("HTTP_X_BENCH_ACCOUNT", request.envp);
  const int64_t account_id = account ? std::strtoll(account, nullptr, 10) : 0;
  const std::string phone = FirstPhone(ReadBody(request));
  const bool ok = send ? db->Send(account_id, phone) : db->Verify(account_id, phone);
  Reply(request, !ok ? 500 : send ? 202 : 400);  // verify: a wrong guess, as phoneverify
}

void ServeThread(int listen_fd, const Options* options) {
  mysql_thread_init();
  Db db;
  const bool with_db = !options->db_socket.empty();
  if (with_db && !db.Open(*options)) std::exit(1);
  FCGX_Request request;
  FCGX_InitRequest(&request, listen_fd, 0);
  while (FCGX_Accept_r(&request) == 0) {
    Handle(request, with_db ? &db : nullptr);
    FCGX_Finish_r(&request);
  }
}

[[noreturn]] void RunProcess(int listen_fd, const Options& options) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  FCGX_Init();
  std::vector<std::thread> threads;
  for (int i = 0; i < options.threads; ++i) {
    threads.emplace_back(ServeThread, listen_fd, &options);
  }
  for (auto& thread : threads) thread.join();
  std::_Exit(0);
}

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--socket") {
      o.socket = value;
    } else if (flag == "--processes") {
      o.processes = std::atoi(value.c_str());
    } else if (flag == "--threads") {
      o.threads = std::atoi(value.c_str());
    } else if (flag == "--db-socket") {
      o.db_socket = value;
    } else if (flag == "--db-user") {
      o.db_user = value;
    } else if (flag == "--db-password") {
      o.db_password = value;
    } else if (flag == "--db-name") {
      o.db_name = value;
    } else {
      return false;
    }
  }
  if (o.db_password.empty() && std::getenv("BENCH_DB_PASSWORD") != nullptr) {
    o.db_password = std::getenv("BENCH_DB_PASSWORD");
  }
  return argc % 2 == 1 && !o.socket.empty() && o.processes >= 1 && o.threads >= 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!ParseArgs(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: bench-floor-fcgi --socket PATH [--processes N] [--threads T] "
                 "[--db-socket S --db-user U --db-password P --db-name D]\n");
    return 2;
  }
  if (mysql_library_init(0, nullptr, nullptr) != 0) return 1;
  if (sodium_init() < 0) return 1;
  unlink(options.socket.c_str());
  const int listen_fd = FCGX_OpenSocket(options.socket.c_str(), 1024);
  if (listen_fd < 0) {
    std::fprintf(stderr, "bench-floor-fcgi: cannot listen on %s\n", options.socket.c_str());
    return 1;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigprocmask(SIG_BLOCK, &stop, nullptr);
  std::vector<pid_t> children;
  for (int i = 0; i < options.processes; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      sigprocmask(SIG_UNBLOCK, &stop, nullptr);
      RunProcess(listen_fd, options);
    }
    if (pid > 0) children.push_back(pid);
  }
  int signo = 0;
  sigwait(&stop, &signo);
  for (pid_t pid : children) kill(pid, SIGKILL);
  for (pid_t pid : children) waitpid(pid, nullptr, 0);
  unlink(options.socket.c_str());
  return 0;
}
