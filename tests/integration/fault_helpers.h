// Helpers for fault-injection tests on the real stack: the processes stack.sh started
// (pid files under <var_dir>/run/), signals, an administrator's database connection (for
// locks and for looking at what was written) and the JSON log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/connection.h"

namespace phoneverify::itest {

// The pid in <var_dir>/run/<name>.pid (mariadb, fcgi, dispatcher, nginx); 0 if none.
pid_t StackPid(const std::string& name);
bool ProcessAlive(pid_t pid);  // running and not a zombie
// Direct children of `parent` (e.g. the FastCGI workers of the master).
std::vector<pid_t> ChildrenOf(pid_t parent);
// Polls `condition` every 50 ms until it holds or `timeout` passes; returns its last value.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Sends SIGCONT to a process on scope exit (so a failed test never leaves MariaDB stopped).
class ContinueOnExit {
 public:
  explicit ContinueOnExit(pid_t pid) : pid_(pid) {}
  ~ContinueOnExit();
  ContinueOnExit(const ContinueOnExit&) = delete;
  ContinueOnExit& operator=(const ContinueOnExit&) = delete;

 private:
  pid_t pid_;
};

// A connection to the stack's MariaDB as its administrator (unix-socket authentication
// as the user running the tests), on the phoneverify database.
std::unique_ptr<storage::Connection> AdminConnection();
// SELECT returning one integer ("SELECT COUNT(*) ..."); -1 on error.
int64_t QueryInt(storage::Connection& conn, const char* sql,
                 const std::vector<storage::Param>& params = {});

// The whole structured log (<var_dir>/log/phoneverify.log) and the number of lines
// containing every one of `needles`.
std::string ReadAppLog();
size_t CountLogLines(const std::vector<std::string>& needles);

// The HTTP status of GET /healthz after it became `status` (or the last one seen after
// `timeout`).
long WaitForHealth(long status, std::chrono::milliseconds timeout);

// A loopback TCP port on which nothing listens.
int ClosedLoopbackPort();

// Milliseconds `call` took.
int64_t TimeMillis(const std::function<void()>& call);

}  // namespace phoneverify::itest
