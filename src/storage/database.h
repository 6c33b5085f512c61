// The database as the repositories see it: a small pool of lazily opened connections and
// two ways to run work on one of them.
//
//   Run(work)       autocommit: each statement commits on its own.
//   Transact(work)  START TRANSACTION; work; COMMIT. Any error from `work` rolls back.
//   TransactIdempotent(work)
//                   the same, for work that finds out by itself whether an earlier run
//                   already committed (a unique request id it records and looks up
//                   first): after a connection lost mid-work or at COMMIT -- outcome
//                   unknown -- it reconnects and runs `work` once more instead of failing.
//   RunIdempotent(work)
//                   autocommit, for work that is one CALL of a procedure that commits
//                   its own transaction and finds its own earlier run the same way: run
//                   once more after a lost connection too.
//
// `work` is a callable `(Connection&) -> util::Status or util::Result<T>`; Run/Transact
// return the same type. Retries, invisible to `work` except that it may run again:
//   - deadlock / Galera certification failure (1213) or lock wait timeout (1205): the
//     whole of `work` runs again (up to kMaxAttempts in all, with random jitter), so
//     `work` must not keep state between runs except through its return value;
//   - a connection found dead (server restarted, idle timeout) before `work` sent
//     anything that may write: reconnect and run once more.
// Several nodes (db_hosts set, contract section 8): every call runs on the node a
// NodeChooser picks (node_chooser.h: the first healthy one of the list, shared by the
// processes of a host through a NodeBoard). A connection-class error on a node holds it
// and moves to the next one, and the work runs again there under the same rules as a
// reconnect above (nothing may have been written, or TransactIdempotent work), at most
// once per other node; a pooled connection found dead at once is first replaced on the
// same node. Pooled connections to a node no longer in use are closed when met. Each
// connection checks its node's health when it opens and reads causally (wsrep_sync_wait).
// There the database counts as down only when every node is held: calls fail fast then,
// and the down latch below is not used.
// Fail fast (one server): a call that used up the whole db_timeout on a dead or stalled connection
// (server stopped, overloaded, network black hole) marks the database down for
// kDownHoldMillis: calls in that time fail at once with Error::Unavailable() without
// touching it. The first call after that is the probe (others keep failing fast while it
// runs); its success marks the database up again. The mark lives in a "down latch" that
// several processes may share (a MAP_SHARED word the FastCGI master creates before
// forking), so a stalled database costs the whole server one timeout per probe instead
// of one per request.
// Errors: Error::Unavailable() when the database cannot be reached or stays contended,
// Error::Internal() otherwise, or whatever error `work` itself returned (e.g. a decider's
// 429). Nothing secret is logged: only error numbers.
//
// Nothing connects until the first call, so a process may build a Database and fork.
// Thread-safe: each call takes its own connection from the pool. After a fork, the child
// abandons (never closes, never uses) the connections it inherited, so the parent's
// sessions are untouched; still, prefer using a Database only after forking.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <type_traits>
#include <vector>

#include "util/clock.h"
#include "util/config.h"
#include "util/status.h"

namespace phoneverify::util {
class Logger;
}

namespace phoneverify::storage {

class Connection;
struct ConnectionOptions;
class NodeChooser;
struct NodeBoard;

class Database {
 public:
  static constexpr int kMaxAttempts = 5;

  static constexpr int64_t kDownHoldMillis = 2000;

  // `logger` (optional, not owned, must outlive the Database) receives storage errors.
  // `down_latch` (optional, not owned, must outlive the Database; lock-free atomic,
  // possibly in shared memory): the fail-fast mark, `clock` milliseconds (MonotonicMillis:
  // the same in every process of the host) until which the database counts as down, 0
  // when up. Without one the Database keeps its own. `clock` (optional, not owned, must
  // outlive the Database): what timeouts and the hold are measured on; the system's
  // monotonic clock without one. `node_board` (optional, not owned, must outlive the
  // Database; possibly in shared memory): the node choice with db_hosts set; without one
  // the Database keeps its own.
  explicit Database(const util::Config& config, util::Logger* logger = nullptr,
                    std::atomic<int64_t>* down_latch = nullptr,
                    const util::Clock* clock = nullptr, NodeBoard* node_board = nullptr);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  template <typename Work>
  auto Run(Work&& work) {
    return Call(std::forward<Work>(work), /*transaction=*/false);
  }

  template <typename Work>
  auto Transact(Work&& work) {
    return Call(std::forward<Work>(work), /*transaction=*/true);
  }

  template <typename Work>
  auto RunIdempotent(Work&& work) {
    return Call(std::forward<Work>(work), /*transaction=*/false, /*idempotent=*/true);
  }

  template <typename Work>
  auto TransactIdempotent(Work&& work) {
    return Call(std::forward<Work>(work), /*transaction=*/true, /*idempotent=*/true);
  }

 private:
  using StatusWork = std::function<util::Status(Connection&)>;
  struct Attempt;
  struct Idle {
    size_t node;  // index into nodes_
    std::unique_ptr<Connection> conn;
  };

  template <typename Work>
  auto Call(Work&& work, bool transaction, bool idempotent = false) {
    using R = std::invoke_result_t<Work&, Connection&>;
    std::optional<R> out;
    util::Status st = Execute(
        [&](Connection& conn) {
          out.emplace(work(conn));
          return StatusOf(*out);
        },
        transaction, idempotent);
    if (st.ok()) return R(std::move(*out));
    return R(st.error());
  }

  static util::Status StatusOf(const util::Status& status) { return status; }
  template <typename T>
  static util::Status StatusOf(const util::Result<T>& result) {
    return result.status();
  }

  util::Status Execute(const StatusWork& work, bool transaction, bool idempotent);
  util::Status ExecuteOnNodes(const StatusWork& work, bool transaction, bool idempotent);
  bool MoveToNextNode(size_t& node, std::unique_ptr<Connection>& conn);
  bool ProbeNode(size_t node);
  void LogNodeChange(size_t from, size_t to);
  Attempt RunOnce(Connection& conn, const StatusWork& work, bool transaction);
  std::unique_ptr<Connection> Acquire(size_t node);
  void Release(size_t node, std::unique_ptr<Connection> conn);
  void AbandonInherited();  // with mu_ held
  bool RetryAfterConflict(unsigned error_number, int attempt, int64_t deadline);
  void SleepJitter(int attempt);
  void LogFailure(const Attempt& attempt, int attempts, const Connection& conn);

  bool Admit();  // false: fail fast (the database is marked down)
  int64_t TimeoutMillis() const;  // db_timeout
  void NoteOutcome(const Attempt& attempt);

  // One entry without db_hosts (the socket or db_host), else one per node in list order.
  std::vector<ConnectionOptions> nodes_;
  std::atomic<int64_t> own_latch_{0};
  std::atomic<int64_t>* down_;  // see "Fail fast" above
  util::Logger* logger_;
  util::SystemClock system_clock_;
  const util::Clock& clock_;
  std::unique_ptr<NodeBoard> own_board_;  // when db_hosts is set and no board was given
  std::unique_ptr<NodeChooser> chooser_;  // only when db_hosts is set
  std::function<bool(size_t)> probe_;     // ProbeNode, as the chooser takes it
  std::mutex mu_;  // guards idle_, idle_pid_ and jitter_
  std::vector<Idle> idle_;
  pid_t idle_pid_ = 0;  // process that opened the idle connections
  std::minstd_rand jitter_;
};

}  // namespace phoneverify::storage
