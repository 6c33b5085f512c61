// storage::Database with db_hosts (contract section 8) against the test stack's MariaDB:
// each "node" is a TCP front on 127.0.0.1 for its unix socket, which a test stops (every
// connection cut, new ones refused: a crashed node) and starts again. The server is not a
// Galera node, so it is always healthy; Galera itself is tested with `make cluster`.
// Time for holds and probes runs on a fake clock: no sleeping.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_transport.h"
#include "storage/connection.h"
#include "storage/database.h"
#include "storage/health_check.h"
#include "storage/node_chooser.h"
#include "test_db.h"

namespace phoneverify::itest {
namespace {

using storage::Database;
using storage::NodeChooser;

// Copies bytes both ways until either side ends, then ends both.
void Pump(int a, int b) {
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  char buf[16384];
  for (bool open = true; open;) {
    if (::poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2 && open; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      open = n > 0 && ::write(fds[1 - i].fd, buf, static_cast<size_t>(n)) == n;
    }
  }
  ::shutdown(a, SHUT_RDWR);
  ::shutdown(b, SHUT_RDWR);
}

class NodeProxy {
 public:
  explicit NodeProxy(std::string unix_path) : unix_path_(std::move(unix_path)) { Start(); }
  ~NodeProxy() { Stop(); }
  NodeProxy(const NodeProxy&) = delete;
  NodeProxy& operator=(const NodeProxy&) = delete;

  int port() const { return port_; }
  util::DbNode node() const { return {"127.0.0.1", port_}; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Listens again, on the same port after a Stop.
  void Start() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(::listen(listen_fd_, 64) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  // A crash: the listener closes (connections are refused) and every connection is cut.
  void Stop() {
    if (listen_fd_ < 0) return;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    listen_fd_ = -1;
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    for (std::thread& pump : pumps_) pump.join();
    for (int fd : fds_) ::close(fd);
    fds_.clear();
    pumps_.clear();
  }

 private:
  void AcceptLoop() {
    for (;;) {
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      const int server = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      unix_path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(client);
      fds_.push_back(server);
      pumps_.emplace_back(Pump, client, server);
    }
  }

  std::string unix_path_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::thread acceptor_;
  std::mutex mu_;  // guards fds_ and pumps_ (the acceptor adds, Stop ends them)
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
};

// A port on 127.0.0.1 where nothing listens: connections are refused.
util::DbNode RefusingNode() {
  NodeProxy gone(IntegrationDbConfig().db_socket);
  return gone.node();  // closed when `gone` goes
}

util::Config NodesConfig(const std::vector<util::DbNode>& nodes) {
  util::Config config = IntegrationDbConfig();
  for (const util::DbNode& node : nodes) {
    config.db_hosts += (config.db_hosts.empty() ? "" : ",") + node.host + ":" +
                       std::to_string(node.port);
  }
  config.db_nodes = nodes;
  return config;
}

std::string AnsweringNode(Database& db) {
  util::Result<std::string> node = storage::MysqlHealthCheck(db).AnsweringNode();
  return node.ok() ? node.value() : "(" + node.error().code + ")";
}

BOOST_AUTO_TEST_SUITE(database_nodes)

BOOST_AUTO_TEST_CASE(a_crashed_node_hands_over_to_the_next_and_takes_over_again_once_back) {
  const std::string socket = IntegrationDbConfig().db_socket;
  NodeProxy first(socket);
  NodeProxy second(socket);
  fakes::MillisClock clock;
  Database db(NodesConfig({first.node(), second.node()}), nullptr, nullptr, &clock);
  BOOST_TEST(AnsweringNode(db) == first.address());
  first.Stop();  // the pooled connection is cut: the call runs again on the next node
  BOOST_TEST(AnsweringNode(db) == second.address());
  first.Start();
  BOOST_TEST(AnsweringNode(db) == second.address());  // still held
  clock.AdvanceMs(NodeChooser::kHoldMillis);
  BOOST_TEST(AnsweringNode(db) == first.address());  // probed healthy: back to the first
}

BOOST_AUTO_TEST_CASE(an_unreachable_first_node_is_passed_over) {
  NodeProxy second(IntegrationDbConfig().db_socket);
  fakes::MillisClock clock;
  Database db(NodesConfig({RefusingNode(), second.node()}), nullptr, nullptr, &clock);
  BOOST_TEST(AnsweringNode(db) == second.address());
  auto id = db.Transact([](storage::Connection& conn) -> util::Result<int64_t> {
    auto rows = conn.Query("SELECT CONNECTION_ID()", {});
    if (!rows.ok()) return rows.error();
    return rows.value()[0].Int(0);
  });
  BOOST_TEST(id.ok());
}

BOOST_AUTO_TEST_CASE(the_processes_of_a_host_share_the_node_in_use) {
  const std::string socket = IntegrationDbConfig().db_socket;
  NodeProxy first(socket);
  NodeProxy second(socket);
  fakes::MillisClock clock;
  storage::NodeBoard board;
  const util::Config config = NodesConfig({first.node(), second.node()});
  Database one(config, nullptr, nullptr, &clock, &board);
  Database other(config, nullptr, nullptr, &clock, &board);
  BOOST_TEST(AnsweringNode(one) == first.address());
  BOOST_TEST(AnsweringNode(other) == first.address());
  first.Stop();
  BOOST_TEST(AnsweringNode(one) == second.address());
  first.Start();  // back, but held: `other` follows the board, not its own pool
  BOOST_TEST(AnsweringNode(other) == second.address());
}

BOOST_AUTO_TEST_CASE(with_no_node_answering_calls_fail_until_one_is_back) {
  const std::string socket = IntegrationDbConfig().db_socket;
  NodeProxy first(socket);
  NodeProxy second(socket);
  fakes::MillisClock clock;
  Database db(NodesConfig({first.node(), second.node()}), nullptr, nullptr, &clock);
  first.Stop();
  second.Stop();
  BOOST_TEST(AnsweringNode(db) == "(unavailable)");
  second.Start();
  BOOST_TEST(AnsweringNode(db) == "(unavailable)");  // both held: failing fast
  clock.AdvanceMs(NodeChooser::kHoldMillis);
  BOOST_TEST(AnsweringNode(db) == second.address());
}

BOOST_AUTO_TEST_CASE(a_session_on_a_server_that_is_not_galera_keeps_wsrep_sync_wait_off) {
  NodeProxy node(IntegrationDbConfig().db_socket);
  Database db(NodesConfig({node.node()}));
  auto wait = db.Run([](storage::Connection& conn) -> util::Result<int64_t> {
    auto rows = conn.Query("SELECT @@SESSION.wsrep_sync_wait", {});
    if (!rows.ok()) return rows.error();
    return rows.value()[0].Int(0);
  });
  BOOST_REQUIRE(wait.ok());
  BOOST_TEST(wait.value() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
