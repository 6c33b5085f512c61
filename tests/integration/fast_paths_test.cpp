// The paths the performance work added, on the real stack: the worker -> dispatcher
// wake-up, serving threads behind nginx's kept connections, the compare-and-set wrong
// guess and the single-statement send snapshot.
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>
#include <vector>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

Json::Value Body(const std::string& phone, const std::string& otp = "") {
  Json::Value body;
  body["phone"] = phone;
  if (!otp.empty()) body["otp"] = otp;
  return body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fast_paths)

// With a poll interval far longer than WaitForCode waits (10 s), only the wake-up
// datagram from the worker can get the message out in time.
BOOST_AUTO_TEST_CASE(a_send_wakes_the_sleeping_dispatcher) {
  ScopedAppConfig config(Overrides{{"dispatcher_poll_ms", "60000"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // past its first pass
  const std::string phone = UniquePhone("980");
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Body(phone), user.token).status,
                      202);
  BOOST_TEST(!WaitForCode(phone, 1).empty(), "the dispatcher was not woken");
}

// More clients at once than nginx keeps connections to phoneverify-fcgi: every request is
// answered (a kept connection ties up a serving thread; none may starve the others).
BOOST_AUTO_TEST_CASE(many_concurrent_clients_over_kept_connections_all_get_answers) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  constexpr int kClients = 40;
  constexpr int kRequestsEach = 10;
  std::vector<std::future<int>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::async(std::launch::async, [&] {
      int ok = 0;
      for (int k = 0; k < kRequestsEach; ++k) {
        auto me = client.Get("/api/v1/me", user.token);
        ok += me.status == 200 && me.json["id"].asInt64() == user.id;
      }
      return ok;
    }));
  }
  int answered = 0;
  for (auto& f : clients) answered += f.get();
  BOOST_TEST(answered == kClients * kRequestsEach);
}

// A wrong guess after a resend counts against the new code only, and the new code still
// verifies: the compare-and-set never applies a decision taken on the old code.
BOOST_AUTO_TEST_CASE(guesses_across_a_resend_count_against_the_current_code) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("982");
  const std::string first = SendAndReceive(client, user, phone);
  const std::string wrong = first == "000000" ? "111111" : "000000";
  auto r = client.PostJson("/api/v1/phone/verify-otp", Body(phone, wrong), user.token);
  BOOST_REQUIRE_EQUAL(r.status, 400);
  BOOST_TEST(r.json["attempts_left"].asInt() == 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // resend cooldown: 2 s
  const std::string second = SendAndReceive(client, user, phone);
  const std::string wrong2 = second == "000000" ? "111111" : "000000";
  r = client.PostJson("/api/v1/phone/verify-otp", Body(phone, wrong2), user.token);
  BOOST_REQUIRE_EQUAL(r.status, 400);
  BOOST_TEST(r.json["attempts_left"].asInt() == 4);  // a fresh count for the new code
  r = client.PostJson("/api/v1/phone/verify-otp", Body(phone, second), user.token);
  BOOST_TEST(r.status == 200, "body: " << r.body);
}

// The send's snapshot (previous send, owner, earlier code) comes from the statement that
// locks the phone's gate: a phone verified by one account is refused to another.
BOOST_AUTO_TEST_CASE(a_phone_verified_elsewhere_is_refused_at_send) {
  auto client = Stack::Get().Client();
  TestUser owner = NewUser(client);
  TestUser other = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string code = SendAndReceive(client, owner, phone);
  BOOST_REQUIRE_EQUAL(
      client.PostJson("/api/v1/phone/verify-otp", Body(phone, code), owner.token).status, 200);
  auto r = client.PostJson("/api/v1/phone/send-otp", Body(phone), other.token);
  BOOST_TEST(r.status == 409);
  BOOST_TEST(r.json["code"].asString() == "phone_taken");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::itest
