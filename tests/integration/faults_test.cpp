// Fault injection on the real stack: the database stalled (SIGSTOP) and killed, a worker
// killed in the middle of a request, the gateway refusing, hanging, dropping and out of
// credit. Each test checks the contract's answers during the fault and that everything
// recovers without restarting phoneverify. Figures (how long a 503 took) are printed, not
// asserted.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <atomic>
#include <future>
#include <iostream>
#include <map>
#include <thread>

#include "api_helpers.h"
#include "fault_helpers.h"

namespace phoneverify::itest {
namespace {

using namespace std::chrono_literals;
using fakes::FakeSparrow;
using storage::Param;

Json::Value Phone(const std::string& phone) {
  Json::Value body;
  body["phone"] = phone;
  return body;
}

// Puts the fake gateway back to answering "ok" when the test ends, however it ends.
struct GatewayResetOnExit {
  ~GatewayResetOnExit() { Stack::Get().Sparrow().SetMode(FakeSparrow::Ok()); }
};

void ExpectUnavailable(const HttpResponse& r) {
  BOOST_TEST(r.status == 503, "body: " << r.body);
  BOOST_TEST(r.HasErrorShape(), "body: " << r.body);
  BOOST_TEST(r.json["code"].asString() == "unavailable", "body: " << r.body);
}

// Gateway requests for `phone` that the fake answered with a success.
size_t OkRepliesFor(const std::string& phone) {
  size_t n = 0;
  for (const auto& r : Stack::Get().Sparrow().Requests()) {
    n += r.to == phone && r.reply == "ok";
  }
  return n;
}

bool WaitDelivered(const std::string& phone, std::chrono::milliseconds timeout) {
  return WaitUntil([&] { return OkRepliesFor(phone) >= 1; }, timeout);
}

// Polls GET /api/v1/phone/otp until `done` holds for it (or a timeout); returns the last.
HttpResponse WaitForOtpStatus(const TestUser& user, const std::string& phone,
                              const std::function<bool(const Json::Value&)>& done,
                              std::chrono::milliseconds timeout) {
  HttpResponse last;
  WaitUntil(
      [&] {
        last = Stack::Get().Client().Get("/api/v1/phone/otp?phone=" + phone, user.token);
        return last.status == 200 && done(last.json);
      },
      timeout);
  return last;
}

BOOST_AUTO_TEST_SUITE(database_faults)

BOOST_AUTO_TEST_CASE(stalled_database_answers_503_fast_and_recovers_without_restart) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const pid_t db = StackPid("mariadb");
  const pid_t master = StackPid("fcgi");
  const pid_t dispatcher = StackPid("dispatcher");
  BOOST_REQUIRE(ProcessAlive(db));
  {
    ContinueOnExit resume(db);
    BOOST_REQUIRE_EQUAL(::kill(db, SIGSTOP), 0);
    HttpResponse health, me, send;
    const int64_t health_ms = TimeMillis([&] { health = client.Get("/healthz"); });
    const int64_t me_ms = TimeMillis([&] { me = client.Get("/api/v1/me", user.token); });
    const int64_t send_ms = TimeMillis(
        [&] { send = client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token); });
    ExpectUnavailable(health);
    ExpectUnavailable(me);
    ExpectUnavailable(send);
    // More of them: the workers share the "database down" mark, so most fail at once and
    // one probe at a time waits for the timeout.
    std::string more;
    for (int i = 0; i < 10; ++i) {
      HttpResponse again;
      more += " " + std::to_string(TimeMillis([&] { again = client.Get("/healthz"); }));
      ExpectUnavailable(again);
    }
    std::cout << "stalled database: /healthz 503 in " << health_ms << " ms, GET /api/v1/me 503 in "
              << me_ms << " ms, send-otp 503 in " << send_ms << " ms; 10 more /healthz (ms):"
              << more << std::endl;
  }
  int64_t recovered_ms = 0;
  long health = 0;
  recovered_ms = TimeMillis([&] { health = WaitForHealth(200, 30s); });
  BOOST_REQUIRE_EQUAL(health, 200);
  std::cout << "stalled database: /healthz 200 again " << recovered_ms << " ms after SIGCONT"
            << std::endl;
  BOOST_TEST(client.Get("/api/v1/me", user.token).status == 200);
  const std::string phone = UniquePhone();
  BOOST_TEST(!SendAndReceive(client, user, phone).empty());
  BOOST_TEST(StackPid("fcgi") == master);
  BOOST_TEST(StackPid("dispatcher") == dispatcher);
  BOOST_TEST(ProcessAlive(master));
  BOOST_TEST(ProcessAlive(dispatcher));
}

BOOST_AUTO_TEST_CASE(killed_database_started_again_is_used_without_restart) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const pid_t master = StackPid("fcgi");
  const pid_t dispatcher = StackPid("dispatcher");
  // A message that is still retrying when the database dies: the dispatcher must
  // deliver it once the database is back (its outbox writes may fail meanwhile).
  const std::string early = UniquePhone("985");
  Stack::Get().Sparrow().FailNext(1, FakeSparrow::Http500());
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(early), user.token).status,
                      202);
  BOOST_REQUIRE(WaitUntil([&] { return SmsCountFor(early) >= 1; }, 10s));
  const pid_t db = StackPid("mariadb");
  BOOST_REQUIRE_EQUAL(::kill(db, SIGKILL), 0);
  BOOST_REQUIRE(WaitUntil([&] { return !ProcessAlive(db); }, 10s));

  HttpResponse health, send;
  const int64_t health_ms = TimeMillis([&] { health = client.Get("/healthz"); });
  const int64_t send_ms = TimeMillis(
      [&] { send = client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token); });
  ExpectUnavailable(health);
  ExpectUnavailable(send);
  ExpectUnavailable(client.Get("/api/v1/me", user.token));
  std::cout << "killed database: /healthz 503 in " << health_ms << " ms, send-otp 503 in "
            << send_ms << " ms" << std::endl;

  BOOST_REQUIRE_EQUAL(Stack::Get().StackCommand("start-db"), 0);
  BOOST_REQUIRE_EQUAL(WaitForHealth(200, 30s), 200);
  BOOST_TEST(client.Get("/api/v1/me", user.token).status == 200);
  BOOST_TEST(!SendAndReceive(client, user, UniquePhone("986")).empty());
  BOOST_TEST(WaitDelivered(early, 30s));
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(OkRepliesFor(early) == 1u);
  BOOST_TEST(StackPid("fcgi") == master);
  BOOST_TEST(StackPid("dispatcher") == dispatcher);
  BOOST_TEST(ProcessAlive(master));
  BOOST_TEST(ProcessAlive(dispatcher));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(worker_faults)

// The send is one CALL (sql/016): it stamps the gates, writes the limit events, the outbox
// row and then the code row, and commits. A lock held on the code row stops it at the
// code row's upsert, where the worker is killed. The procedure runs on inside MariaDB (a
// server thread waiting for a lock does not watch its client) and, once the lock is
// released, commits the whole send or, if the server noticed the client gone, none of it:
// never half. For the client the outcome is unknown (a 5xx), so it repeats the request
// with its Idempotency-Key and gets the one send's receipt, and one SMS goes out.
BOOST_AUTO_TEST_CASE(worker_killed_mid_request_is_replaced_and_leaves_nothing_half_written) {
  ScopedAppConfig config(Overrides{{"workers", "1"}, {"db_timeout", "15"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("980");
  auto admin = AdminConnection();
  BOOST_REQUIRE(admin->Begin().ok());
  BOOST_REQUIRE(admin
                    ->Exec("INSERT INTO otp_codes (account_id, phone, code_hash, created_at, "
                           "expires_at) VALUES (?, ?, 'lock', 0, 0)",
                           {Param::Int(user.id), Param::Text(phone)})
                    .ok());
  const std::string key = "killed-" + phone;
  auto send_with_key = [&] {
    HttpRequest request;
    request.method = "POST";
    request.path = "/api/v1/phone/send-otp";
    request.body = ToJson(Phone(phone));
    request.headers = {"Content-Type: application/json", "Authorization: Token " + user.token,
                       "Idempotency-Key: " + key};
    return client.Send(request);
  };
  auto pending = std::async(std::launch::async, send_with_key);
  auto observer = AdminConnection();
  const bool waiting = WaitUntil(
      [&] {
        // (information_schema.innodb_trx lags; the process list shows the statement.)
        return QueryInt(*observer,
                        "SELECT COUNT(*) FROM information_schema.processlist "
                        "WHERE info LIKE 'INSERT INTO %' AND info LIKE '%otp_codes%'") == 1;
      },
      10s);
  const pid_t master = StackPid("fcgi");
  const std::vector<pid_t> workers = ChildrenOf(master);
  BOOST_REQUIRE_EQUAL(workers.size(), 1u);
  BOOST_REQUIRE(waiting);
  BOOST_REQUIRE_EQUAL(::kill(workers[0], SIGKILL), 0);
  const HttpResponse killed = pending.get();
  BOOST_TEST(admin->Rollback().ok());
  BOOST_TEST(killed.status >= 500, "body: " << killed.body);
  BOOST_TEST(killed.HasErrorShape(), "body: " << killed.body);

  // The killed request's transaction ended whole or not at all: once no statement of it
  // runs any more, its rows are all there or none is.
  BOOST_TEST(WaitUntil(
      [&] {
        return QueryInt(*observer,
                        "SELECT COUNT(*) FROM information_schema.processlist "
                        "WHERE (info LIKE 'INSERT INTO %' AND info LIKE '%otp_codes%') "
                        "OR info LIKE 'CALL %'") == 0;
      },
      10s));
  const std::string account = std::to_string(user.id);
  const int64_t messages = QueryInt(*observer, "SELECT COUNT(*) FROM outbox WHERE account_id = ?",
                                    {Param::Int(user.id)});
  BOOST_TEST(messages <= 1);
  BOOST_TEST(QueryInt(*observer,
                      "SELECT COUNT(*) FROM otp_codes WHERE account_id = ? AND outbox_id IS NOT NULL",
                      {Param::Int(user.id)}) == messages);
  BOOST_TEST(QueryInt(*observer, "SELECT COUNT(*) FROM otp_codes WHERE account_id = ?",
                      {Param::Int(user.id)}) == messages);  // the lock's row rolled back
  BOOST_TEST(QueryInt(*observer,
                      "SELECT COUNT(*) FROM limit_gates WHERE scope = 'last_send' AND key_ = ? "
                      "AND last_at > 0",
                      {Param::Bytes(phone)}) == messages);
  BOOST_TEST(QueryInt(*observer,
                      "SELECT COUNT(*) FROM idempotency_keys WHERE account_id = ? AND idem_key = ?",
                      {Param::Int(user.id), Param::Text(key)}) == messages);

  // The master replaces the worker; the repeated send gets the one send's receipt.
  BOOST_TEST(WaitUntil(
      [&] {
        auto now = ChildrenOf(master);
        return now.size() == 1 && now[0] != workers[0];
      },
      10s));
  auto again = send_with_key();
  BOOST_REQUIRE_EQUAL(again.status, 202);
  BOOST_TEST(again.json["sends_left"].asInt() == 4);
  BOOST_TEST(!WaitForCode(phone, 1).empty());
  BOOST_TEST(QueryInt(*observer, "SELECT COUNT(*) FROM outbox WHERE account_id = ?",
                      {Param::Int(user.id)}) == 1);
  BOOST_TEST(CountLogLines({"\"worker exited\"", "\"signal\":9",
                            "\"pid\":" + std::to_string(workers[0])}) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gateway_faults)

BOOST_AUTO_TEST_CASE(refused_connections_are_retried_then_failed_with_the_reason) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/v2/sms/";
  ScopedAppConfig config(
      Overrides{{"sparrow_url", url}, {"sms_max_tries", "3"}, {"sms_retry_base", "1"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("981");
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status,
                      202);
  auto retrying = WaitForOtpStatus(
      user, phone, [](const Json::Value& s) { return !s["delivery_error"].isNull(); }, 20s);
  BOOST_TEST(retrying.json["delivery"].asString() != "sent");
  // Plain words for the user; the gateway's own text stays in the log and admin tool.
  BOOST_TEST(retrying.json["delivery_error"].asString() ==
             "The SMS could not be sent yet; it will be tried again shortly.");
  auto failed = WaitForOtpStatus(
      user, phone, [](const Json::Value& s) { return s["delivery"].asString() == "failed"; }, 30s);
  BOOST_TEST(failed.json["delivery"].asString() == "failed");
  BOOST_TEST(failed.json["delivery_error"].asString() ==
             "The SMS could not be delivered. Check the number, or ask for a new code later.");
  BOOST_TEST(failed.json["state"].asString() == "pending");  // the code itself is still valid
}

BOOST_AUTO_TEST_CASE(hung_gateway_never_blocks_the_api_and_is_retried) {
  ScopedAppConfig config(Overrides{{"sparrow_timeout", "1"}, {"sms_retry_base", "1"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string slow = UniquePhone("982");
  Stack::Get().Sparrow().FailNext(1, FakeSparrow::Delay(5000));
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(slow), user.token).status,
                      202);
  BOOST_REQUIRE(WaitUntil([&] { return SmsCountFor(slow) >= 1; }, 10s));
  // The dispatcher is inside the hung call now; the API does not wait for it.
  const std::string other = UniquePhone("984");
  HttpResponse accepted;
  const int64_t ms = TimeMillis(
      [&] { accepted = client.PostJson("/api/v1/phone/send-otp", Phone(other), user.token); });
  BOOST_TEST(accepted.status == 202);
  std::cout << "hung gateway: send-otp answered 202 in " << ms << " ms meanwhile" << std::endl;
  BOOST_TEST(WaitDelivered(slow, 20s));
  BOOST_TEST(WaitDelivered(other, 20s));
  auto status = client.Get("/api/v1/phone/otp?phone=" + slow, user.token);
  BOOST_TEST(status.json["delivery"].asString() == "sent");
}

BOOST_AUTO_TEST_CASE(failing_gateway_opens_the_circuit_and_everything_is_delivered_after) {
  ScopedAppConfig config(Overrides{{"sms_breaker_failures", "3"},
                                   {"sms_breaker_cooloff", "1"},
                                   {"sms_retry_base", "1"},
                                   {"sms_retry_max", "2"},
                                   {"sms_max_tries", "100"}});
  const size_t opened_before = CountLogLines({"sms gateway circuit open"});
  const size_t closed_before = CountLogLines({"sms gateway circuit closed"});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  GatewayResetOnExit reset;
  Stack::Get().Sparrow().SetMode(FakeSparrow::Drop());
  std::vector<std::string> phones;
  for (int i = 0; i < 5; ++i) {
    phones.push_back(UniquePhone("974"));
    BOOST_REQUIRE_EQUAL(
        client.PostJson("/api/v1/phone/send-otp", Phone(phones.back()), user.token).status, 202);
  }
  BOOST_TEST(WaitUntil([&] { return CountLogLines({"sms gateway circuit open"}) > opened_before; },
                       20s));
  Stack::Get().Sparrow().SetMode(FakeSparrow::Ok());
  for (const auto& phone : phones) BOOST_TEST(WaitDelivered(phone, 30s), phone);
  BOOST_TEST(CountLogLines({"sms gateway circuit closed"}) > closed_before);
  for (const auto& phone : phones) BOOST_TEST(OkRepliesFor(phone) == 1u, phone);
}

// A code for a new phone that Sparrow refuses with `sparrow_code` (1012/1013: no credit):
// the phone, and its status once the message shows failed.
std::pair<std::string, HttpResponse> SendIntoNoCredit(const HttpClient& client,
                                                      const TestUser& user, int sparrow_code) {
  const std::string refused = UniquePhone("975");
  Stack::Get().Sparrow().FailNext(1, FakeSparrow::Error403(sparrow_code));
  BOOST_REQUIRE_EQUAL(
      client.PostJson("/api/v1/phone/send-otp", Phone(refused), user.token).status, 202);
  return {refused, WaitForOtpStatus(
                       user, refused,
                       [](const Json::Value& s) { return s["delivery"].asString() == "failed"; },
                       20s)};
}

BOOST_AUTO_TEST_CASE(out_of_credit_fails_the_message_alerts_and_resumes_on_success) {
  ScopedAppConfig config(Overrides{{"sms_credit_pause", "1"}});
  const size_t alerts_before = CountLogLines({"out of credit", "\"alert\":true"});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const auto [refused, failed] = SendIntoNoCredit(client, user, 1013);
  BOOST_TEST(failed.json["delivery_error"].asString().find("1013") == std::string::npos);
  BOOST_TEST(failed.json["delivery_error"].asString().find("could not be delivered") !=
             std::string::npos);
  BOOST_TEST(CountLogLines({"out of credit", "\"alert\":true"}) == alerts_before + 1);
  const std::string later = UniquePhone("976");
  BOOST_TEST(!SendAndReceive(client, user, later).empty());
  BOOST_TEST(SmsCountFor(refused) == 1u);  // permanent for that message: not retried
}

// Contract section 6: while paused for lack of credit, the dispatcher asks Sparrow's
// credit endpoint every sms_credit_poll seconds and resumes as soon as it reports credit,
// long before sms_credit_pause (an hour here) runs out.
BOOST_AUTO_TEST_CASE(credit_back_ends_the_pause_without_waiting_it_out) {
  ScopedAppConfig config(Overrides{{"sms_credit_pause", "3600"}, {"sms_credit_poll", "1"}});
  const size_t resumed_before = CountLogLines({"sms credit is back"});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  BOOST_TEST(SendIntoNoCredit(client, user, 1012).second.json["delivery"].asString() == "failed");
  const std::string later = UniquePhone("976");
  BOOST_TEST(!SendAndReceive(client, user, later).empty());  // waits 10 s, not an hour
  BOOST_TEST(CountLogLines({"sms credit is back"}) > resumed_before);
}

BOOST_AUTO_TEST_CASE(restarted_dispatcher_resumes_pending_messages) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("980");
  GatewayResetOnExit reset;
  Stack::Get().Sparrow().SetMode(FakeSparrow::Http500());
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status,
                      202);
  BOOST_REQUIRE(WaitUntil([&] { return SmsCountFor(phone) >= 1; }, 10s));
  Stack::Get().RestartApp({});  // SIGTERM drains; the new dispatcher finds the row
  Stack::Get().Sparrow().SetMode(FakeSparrow::Ok());
  BOOST_TEST(WaitDelivered(phone, 30s));
  BOOST_TEST(OkRepliesFor(phone) == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(flapping_gateway)

// Sustained sends while the gateway keeps changing its mind: every 202 must be delivered,
// and nothing twice (a resend is allowed only after a dropped or timed-out answer, which
// the fake records as "drop"; two "ok" answers for one message would be a duplicate).
BOOST_AUTO_TEST_CASE(every_accepted_send_is_delivered_once) {
  constexpr int kSends = 200;
  constexpr int kClients = 8;
  constexpr auto kPause = 200ms;  // per client: about 40 sends a second in all
  ScopedAppConfig config(Overrides{{"otp_resend_cooldown", "0"},
                                   {"otp_max_sends_per_day", "0"},
                                   {"account_max_sends_per_day", "0"},
                                   {"sms_max_tries", "100"},
                                   {"sms_retry_base", "1"},
                                   {"sms_retry_max", "2"},
                                   {"sms_breaker_failures", "5"},
                                   {"sms_breaker_cooloff", "1"},
                                   {"sparrow_timeout", "1"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  GatewayResetOnExit reset;
  std::atomic<bool> sending{true};
  std::thread flapper([&] {
    // Flaps while the sends go on and two seconds after, then stays up.
    const std::vector<FakeSparrow::Reply> modes = {FakeSparrow::Ok(), FakeSparrow::Http500(),
                                                   FakeSparrow::Ok(), FakeSparrow::Drop()};
    auto until = std::chrono::steady_clock::now() + 600s;
    for (size_t i = 0; std::chrono::steady_clock::now() < until; ++i) {
      if (sending.load()) until = std::chrono::steady_clock::now() + 2s;
      Stack::Get().Sparrow().SetMode(modes[i % modes.size()]);
      std::this_thread::sleep_for(150ms);
    }
    Stack::Get().Sparrow().SetMode(FakeSparrow::Ok());
  });
  std::vector<std::string> phones(kSends);
  const char* prefixes[] = {"984", "985", "986", "974", "975", "976", "980", "981", "982"};
  for (int i = 0; i < kSends; ++i) phones[i] = UniquePhone(prefixes[i % 9]);
  std::vector<long> statuses(kSends, 0);
  std::atomic<int> next{0};
  const int64_t send_ms = TimeMillis([&] {
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&] {
        for (int i = next++; i < kSends; i = next++) {
          statuses[i] =
              client.PostJson("/api/v1/phone/send-otp", Phone(phones[i]), user.token).status;
          std::this_thread::sleep_for(kPause);  // spread the load over several flaps
        }
      });
    }
    for (auto& t : clients) t.join();
  });
  sending = false;
  std::vector<std::string> accepted;
  for (int i = 0; i < kSends; ++i) {
    if (statuses[i] == 202) accepted.push_back(phones[i]);
  }
  const int64_t drain_ms = TimeMillis([&] {
    WaitUntil(
        [&] {
          for (const auto& phone : accepted) {
            if (OkRepliesFor(phone) == 0) return false;
          }
          return true;
        },
        45s);
  });
  flapper.join();
  std::this_thread::sleep_for(500ms);  // a late duplicate would show up now

  std::map<std::string, std::pair<int, int>> seen;  // phone -> (ok answers, all requests)
  for (const auto& r : Stack::Get().Sparrow().Requests()) {
    auto& [ok, all] = seen[r.to];
    ok += r.reply == "ok";
    ++all;
  }
  int delivered = 0, lost = 0, duplicated = 0, resent = 0, requests = 0;
  for (const auto& phone : accepted) {
    const auto [ok, all] = seen[phone];
    delivered += ok >= 1;
    lost += ok == 0;
    duplicated += ok >= 2;
    resent += all - 1;
    requests += all;
  }
  std::cout << "flapping gateway: " << kSends << " sends in " << send_ms << " ms: accepted "
            << accepted.size() << ", delivered " << delivered << ", lost " << lost
            << ", duplicated " << duplicated << " (gateway requests " << requests
            << ", retries after a failed or dropped answer " << resent << "; all delivered "
            << drain_ms << " ms after the last send)" << std::endl;
  BOOST_TEST(accepted.size() == static_cast<size_t>(kSends));
  BOOST_TEST(lost == 0);
  BOOST_TEST(duplicated == 0);
  BOOST_TEST(resent > 0);  // the gateway did flap
  // The API agrees: every code shows as sent.
  int shown_sent = 0;
  for (const auto& phone : accepted) {
    auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
    shown_sent += status.json["delivery"].asString() == "sent";
  }
  BOOST_TEST(shown_sent == static_cast<int>(accepted.size()));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
