// Abuse limits that tests elsewhere do not reach: the per-number-block (SMS pumping)
// guard, client addresses from X-Forwarded-For only through trusted proxies, and login
// throttling for names that do not exist and its reset by a success.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <latch>
#include <thread>
#include <vector>

#include "api_helpers.h"
#include "fault_helpers.h"

namespace phoneverify::itest {
namespace {

Json::Value Phone(const std::string& phone) {
  Json::Value body;
  body["phone"] = phone;
  return body;
}

Json::Value Credentials(const std::string& username, const std::string& password) {
  Json::Value body;
  body["username"] = username;
  body["password"] = password;
  return body;
}

void ExpectTooMany(const HttpResponse& r, const std::string& code) {
  BOOST_TEST(r.status == 429, "body: " << r.body);
  BOOST_TEST(r.HasErrorShape(), "body: " << r.body);
  BOOST_TEST(r.json["code"].asString() == code);
  BOOST_TEST(r.json["retry_after"].asInt() >= 1);
  BOOST_TEST(r.Header("retry-after") == std::to_string(r.json["retry_after"].asInt()));
}

HttpResponse SendFrom(const TestUser& user, const std::string& phone,
                      const std::string& forwarded_for) {
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/phone/send-otp";
  request.body = ToJson(Phone(phone));
  request.headers = {"Content-Type: application/json", "Authorization: Token " + user.token,
                     "X-Forwarded-For: " + forwarded_for};
  return Stack::Get().Client().Send(request);
}

HttpResponse PostFrom(const std::string& path, const Json::Value& body,
                      const std::string& forwarded_for) {
  HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.body = ToJson(body);
  request.headers = {"Content-Type: application/json", "X-Forwarded-For: " + forwarded_for};
  return Stack::Get().Client().Send(request);
}

HttpResponse LoginFrom(const std::string& username, const std::string& password,
                       const std::string& forwarded_for) {
  return PostFrom("/api/v1/auth/token", Credentials(username, password), forwarded_for);
}

// A client address of its own (TEST-NET-3), so no other test's counts meet it.
std::string UniqueClient() {
  static std::atomic<int> clients{0};
  return "203.0.113." + std::to_string(++clients);
}

// `calls` requests started together; their HTTP statuses.
std::vector<long> AllAtOnce(int calls, const std::function<HttpResponse()>& call) {
  std::latch start(calls);
  std::vector<long> statuses(calls);
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      statuses[i] = call().status;
    });
  }
  for (auto& t : threads) t.join();
  return statuses;
}

long CountOf(const std::vector<long>& statuses, long status) {
  return std::count(statuses.begin(), statuses.end(), status);
}

BOOST_AUTO_TEST_SUITE(abuse_limits)

// Regression (issue 15, "the login throttle races"): 30 parallel wrong passwords for one
// username were all checked with login_max_failures = 10.
BOOST_AUTO_TEST_CASE(parallel_wrong_passwords_check_at_most_the_limit) {
  ScopedAppConfig config(Overrides{{"login_max_failures", "10"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::vector<long> statuses = AllAtOnce(30, [&] {
    return client.PostJson("/api/v1/auth/token", Credentials(user.username, "wrong-pw-1"));
  });
  BOOST_TEST(CountOf(statuses, 401) <= 10);
  BOOST_TEST(CountOf(statuses, 401) >= 1);
  BOOST_TEST(CountOf(statuses, 401) + CountOf(statuses, 429) == 30);
  auto checked = AdminConnection();
  BOOST_TEST(QueryInt(*checked,
                      "SELECT COUNT(*) FROM limit_events WHERE scope = 'login' AND key_ = ?",
                      {storage::Param::Bytes(user.username)}) == CountOf(statuses, 401));
  ExpectTooMany(client.PostJson("/api/v1/auth/token", Credentials(user.username, user.password)),
                "too_many_requests");
}

// Password spraying: one client trying many usernames.
BOOST_AUTO_TEST_CASE(failed_logins_from_one_client_are_capped_across_usernames) {
  ScopedAppConfig config(
      Overrides{{"login_max_failures_per_ip", "5"}, {"trusted_proxies", "127.0.0.1"}});
  TestUser user = NewUser(Stack::Get().Client());
  const std::string sprayer = UniqueClient();
  for (int i = 0; i < 5; ++i) {
    BOOST_TEST(LoginFrom(UniqueName("spray"), "Spring2024!", sprayer).status == 401);
  }
  ExpectTooMany(LoginFrom(UniqueName("spray"), "Spring2024!", sprayer), "too_many_requests");
  // While over, even the right password is refused from there; elsewhere it works.
  ExpectTooMany(LoginFrom(user.username, user.password, sprayer), "too_many_requests");
  BOOST_TEST(LoginFrom(user.username, user.password, UniqueClient()).status == 200);

  // At once, too: twenty names in parallel from a fresh client check at most five.
  const std::string parallel = UniqueClient();
  const std::vector<long> statuses = AllAtOnce(
      20, [&] { return LoginFrom(UniqueName("spray"), "Spring2024!", parallel); });
  BOOST_TEST(CountOf(statuses, 401) <= 5);
  BOOST_TEST(CountOf(statuses, 401) + CountOf(statuses, 429) == 20);
}

// Regression (issue 15): sign-up hashed the password before the per-IP check.
BOOST_AUTO_TEST_CASE(signups_refused_per_client_create_nothing_even_in_parallel) {
  ScopedAppConfig config(
      Overrides{{"ip_max_signups_per_hour", "2"}, {"trusted_proxies", "127.0.0.1"}});
  const std::string client_ip = UniqueClient();
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) names.push_back(UniqueName("burst"));
  std::atomic<int> next{0};
  const std::vector<long> statuses = AllAtOnce(12, [&] {
    return PostFrom("/api/v1/accounts", Credentials(names[next++], "pw-123456x"), client_ip);
  });
  BOOST_TEST(CountOf(statuses, 201) == 2);
  BOOST_TEST(CountOf(statuses, 429) == 10);
  auto admin = AdminConnection();
  int64_t created = 0;
  for (const std::string& name : names) {
    created += QueryInt(*admin, "SELECT COUNT(*) FROM accounts WHERE username_key = ?",
                        {storage::Param::Text(name)});
  }
  BOOST_TEST(created == 2);
  ExpectTooMany(PostFrom("/api/v1/accounts", Credentials(UniqueName("late"), "pw-123456x"),
                         client_ip),
                "too_many_requests");
}

// UniquePhone numbers of one prefix share their first six digits: one number block.
BOOST_AUTO_TEST_CASE(sends_to_one_number_block_are_capped) {
  ScopedAppConfig config(Overrides{{"prefix_max_sends_per_hour", "2"}});
  auto client = Stack::Get().Client();
  TestUser a = NewUser(client), b = NewUser(client), c = NewUser(client);
  const std::string one = UniquePhone("976"), two = UniquePhone("976"), three = UniquePhone("976");
  BOOST_REQUIRE_EQUAL(one.substr(0, 6), three.substr(0, 6));
  BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(one), a.token).status == 202);
  BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(two), b.token).status == 202);
  ExpectTooMany(client.PostJson("/api/v1/phone/send-otp", Phone(three), c.token),
                "send_limit_reached");
  const std::string elsewhere = UniquePhone("980");
  BOOST_REQUIRE_NE(elsewhere.substr(0, 6), one.substr(0, 6));
  BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(elsewhere), c.token).status == 202);
  BOOST_TEST(SmsCountFor(three) == 0u);
}

// Sends counted against 127.0.0.1 here would still count for other tests' per-IP limits
// within the hour: they are removed at the end, however the test ends.
struct ForgetLoopbackSends {
  ~ForgetLoopbackSends() {
    auto admin = AdminConnection();
    static_cast<void>(admin->Exec(
        "DELETE FROM limit_events WHERE scope = 'ip_send_hour' AND key_ = '127.0.0.1'", {}));
  }
};

BOOST_AUTO_TEST_CASE(x_forwarded_for_counts_only_from_a_trusted_proxy) {
  ForgetLoopbackSends forget;
  {
    // nginx talks to phoneverify from 127.0.0.1: trusted, so the forwarded client counts.
    ScopedAppConfig config(
        Overrides{{"ip_max_sends_per_hour", "1"}, {"trusted_proxies", "127.0.0.1"}});
    TestUser user = NewUser(Stack::Get().Client());
    BOOST_TEST(SendFrom(user, UniquePhone("981"), "198.51.100.7").status == 202);
    ExpectTooMany(SendFrom(user, UniquePhone("981"), "198.51.100.7"), "send_limit_reached");
    // Another client behind the same proxy has its own allowance; a hop the client
    // wrote further left is not believed.
    BOOST_TEST(SendFrom(user, UniquePhone("981"), "198.51.100.8").status == 202);
    ExpectTooMany(SendFrom(user, UniquePhone("981"), "203.0.113.1, 198.51.100.8"),
                  "send_limit_reached");
  }
  // Nobody trusted: the header is ignored and every request is 127.0.0.1's.
  ScopedAppConfig config(Overrides{{"ip_max_sends_per_hour", "1"}});
  TestUser user = NewUser(Stack::Get().Client());
  BOOST_TEST(SendFrom(user, UniquePhone("982"), "198.51.100.20").status == 202);
  ExpectTooMany(SendFrom(user, UniquePhone("982"), "198.51.100.21"), "send_limit_reached");
}

// A subscriber holds a whole IPv6 /64 and can rotate through it: per-IP limits count the
// network (ipv6_limit_prefix, 64 by default), not the address.
BOOST_AUTO_TEST_CASE(ipv6_clients_are_counted_by_their_network) {
  {
    ScopedAppConfig config(
        Overrides{{"ip_max_sends_per_hour", "2"}, {"trusted_proxies", "127.0.0.1"}});
    TestUser user = NewUser(Stack::Get().Client());
    BOOST_TEST(SendFrom(user, UniquePhone("981"), "2001:db8:7:1::1").status == 202);
    BOOST_TEST(SendFrom(user, UniquePhone("981"), "2001:db8:7:1:ffff:1234:5678:9abc").status ==
               202);
    ExpectTooMany(SendFrom(user, UniquePhone("981"), "2001:db8:7:1::2:3"), "send_limit_reached");
    // The next /64 is another subscriber; IPv4 clients still count by their address.
    BOOST_TEST(SendFrom(user, UniquePhone("981"), "2001:db8:7:2::1").status == 202);
    BOOST_TEST(SendFrom(user, UniquePhone("981"), "198.51.100.70").status == 202);
  }
  // ipv6_limit_prefix = 128: every address on its own.
  ScopedAppConfig config(Overrides{{"ip_max_sends_per_hour", "1"},
                                   {"trusted_proxies", "127.0.0.1"},
                                   {"ipv6_limit_prefix", "128"}});
  TestUser user = NewUser(Stack::Get().Client());
  BOOST_TEST(SendFrom(user, UniquePhone("982"), "2001:db8:8:1::1").status == 202);
  BOOST_TEST(SendFrom(user, UniquePhone("982"), "2001:db8:8:1::2").status == 202);
  ExpectTooMany(SendFrom(user, UniquePhone("982"), "2001:db8:8:1::2"), "send_limit_reached");
}

// Enumeration: one account cannot sweep numbers to learn which are registered. verify-otp
// without a code of its own says only otp_not_requested; each send-otp 409 phone_taken
// counts toward the account's daily cap.
BOOST_AUTO_TEST_CASE(sweeping_registered_numbers_runs_into_the_account_cap) {
  ScopedAppConfig config(Overrides{{"account_max_sends_per_day", "2"}});
  auto client = Stack::Get().Client();
  TestUser owner = NewUser(client), sweeper = NewUser(client);
  const std::string phone = UniquePhone("974");
  const std::string code = SendAndReceive(client, owner, phone);
  Json::Value guess = Phone(phone);
  guess["otp"] = code;
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/verify-otp", guess, owner.token).status, 200);
  auto probe = client.PostJson("/api/v1/phone/verify-otp", guess, sweeper.token);
  BOOST_TEST(probe.status == 400);
  BOOST_TEST(probe.json["code"].asString() == "otp_not_requested");
  for (int i = 0; i < 2; ++i) {
    auto taken = client.PostJson("/api/v1/phone/send-otp", Phone(phone), sweeper.token);
    BOOST_TEST(taken.status == 409);
    BOOST_TEST(taken.json["code"].asString() == "phone_taken");
  }
  ExpectTooMany(client.PostJson("/api/v1/phone/send-otp", Phone(phone), sweeper.token),
                "send_limit_reached");
  ExpectTooMany(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone("974")),
                                sweeper.token),
                "send_limit_reached");
}

BOOST_AUTO_TEST_CASE(logins_for_unknown_names_are_throttled_and_a_success_resets) {
  ScopedAppConfig config(Overrides{{"login_max_failures", "3"}});
  auto client = Stack::Get().Client();
  const std::string ghost = UniqueName("ghost");
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(client.PostJson("/api/v1/auth/token", Credentials(ghost, "pw-123456")).status ==
               401);
  }
  ExpectTooMany(client.PostJson("/api/v1/auth/token", Credentials(ghost, "pw-123456")),
                "too_many_requests");
  // Case-folded: the same name in capitals is the same counter.
  std::string shouting = ghost;
  for (char& ch : shouting) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ExpectTooMany(client.PostJson("/api/v1/auth/token", Credentials(shouting, "pw-123456")),
                "too_many_requests");

  TestUser user = NewUser(client);
  for (int i = 0; i < 2; ++i) {
    BOOST_TEST(client.PostJson("/api/v1/auth/token", Credentials(user.username, "wrong-pw-1"))
                   .status == 401);
  }
  BOOST_TEST(client.PostJson("/api/v1/auth/token", Credentials(user.username, user.password))
                 .status == 200);
  for (int i = 0; i < 2; ++i) {  // counted from zero again
    BOOST_TEST(client.PostJson("/api/v1/auth/token", Credentials(user.username, "wrong-pw-1"))
                   .status == 401);
  }
  BOOST_TEST(client.PostJson("/api/v1/auth/token", Credentials(user.username, user.password))
                 .status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
