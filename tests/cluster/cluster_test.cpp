// The contract's section 8 on the real topology: two application hosts over a three-node
// Galera cluster, nginx in front. Rules that must hold across hosts (limits, a code sent
// through one host verified through the other), then a steady load through nginx while
// the node in use and an application host are killed, a third node and then the node in
// use are partitioned and healed, and last the other application host is cut off. Prints the figures (accepted,
// lost, duplicated, longest stall, failover).
#define BOOST_TEST_MODULE phoneverify_cluster_tests
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster.h"
#include "cluster/load.h"

namespace phoneverify::ctest {
namespace {

using itest::HttpResponse;

BOOST_AUTO_TEST_SUITE(cluster)

BOOST_AUTO_TEST_CASE(both_hosts_serve_and_name_the_first_database_node) {
  for (const char* host : {"app1", "app2"}) {
    HttpResponse health = Through(host).Get("/healthz");
    BOOST_TEST(health.status == 200);
    BOOST_TEST(health.json["db_node"].asString() == "10.77.0.11:3306");
    BOOST_TEST(health.Header("x-phoneverify-upstream") == HostAddress(host) + ":9000");
  }
}

BOOST_AUTO_TEST_CASE(a_code_sent_through_one_host_verifies_through_the_other_at_once) {
  const Account account = NewAccount();
  const std::string phone = NextPhone();
  HttpResponse sent = Through("app1").Post("/api/v1/phone/send-otp", {{"phone", phone}}, account);
  BOOST_REQUIRE_EQUAL(sent.status, 202);
  const std::string code = WaitForCode(phone);
  BOOST_REQUIRE(!code.empty());
  HttpResponse verified = Through("app2").Post("/api/v1/phone/verify-otp",
                                               {{"phone", phone}, {"otp", code}}, account);
  BOOST_TEST(verified.status == 200);
  BOOST_TEST(verified.json["phone_verified"].asBool());
}

BOOST_AUTO_TEST_CASE(parallel_sends_to_one_phone_through_both_hosts_accept_exactly_one) {
  const Account account = NewAccount();
  const std::string phone = NextPhone();
  const std::vector<long> statuses = InParallel(12, [&](int i) {
    return Through(i % 2 == 0 ? "app1" : "app2")
        .Post("/api/v1/phone/send-otp", {{"phone", phone}}, account)
        .status;
  });
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 202L) == 1);
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 429L) == 11);
}

BOOST_AUTO_TEST_CASE(parallel_wrong_guesses_through_both_hosts_are_counted_exactly) {
  const Account account = NewAccount();
  const std::string phone = NextPhone();
  BOOST_REQUIRE_EQUAL(
      Through("app1").Post("/api/v1/phone/send-otp", {{"phone", phone}}, account).status, 202);
  const std::string code = WaitForCode(phone);
  BOOST_REQUIRE(!code.empty());
  const std::string wrong = WrongCode(code);
  const std::vector<long> statuses = InParallel(12, [&](int i) {
    return Through(i % 2 == 0 ? "app1" : "app2")
        .Post("/api/v1/phone/verify-otp", {{"phone", phone}, {"otp", wrong}}, account)
        .status;
  });
  // otp_max_attempts = 5 (the default): five guesses are checked, the rest refused.
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 400L) == 5);
  BOOST_TEST(std::count(statuses.begin(), statuses.end(), 429L) == 7);
  HttpResponse right = Through("app2").Post("/api/v1/phone/verify-otp",
                                            {{"phone", phone}, {"otp", code}}, account);
  BOOST_TEST(right.status == 429);  // the code is burned
}

BOOST_AUTO_TEST_CASE(steady_load_survives_node_and_host_crashes_and_a_partition) {
  Cluster& cluster = Cluster::Get();
  SendLoad load(/*clients=*/4);
  load.Start();
  const auto pause = [](int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  pause(3000);

  const int64_t db1_killed = CrashHost("db1");  // the node every host writes to
  BOOST_TEST(cluster.Ops("wait", "db1"));  // the supervisor restarted it; it caught up by IST
  const int64_t db1_back_ms = NowMs() - db1_killed;
  const int64_t failover_ms = load.LongestStallBetween(db1_killed, db1_killed + 10'000);
  pause(2000);

  // phoneverify-fcgi and phoneverify-dispatcher, with requests and SMS in flight.
  const int64_t app1_killed = CrashHost("app1");
  BOOST_TEST(cluster.Ops("wait", "app1"));
  pause(2000);

  BOOST_REQUIRE(cluster.Ops("partition", "db3"));
  pause(4000);
  BOOST_REQUIRE(cluster.Ops("heal", "db3"));
  BOOST_TEST(cluster.Ops("wait", "db3"));
  pause(2000);

  // The node in use cut off: its connections hang instead of failing (db_timeout ends
  // them), and it refuses work (non-Primary) until it is back.
  const int64_t db1_cut = NowMs();
  BOOST_REQUIRE(cluster.Ops("partition", "db1"));
  pause(5000);
  BOOST_REQUIRE(cluster.Ops("heal", "db1"));
  BOOST_TEST(cluster.Ops("wait", "db1"));
  const int64_t partition_stall_ms = load.LongestStallBetween(db1_cut, db1_cut + 10'000);
  pause(3000);  // long enough for the hosts to take db1 back

  // Last, an application host cut off: nginx's requests to it end by timeout, new ones go
  // to the other host; its dispatcher reaches neither the database nor the gateway, and
  // what it had in flight has an unknown outcome.
  const int64_t app2_cut = NowMs();
  BOOST_REQUIRE(cluster.Ops("partition", "app2"));
  pause(4000);
  BOOST_REQUIRE(cluster.Ops("heal", "app2"));
  BOOST_TEST(cluster.Ops("wait", "app2"));
  pause(2000);
  load.Stop();

  const LoadFigures figures = load.Figures();
  // Every accepted send reaches the gateway; a dispatcher killed with claims hands them on
  // after its lease (2 x sparrow_timeout + 5 s).
  // SMS a host had in flight when it crashed (the last moments before the kill, read by the
  // gateway up to a moment after it) or was cut off (from then on) have an unknown
  // outcome: they may be sent again.
  const std::vector<Window> lost_host{{app1_killed - 2000, app1_killed + 500},
                                      {app2_cut, NowMs()}};
  const DeliveryFigures delivery = WaitForDelivery(figures.accepted_phones, 40'000, lost_host);
  std::printf(
      "cluster figures: sends accepted %zu, answers refused or failed %zu (retried with "
      "their Idempotency-Key), accepted never delivered %zu, SMS sent twice %zu (%zu of them "
      "in flight on a host that crashed or was cut off: outcome unknown), longest "
      "write stall %lld ms, stall after killing the node in use %lld ms, that node Synced "
      "again after %lld ms, stall after cutting the node in use off %lld ms\n",
      figures.accepted_phones.size(), figures.failed_attempts, delivery.lost,
      delivery.duplicated, delivery.duplicated_by_lost_host,
      static_cast<long long>(figures.longest_stall_ms), static_cast<long long>(failover_ms),
      static_cast<long long>(db1_back_ms), static_cast<long long>(partition_stall_ms));
  for (const auto& copies : delivery.duplicate_times) {
    std::printf("  a phone got %zu copies, at (ms after the db1 kill):", copies.size());
    for (int64_t at : copies) std::printf(" %lld", static_cast<long long>(at - db1_killed));
    std::printf(" (app1 was killed at %lld, app2 cut off at %lld)\n",
                static_cast<long long>(app1_killed - db1_killed),
                static_cast<long long>(app2_cut - db1_killed));
  }
  std::fflush(stdout);
  BOOST_TEST(figures.accepted_phones.size() > 50u);
  BOOST_TEST(delivery.lost == 0u);
  // Sparrow takes no idempotency key: an SMS the gateway took from a dispatcher that died
  // or was cut off before recording it is sent again once its lease ends (at least once,
  // never lost). Every other path -- the node in use lost, a database node partitioned, a
  // COMMIT lost with its connection -- must send nothing twice.
  BOOST_TEST(delivery.duplicated - delivery.duplicated_by_lost_host == 0u);
  for (const char* host : {"app1", "app2"}) {
    BOOST_TEST(Through(host).Get("/healthz").json["db_node"].asString() == "10.77.0.11:3306");
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::ctest
