// Idempotency-Key (an extension of the contract): a send or a guess repeated with the
// same key -- a client retrying after a lost answer -- answers like the first time and
// neither sends a second SMS nor uses a second attempt.
#include <boost/test/unit_test.hpp>
#include <thread>
#include <vector>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

HttpResponse PostWithKey(const std::string& path, const Json::Value& body, const TestUser& user,
                         const std::string& key) {
  HttpRequest request;
  request.method = "POST";
  request.path = path;
  request.body = ToJson(body);
  request.headers = {"Content-Type: application/json", "Authorization: Token " + user.token,
                     "Idempotency-Key: " + key};
  return Stack::Get().Client().Send(request);
}

Json::Value Body(const std::string& phone, const std::string& otp = "") {
  Json::Value body;
  body["phone"] = phone;
  if (!otp.empty()) body["otp"] = otp;
  return body;
}

BOOST_AUTO_TEST_SUITE(idempotency)

BOOST_AUTO_TEST_CASE(a_repeated_send_is_answered_again_without_a_second_sms) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string key = UniqueName("send-key");
  auto first = PostWithKey("/api/v1/phone/send-otp", Body(phone), user, key);
  BOOST_REQUIRE_EQUAL(first.status, 202);
  auto again = PostWithKey("/api/v1/phone/send-otp", Body(phone), user, key);
  BOOST_TEST(again.status == 202, "body: " << again.body);  // not 429 resend_too_soon
  BOOST_TEST(again.json["sends_left"] == first.json["sends_left"]);
  BOOST_TEST(!WaitForCode(phone, 1).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(SmsCountFor(phone) == 1u);
  // A new key is a new send (and meets the cooldown).
  auto other = PostWithKey("/api/v1/phone/send-otp", Body(phone), user, UniqueName("k"));
  BOOST_TEST(other.status == 429);
  BOOST_TEST(other.json["code"].asString() == "resend_too_soon");
}

// Contract section 4: any 1 to 255 printable ASCII characters make a key (UUIDs in
// braces, base64 with + / =, long keys); anything else is refused, never dropped.
BOOST_AUTO_TEST_CASE(a_long_key_of_any_printable_characters_works_and_a_malformed_one_is_400) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("985");
  std::string key = "{" + UniqueName("order") + "} +/= ~!@#$%^&*()[]:;'<>?,|` ";
  key += std::string(255 - key.size() - 1, 'x') + "z";
  BOOST_REQUIRE_EQUAL(key.size(), 255u);
  auto first = PostWithKey("/api/v1/phone/send-otp", Body(phone), user, key);
  BOOST_REQUIRE_EQUAL(first.status, 202);
  auto again = PostWithKey("/api/v1/phone/send-otp", Body(phone), user, key);
  BOOST_TEST(again.status == 202, "body: " << again.body);  // the key was kept: a replay
  BOOST_TEST(!WaitForCode(phone, 1).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(SmsCountFor(phone) == 1u);
  for (const std::string& bad : {std::string(256, 'k'), std::string("ключ-1")}) {
    auto refused = PostWithKey("/api/v1/phone/send-otp", Body(UniquePhone("985")), user, bad);
    BOOST_TEST(refused.status == 400, "body: " << refused.body);
    BOOST_TEST(refused.HasErrorShape());
    BOOST_TEST(refused.json["code"].asString() == "invalid_field");
    BOOST_TEST(refused.json["field"].asString() == "Idempotency-Key");
    auto guess = PostWithKey("/api/v1/phone/verify-otp", Body(phone, "123456"), user, bad);
    BOOST_TEST(guess.status == 400);
    BOOST_TEST(guess.json["field"].asString() == "Idempotency-Key");
  }
  // A bad token is still 401 first.
  TestUser nobody = user;
  nobody.token = std::string(64, 'f');
  BOOST_TEST(PostWithKey("/api/v1/phone/verify-otp", Body(phone, "123456"), nobody,
                         std::string(256, 'k'))
                 .status == 401);
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 5);  // no refused guess used one
}

BOOST_AUTO_TEST_CASE(simultaneous_twins_of_a_send_all_get_the_first_answer_and_one_sms) {
  // The twins queue on the phone's gate; each must find the first one's key once the
  // gate is its own. No cooldown: only the key stops a second send, and a second send
  // would show in sends_left (and the third would meet the daily cap of 3 with a 429).
  ScopedAppConfig config(Overrides{{"otp_resend_cooldown", "0"}, {"otp_max_sends_per_day", "3"},
                                   {"prefix_max_sends_per_hour", "0"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string key = UniqueName("twin-key");
  constexpr int kTwins = 8;
  std::vector<HttpResponse> answers(kTwins);
  std::vector<std::thread> threads;
  for (int i = 0; i < kTwins; ++i) {
    threads.emplace_back([&, i] {
      answers[static_cast<size_t>(i)] =
          PostWithKey("/api/v1/phone/send-otp", Body(phone), user, key);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& answer : answers) {
    BOOST_TEST(answer.status == 202, "body: " << answer.body);
    BOOST_TEST(answer.json["sends_left"].asInt() == 2);
  }
  BOOST_TEST(!WaitForCode(phone, 1).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(SmsCountFor(phone) == 1u);
}

BOOST_AUTO_TEST_CASE(a_repeated_guess_uses_one_attempt_and_a_repeated_success_answers_200) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("985");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string wrong = WrongCode(code);
  const std::string key = UniqueName("guess-key");
  for (int i = 0; i < 3; ++i) {
    auto r = PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, key);
    BOOST_TEST(r.status == 400);
    BOOST_TEST(r.json["code"].asString() == "otp_invalid");
    BOOST_TEST(r.json["attempts_left"].asInt() == 4);
  }
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 4);
  const std::string ok_key = UniqueName("ok-key");
  auto verified = PostWithKey("/api/v1/phone/verify-otp", Body(phone, code), user, ok_key);
  BOOST_REQUIRE_EQUAL(verified.status, 200);
  auto repeated = PostWithKey("/api/v1/phone/verify-otp", Body(phone, code), user, ok_key);
  BOOST_TEST(repeated.status == 200, "body: " << repeated.body);
  BOOST_TEST(repeated.json["phone_verified"].asBool());
  // Without the key, the same request is a new guess on a verified phone.
  auto fresh = client.PostJson("/api/v1/phone/verify-otp", Body(phone, code), user.token);
  BOOST_TEST(fresh.status == 403);
  BOOST_TEST(fresh.json["code"].asString() == "phone_already_verified");
}

BOOST_AUTO_TEST_CASE(simultaneous_twins_of_a_wrong_guess_use_one_attempt) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string wrong = WrongCode(code);
  const std::string key = UniqueName("twin-guess");
  constexpr int kTwins = 8;
  std::vector<HttpResponse> answers(kTwins);
  std::vector<std::thread> threads;
  for (int i = 0; i < kTwins; ++i) {
    threads.emplace_back([&, i] {
      answers[static_cast<size_t>(i)] =
          PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, key);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& answer : answers) {
    BOOST_TEST(answer.status == 400);
    BOOST_TEST(answer.json["attempts_left"].asInt() == 4);
  }
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 4);
}

BOOST_AUTO_TEST_CASE(a_wrong_guess_repeated_after_other_guesses_still_uses_one_attempt) {
  // The key is looked up among every guess recorded, not only the last one counted.
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("985");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string wrong = WrongCode(code);
  const std::string first_key = UniqueName("first-guess");
  auto first = PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, first_key);
  BOOST_TEST(first.status == 400);
  BOOST_TEST(first.json["attempts_left"].asInt() == 4);
  auto second =
      PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, UniqueName("second"));
  BOOST_TEST(second.status == 400);
  BOOST_TEST(second.json["attempts_left"].asInt() == 3);
  auto again = PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, first_key);
  BOOST_TEST(again.status == 400, "body: " << again.body);
  BOOST_TEST(again.json["code"].asString() == "otp_invalid");
  BOOST_TEST(again.json["attempts_left"].asInt() == 3);  // the attempts left now
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 3);
}

BOOST_AUTO_TEST_CASE(a_wrong_guess_repeated_after_a_resend_uses_no_attempt_of_the_new_code) {
  ScopedAppConfig config(Overrides{{"otp_resend_cooldown", "0"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string key = UniqueName("before-resend");
  auto first = PostWithKey("/api/v1/phone/verify-otp", Body(phone, WrongCode(code)), user, key);
  BOOST_TEST(first.status == 400);
  BOOST_TEST(first.json["attempts_left"].asInt() == 4);
  auto resend = client.PostJson("/api/v1/phone/send-otp", Body(phone), user.token);
  BOOST_REQUIRE_EQUAL(resend.status, 202);
  const std::string new_code = WaitForCode(phone, 2);
  BOOST_REQUIRE(!new_code.empty());
  // The retry finds its key: answered again, not counted against the new code.
  auto again = PostWithKey("/api/v1/phone/verify-otp", Body(phone, WrongCode(code)), user, key);
  BOOST_TEST(again.status == 400, "body: " << again.body);
  BOOST_TEST(again.json["code"].asString() == "otp_invalid");
  BOOST_TEST(again.json["attempts_left"].asInt() == 5);
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 5);
  auto verified = client.PostJson("/api/v1/phone/verify-otp", Body(phone, new_code), user.token);
  BOOST_TEST(verified.status == 200, "body: " << verified.body);
}

BOOST_AUTO_TEST_CASE(a_repeated_last_attempt_answers_400_again_and_a_new_guess_429) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string wrong = WrongCode(code);
  for (int i = 0; i < 4; ++i) {
    auto r = PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, UniqueName("g"));
    BOOST_TEST(r.status == 400);
  }
  const std::string last_key = UniqueName("last-attempt");
  for (int i = 0; i < 2; ++i) {
    auto last = PostWithKey("/api/v1/phone/verify-otp", Body(phone, wrong), user, last_key);
    BOOST_TEST(last.status == 400, "body: " << last.body);
    BOOST_TEST(last.json["code"].asString() == "otp_invalid");
    BOOST_TEST(last.json["attempts_left"].asInt() == 0);
  }
  auto locked = PostWithKey("/api/v1/phone/verify-otp", Body(phone, code), user, UniqueName("n"));
  BOOST_TEST(locked.status == 429, "body: " << locked.body);
  BOOST_TEST(locked.json["code"].asString() == "too_many_attempts");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
