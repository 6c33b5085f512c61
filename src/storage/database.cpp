#include "storage/database.h"

#include <json/value.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <thread>
#include <utility>

#include "storage/connection.h"
#include "storage/node_chooser.h"
#include "util/logger.h"

namespace phoneverify::storage {
namespace {

constexpr int kJitterBaseMillis = 10;
// Probes of an earlier node run on a request: a partitioned (black-holed) node may cost
// that one request this long, no more.
constexpr unsigned kProbeTimeoutSeconds = 1;

ConnectionOptions MakeOptions(const util::Config& config) {
  ConnectionOptions options;
  options.socket = config.db_socket;
  options.host = config.db_host;
  options.port = static_cast<unsigned>(config.db_port);
  options.user = config.db_user;
  options.password = config.db_password;
  options.database = config.db_name;
  options.timeout_seconds = static_cast<unsigned>(std::max(1, config.db_timeout));
  return options;
}

// The single server without db_hosts, else every node of it.
std::vector<ConnectionOptions> MakeNodes(const util::Config& config) {
  if (config.db_nodes.empty()) return {MakeOptions(config)};
  std::vector<ConnectionOptions> nodes;
  for (const util::DbNode& node : config.db_nodes) {
    ConnectionOptions options = MakeOptions(config);
    options.host = node.host;
    options.port = static_cast<unsigned>(node.port);
    options.cluster_node = true;
    nodes.push_back(std::move(options));
  }
  return nodes;
}

bool IsStorageFailure(const util::Status& status) {
  return !status.ok() && (status.error().kind == util::ErrorKind::kInternal ||
                          status.error().kind == util::ErrorKind::kUnavailable);
}

}  // namespace

// The outcome of one run of the work, with what the retry decision needs.
struct Database::Attempt {
  util::Status status;
  unsigned error_number = 0;  // last database error seen, 0 when none
  bool was_connected = false;
  bool possibly_wrote = false;
  bool timed_out = false;  // took the whole timeout: the server is stalled, not restarted
};

Database::Database(const util::Config& config, util::Logger* logger,
                   std::atomic<int64_t>* down_latch, const util::Clock* clock,
                   NodeBoard* node_board)
    : nodes_(MakeNodes(config)),
      down_(down_latch != nullptr ? down_latch : &own_latch_),
      logger_(logger),
      clock_(clock != nullptr ? *clock : system_clock_),
      jitter_(std::random_device{}()) {
  if (!InitClientLibrary() && logger_ != nullptr) {
    logger_->Error("mysql client library failed to initialise");
  }
  if (!config.db_nodes.empty()) {
    if (node_board == nullptr) {
      own_board_ = std::make_unique<NodeBoard>();
      node_board = own_board_.get();
    }
    chooser_ = std::make_unique<NodeChooser>(
        nodes_.size(), *node_board, clock_, TimeoutMillis() + NodeChooser::kHoldMillis,
        [this](size_t from, size_t to) { LogNodeChange(from, to); });
    probe_ = [this](size_t node) { return ProbeNode(node); };
  }
}

Database::~Database() = default;

util::Status Database::Execute(const StatusWork& work, bool transaction, bool idempotent) {
  if (chooser_ != nullptr) return ExecuteOnNodes(work, transaction, idempotent);
  if (!Admit()) return util::Error::Unavailable();
  std::unique_ptr<Connection> conn = Acquire(0);
  const int64_t deadline = clock_.MonotonicMillis() + TimeoutMillis();
  bool reconnect_left = true;
  Attempt attempt;
  for (int n = 1;; ++n) {
    attempt = RunOnce(*conn, work, transaction);
    const unsigned err = attempt.error_number;
    if (attempt.status.ok() || err == 0) break;
    if (RetryAfterConflict(err, n, deadline)) continue;
    // A connection that died while idle (found dead at once, before anything that may
    // write was sent): open a new one and run again. Idempotent work may run again even
    // after a write or COMMIT was sent: it finds its own earlier run, if that committed.
    const bool may_rerun = !attempt.possibly_wrote || idempotent;
    if (IsConnectionError(err) && (attempt.was_connected || idempotent) && may_rerun &&
        !attempt.timed_out && reconnect_left) {
      reconnect_left = false;
      continue;
    }
    if (IsStorageFailure(attempt.status)) LogFailure(attempt, n, *conn);
    break;
  }
  NoteOutcome(attempt);
  Release(0, std::move(conn));
  return attempt.status;
}

util::Status Database::ExecuteOnNodes(const StatusWork& work, bool transaction,
                                      bool idempotent) {
  std::optional<size_t> chosen = chooser_->Choose(probe_);
  if (!chosen) return util::Error::Unavailable();  // every node held: fail fast
  size_t node = *chosen;
  std::unique_ptr<Connection> conn = Acquire(node);
  const int64_t deadline = clock_.MonotonicMillis() + TimeoutMillis();
  bool reconnect_left = true;
  size_t moves_left = nodes_.size() - 1;
  Attempt attempt;
  for (int n = 1;; ++n) {
    attempt = RunOnce(*conn, work, transaction);
    const unsigned err = attempt.error_number;
    if (attempt.status.ok() || err == 0) break;
    if (RetryAfterConflict(err, n, deadline)) continue;
    // Run again (elsewhere) only what cannot have written, or what finds its own commit.
    if (IsNodeError(err) && (!attempt.possibly_wrote || idempotent)) {
      // A pooled connection found dead at once (idle timeout, killed): the node itself
      // may be fine, so first a new connection to it.
      if (attempt.was_connected && !attempt.timed_out && std::exchange(reconnect_left, false)) {
        continue;
      }
      chooser_->Failed(node);
      if (moves_left > 0 && MoveToNextNode(node, conn)) {
        --moves_left;
        reconnect_left = true;
        continue;
      }
    }
    if (IsStorageFailure(attempt.status)) LogFailure(attempt, n, *conn);
    break;
  }
  // A write whose outcome is unknown is not run again, but the next call moves on too.
  if (IsNodeError(attempt.error_number)) {
    chooser_->Failed(node);
  } else {
    chooser_->Answered(node);
  }
  Release(node, std::move(conn));
  return attempt.status;
}

// After `node` failed: the node the chooser moved to, with a connection to it.
bool Database::MoveToNextNode(size_t& node, std::unique_ptr<Connection>& conn) {
  std::optional<size_t> next = chooser_->Choose(probe_);
  if (!next || *next == node) return false;
  Release(node, std::move(conn));
  node = *next;
  conn = Acquire(node);
  return true;
}

bool Database::ProbeNode(size_t node) {
  ConnectionOptions options = nodes_[node];
  options.timeout_seconds = kProbeTimeoutSeconds;
  Connection probe(std::move(options));
  return probe.Open().ok();  // connects and checks the node's health; closed at once
}

void Database::LogNodeChange(size_t from, size_t to) {
  if (logger_ == nullptr) return;
  Json::Value fields;
  fields["from"] = NodeAddress(nodes_[from]);
  fields["to"] = NodeAddress(nodes_[to]);
  logger_->Warn("database node changed", fields);
}

bool Database::Admit() {
  int64_t until = down_->load();
  if (until == 0) return true;
  const int64_t now = clock_.MonotonicMillis();
  if (now < until) return false;
  // This call probes; until it ends, everyone else keeps failing fast.
  const int64_t probe_ends = now + TimeoutMillis() + kDownHoldMillis;
  return down_->compare_exchange_strong(until, probe_ends);
}

void Database::NoteOutcome(const Attempt& attempt) {
  const bool connection_failed = IsConnectionError(attempt.error_number);
  // A refused connection fails fast by itself; only a stall, or a failed probe, marks.
  if (connection_failed && (attempt.timed_out || down_->load() != 0)) {
    down_->store(clock_.MonotonicMillis() + kDownHoldMillis);
  } else if (!connection_failed && down_->load() != 0) {
    down_->store(0);
  }
}

Database::Attempt Database::RunOnce(Connection& conn, const StatusWork& work, bool transaction) {
  Attempt attempt;
  const int64_t start = clock_.MonotonicMillis();
  attempt.was_connected = conn.connected();
  conn.ClearTracking();
  if (transaction) attempt.status = conn.Begin();
  if (attempt.status.ok()) attempt.status = work(conn);
  if (attempt.status.ok() && transaction) attempt.status = conn.Commit();
  attempt.error_number = conn.last_errno();
  attempt.possibly_wrote = conn.possibly_wrote();
  attempt.timed_out = clock_.MonotonicMillis() - start >= TimeoutMillis();
  // Rolls back refusals (nothing persists) and failures; errors here change nothing.
  if (!attempt.status.ok() && transaction) static_cast<void>(conn.Rollback());
  return attempt;
}

int64_t Database::TimeoutMillis() const { return int64_t{nodes_[0].timeout_seconds} * 1000; }

std::unique_ptr<Connection> Database::Acquire(size_t node) {
  std::vector<Idle> stale;  // declared before the lock: closed after it is released
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_pid_ != ::getpid()) AbandonInherited();
    // Connections to a node no longer in use go: reads and writes meet on one node.
    auto other = std::stable_partition(idle_.begin(), idle_.end(),
                                       [node](const Idle& idle) { return idle.node == node; });
    std::move(other, idle_.end(), std::back_inserter(stale));
    idle_.erase(other, idle_.end());
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back().conn);
      idle_.pop_back();
      return conn;
    }
  }
  return std::make_unique<Connection>(nodes_[node]);
}

// (No fork check here: a connection is released by the thread that acquired it, in the
// process that acquired it, where Acquire has made the idle list that process's own.)
void Database::Release(size_t node, std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(Idle{node, std::move(conn)});
}

void Database::AbandonInherited() {
  // These sockets belong to the parent's sessions: closing them would send COM_QUIT and
  // end those sessions, so the handles are deliberately leaked instead.
  for (Idle& idle : idle_) static_cast<void>(idle.conn.release());
  idle_.clear();
  idle_pid_ = ::getpid();
}

// Deadlocks (and Galera certification failures) end at once and are retried freely; lock
// wait timeouts take seconds each, so retrying stops once the call has used up one
// db_timeout. Sleeps the jitter before the re-run.
bool Database::RetryAfterConflict(unsigned error_number, int attempt, int64_t deadline) {
  if (!IsRetryableConflict(error_number) || attempt >= kMaxAttempts ||
      clock_.MonotonicMillis() >= deadline) {
    return false;
  }
  SleepJitter(attempt);
  return true;
}

void Database::SleepJitter(int attempt) {
  int millis = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Random, growing waits so transactions that collided do not collide again.
    std::uniform_int_distribution<int> dist(1, kJitterBaseMillis << (attempt - 1));
    millis = dist(jitter_);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(millis));
}

void Database::LogFailure(const Attempt& attempt, int attempts, const Connection& conn) {
  if (logger_ == nullptr) return;
  Json::Value fields;
  fields["mysql_errno"] = attempt.error_number;
  fields["attempts"] = attempts;
  if (chooser_ != nullptr) fields["db_node"] = conn.address();
  logger_->Error("database call failed", fields);
}

}  // namespace phoneverify::storage
