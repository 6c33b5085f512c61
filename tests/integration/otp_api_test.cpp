// Contract section 4: send-otp, verify-otp, GET /api/v1/phone/otp, and their rules, on the
// real stack with the SMS delivered by the dispatcher to the fake Sparrow gateway.
#include <cctype>
#include <boost/test/unit_test.hpp>
#include <future>
#include <thread>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

Json::Value Phone(const std::string& phone) {
  Json::Value body;
  body["phone"] = phone;
  return body;
}

Json::Value Guess(const std::string& phone, const std::string& otp) {
  Json::Value body = Phone(phone);
  body["otp"] = otp;
  return body;
}

std::string Wrong(const std::string& code) {
  std::string w = code;
  w[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
  return w;
}

void ExpectError(const HttpResponse& r, long status, const std::string& code) {
  BOOST_TEST(r.status == status, "body: " << r.body);
  BOOST_TEST(r.HasErrorShape(), "body: " << r.body);
  BOOST_TEST(r.json["code"].asString() == code, "body: " << r.body);
  if (status == 429 || (status == 503 && r.json.isMember("retry_after"))) {
    BOOST_TEST(r.json["retry_after"].asInt() >= 1);
    BOOST_TEST(r.Header("retry-after") == std::to_string(r.json["retry_after"].asInt()));
  }
}

BOOST_AUTO_TEST_SUITE(otp_api)

BOOST_AUTO_TEST_CASE(send_answers_202_and_the_sms_reaches_sparrow) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("981");
  auto r = client.PostJson("/api/v1/phone/send-otp", Phone("+977 " + phone), user.token);
  BOOST_REQUIRE_EQUAL(r.status, 202);
  BOOST_TEST(r.json["status"].asInt() == 202);
  BOOST_TEST(!r.json["details"].asString().empty());
  BOOST_TEST(r.json["phone"].asString() == phone);
  BOOST_TEST(r.json["operator"].asString() == "Ncell");
  BOOST_TEST(r.json["expires_in"].asInt() == 300);
  BOOST_TEST(r.json["resend_in"].asInt() == 2);
  BOOST_TEST(r.json["sends_left"].asInt() == 4);
  const std::string code = WaitForCode(phone, 1);
  BOOST_REQUIRE_EQUAL(code.size(), 6u);
  auto sms = Stack::Get().Sparrow().Requests();
  auto it = std::find_if(sms.begin(), sms.end(), [&](auto& s) { return s.to == phone; });
  BOOST_REQUIRE(it != sms.end());
  BOOST_TEST(it->token == "itest-sparrow-token-5c1f");
  BOOST_TEST(it->from == "PhoneVerify");
  BOOST_TEST(it->text.find("5 minutes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(full_flow_verifies_the_phone) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string code = SendAndReceive(client, user, phone);
  auto ok = client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code), user.token);
  BOOST_REQUIRE_EQUAL(ok.status, 200);
  BOOST_TEST(ok.json["status"].asInt() == 200);
  BOOST_TEST(ok.json["phone"].asString() == phone);
  BOOST_TEST(ok.json["phone_verified"].asBool());
  auto me = client.Get("/api/v1/me", user.token);
  BOOST_TEST(me.json["phone"].asString() == phone);
  BOOST_TEST(me.json["phone_verified"].asBool());
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["state"].asString() == "verified");
  // Single use, and the phone is now this account's.
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code), user.token), 403,
              "phone_already_verified");
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token), 403,
              "phone_already_verified");
  TestUser other = NewUser(client);
  // Without a code of its own, another account learns nothing from verify-otp.
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code), other.token), 400,
              "otp_not_requested");
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(phone), other.token), 409,
              "phone_taken");
}

// %XX for every byte that is not an ASCII letter or digit (query strings, form bodies).
std::string PercentEncoded(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) && c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

// Contract section 3: a Nepali keyboard types ०–९; every answer and the SMS stay ASCII.
BOOST_AUTO_TEST_CASE(devanagari_phone_and_code_through_json_form_and_query) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  auto sent = client.PostJson("/api/v1/phone/send-otp", Phone("+९७७ " + InDevanagari(phone)),
                              user.token);
  BOOST_REQUIRE_EQUAL(sent.status, 202);
  BOOST_TEST(sent.json["phone"].asString() == phone);
  BOOST_TEST(sent.json["operator"].asString() == "NTC");
  const std::string code = WaitForCode(phone, 1);
  BOOST_REQUIRE_EQUAL(code.size(), 6u);  // WaitForCode reads ASCII digits only
  // A wrong code in Devanagari counts as a wrong guess (not as malformed).
  auto wrong = client.PostJson("/api/v1/phone/verify-otp",
                               Guess(InDevanagari(phone), InDevanagari(Wrong(code))), user.token);
  ExpectError(wrong, 400, "otp_invalid");
  BOOST_TEST(wrong.json["attempts_left"].asInt() == 4);
  auto status = client.Get("/api/v1/phone/otp?phone=" + PercentEncoded(InDevanagari(phone)),
                           user.token);
  BOOST_REQUIRE_EQUAL(status.status, 200);
  BOOST_TEST(status.json["phone"].asString() == phone);
  BOOST_TEST(status.json["attempts_left"].asInt() == 4);
  // The right code, mixed scripts, in a form body.
  const std::string mixed = InDevanagari(code.substr(0, 3)) + code.substr(3);
  auto ok = client.PostRaw("/api/v1/phone/verify-otp",
                           "phone=" + PercentEncoded(InDevanagari(phone)) + "&otp=" +
                               PercentEncoded(mixed),
                           "application/x-www-form-urlencoded", user.token);
  BOOST_REQUIRE_EQUAL(ok.status, 200);
  BOOST_TEST(ok.json["phone"].asString() == phone);
  BOOST_TEST(client.Get("/api/v1/me", user.token).json["phone"].asString() == phone);
}

BOOST_AUTO_TEST_CASE(other_scripts_digits_keep_todays_errors) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  // Arabic-Indic and full-width digits: refused as before.
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone("٩٨٤١٢٣٤٥٦٧"), user.token), 400,
              "invalid_phone");
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone("９８４１２３４５６７"), user.token),
              400, "invalid_phone");
  const std::string code = SendAndReceive(client, user, phone);
  for (const char* bad : {"٤٧٨٨٠٦", "４７８８０６", "४७८८०"}) {
    ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, bad), user.token), 400,
                "invalid_field");
  }
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 5);  // none of them used an attempt
}

BOOST_AUTO_TEST_CASE(verify_on_a_phone_taken_meanwhile_is_409) {
  auto client = Stack::Get().Client();
  TestUser a = NewUser(client);
  TestUser b = NewUser(client);
  const std::string phone = UniquePhone("985");
  const std::string code_a = SendAndReceive(client, a, phone);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // resend cooldown is 2 s
  const std::string code_b = SendAndReceive(client, b, phone);
  BOOST_REQUIRE_EQUAL(
      client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code_b), b.token).status, 200);
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code_a), a.token), 409,
              "phone_taken");
}

BOOST_AUTO_TEST_CASE(send_input_errors) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone("9611234567"), user.token), 400,
              "invalid_phone");
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Json::Value(Json::objectValue),
                              user.token),
              400, "missing_field");
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone())), 401,
              "not_authenticated");
}

BOOST_AUTO_TEST_CASE(resend_too_soon_carries_retry_after) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status, 202);
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token), 429,
              "resend_too_soon");
}

BOOST_AUTO_TEST_CASE(a_resend_replaces_the_earlier_code) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("974");
  const std::string first = SendAndReceive(client, user, phone);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  const std::string second = SendAndReceive(client, user, phone);
  if (first != second) {
    ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, first), user.token),
                400, "otp_invalid");
  }
  BOOST_TEST(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, second), user.token)
                 .status == 200);
}

BOOST_AUTO_TEST_CASE(wrong_guesses_count_down_then_lock) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("975");
  const std::string code = SendAndReceive(client, user, phone);
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, "12345"), user.token),
              400, "invalid_field");
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, "abcdef"), user.token),
              400, "invalid_field");
  for (int left = 4; left >= 0; --left) {
    auto r = client.PostJson("/api/v1/phone/verify-otp", Guess(phone, Wrong(code)), user.token);
    ExpectError(r, 400, "otp_invalid");
    BOOST_TEST(r.json["attempts_left"].asInt() == left);
  }
  auto locked = client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code), user.token);
  ExpectError(locked, 429, "too_many_attempts");
  BOOST_TEST(!locked.Header("retry-after").empty());
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["state"].asString() == "locked");
  BOOST_TEST(status.json["attempts_left"].asInt() == 0);
}

BOOST_AUTO_TEST_CASE(verify_errors_before_any_code) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("976");
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, "123456"), user.token),
              400, "otp_not_requested");
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess("12", "123456"), user.token),
              400, "invalid_phone");
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Phone(phone), user.token), 400,
              "missing_field");
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, "123456")), 401,
              "not_authenticated");
  ExpectError(client.Get("/api/v1/phone/otp?phone=" + phone, user.token), 404,
              "otp_not_requested");
  ExpectError(client.Get("/api/v1/phone/otp?phone=123", user.token), 400, "invalid_phone");
  ExpectError(client.Get("/api/v1/phone/otp?phone=" + phone), 401, "not_authenticated");
}

// verify-otp checks the token in the statement that reads the code; a bad token still
// answers 401 before anything about the body, and spends nothing.
BOOST_AUTO_TEST_CASE(verify_with_a_bad_token_is_401_whatever_the_body) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("974");
  const std::string code = SendAndReceive(client, user, phone);
  const std::string stranger(64, 'f');
  const char* path = "/api/v1/phone/verify-otp";
  auto r = client.PostJson(path, Guess(phone, Wrong(code)), stranger);
  ExpectError(r, 401, "not_authenticated");
  BOOST_TEST(r.Header("www-authenticate") == "Token");
  ExpectError(client.PostJson(path, Guess("12", "123456"), stranger), 401, "not_authenticated");
  ExpectError(client.PostJson(path, Phone(phone), stranger), 401, "not_authenticated");
  ExpectError(client.PostRaw(path, "{\"phone\":", "application/json", stranger), 401,
              "not_authenticated");
  ExpectError(client.PostJson(path, Guess(phone, code), "short"), 401, "not_authenticated");

  // A token revoked by logout: refused, and the code keeps all its attempts.
  Json::Value credentials;
  credentials["username"] = user.username;
  credentials["password"] = user.password;
  TestUser again = user;
  again.token = client.PostJson("/api/v1/auth/token", credentials).json["token"].asString();
  BOOST_REQUIRE(!again.token.empty());
  BOOST_REQUIRE(client.Delete("/api/v1/auth/token", user.token).status == 204);
  ExpectError(client.PostJson(path, Guess(phone, Wrong(code)), user.token), 401,
              "not_authenticated");
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, again.token);
  BOOST_TEST(status.json["attempts_left"].asInt() == 5);
  // The same body with a live token is judged on its merits.
  ExpectError(client.PostJson(path, Guess(phone, "12"), again.token), 400, "invalid_field");
  BOOST_TEST(client.PostJson(path, Guess(phone, code), again.token).status == 200);
}

BOOST_AUTO_TEST_CASE(status_reports_pending_and_sent) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("980");
  SendAndReceive(client, user, phone);
  HttpResponse status;
  for (int i = 0; i < 100; ++i) {  // the dispatcher records delivery just after sending
    status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
    if (status.json["delivery"].asString() == "sent") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_REQUIRE_EQUAL(status.status, 200);
  BOOST_TEST(status.json["phone"].asString() == phone);
  BOOST_TEST(status.json["state"].asString() == "pending");
  BOOST_TEST(status.json["delivery"].asString() == "sent");
  BOOST_TEST(status.json["delivery_error"].isNull());
  BOOST_TEST(status.json["expires_in"].asInt() > 250);
  BOOST_TEST(status.json["resend_in"].asInt() <= 2);
  BOOST_TEST(status.json["attempts_left"].asInt() == 5);
  BOOST_TEST(status.json["sends_left"].asInt() == 4);
}

BOOST_AUTO_TEST_CASE(permanent_gateway_error_is_reported_as_failed) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("982");
  Stack::Get().Sparrow().FailNext(1, fakes::FakeSparrow::Error403(1007));
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status, 202);
  HttpResponse status;
  for (int i = 0; i < 100; ++i) {
    status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
    if (status.json["delivery"].asString() == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  BOOST_TEST(status.json["delivery"].asString() == "failed");
  BOOST_TEST(status.json["delivery_error"].asString() ==
             "The SMS could not be delivered. Check the number, or ask for a new code later.");
  BOOST_TEST(status.json["delivery_error"].asString().find("1007") == std::string::npos);
  BOOST_TEST(SmsCountFor(phone) == 1u);  // permanent: not retried
}

BOOST_AUTO_TEST_CASE(transient_gateway_errors_are_retried_until_sent) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  Stack::Get().Sparrow().FailNext(1, fakes::FakeSparrow::Http500());
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status, 202);
  BOOST_TEST(!WaitForCode(phone, 2).empty());  // first try refused, second one delivered
}

BOOST_AUTO_TEST_CASE(twelve_simultaneous_sends_give_one_202_and_one_sms) {
  // The burst must fall inside one cooldown wherever the requests queue: Apache's
  // mod_fcgid holds requests for a second at a time while it spawns processes.
  ScopedAppConfig config(Overrides{{"otp_resend_cooldown", "60"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("985");
  std::vector<std::future<long>> results;
  for (int i = 0; i < 12; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      return client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status;
    }));
  }
  int accepted = 0, refused = 0;
  for (auto& f : results) {
    long s = f.get();
    accepted += s == 202;
    refused += s == 429;
  }
  BOOST_TEST(accepted == 1);
  BOOST_TEST(refused == 11);
  BOOST_TEST(!WaitForCode(phone, 1).empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(SmsCountFor(phone) == 1u);
}

BOOST_AUTO_TEST_CASE(twenty_simultaneous_wrong_guesses_buy_at_most_five_tries) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  const std::string code = SendAndReceive(client, user, phone);
  std::vector<std::future<long>> results;
  for (int i = 0; i < 20; ++i) {
    results.push_back(std::async(std::launch::async, [&] {
      return client.PostJson("/api/v1/phone/verify-otp", Guess(phone, Wrong(code)), user.token)
          .status;
    }));
  }
  int invalid = 0, locked = 0;
  for (auto& f : results) {
    long s = f.get();
    invalid += s == 400;
    locked += s == 429;
  }
  BOOST_TEST(invalid == 5);
  BOOST_TEST(locked == 15);
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code), user.token), 429,
              "too_many_attempts");
}

BOOST_AUTO_TEST_CASE(codes_expire) {
  ScopedAppConfig config(Overrides{{"otp_ttl", "3"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("974");
  const std::string code = SendAndReceive(client, user, phone);
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  ExpectError(client.PostJson("/api/v1/phone/verify-otp", Guess(phone, code), user.token), 410,
              "otp_expired");
  auto status = client.Get("/api/v1/phone/otp?phone=" + phone, user.token);
  BOOST_TEST(status.json["state"].asString() == "expired");
  BOOST_TEST(status.json["expires_in"].asInt() == 0);
}

BOOST_AUTO_TEST_CASE(per_phone_and_per_account_caps) {
  ScopedAppConfig config(Overrides{{"otp_resend_cooldown", "0"},
                                   {"otp_max_sends_per_day", "2"},
                                   {"account_max_sends_per_day", "3"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("975");
  auto first = client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token);
  BOOST_TEST(first.json["sends_left"].asInt() == 1);
  BOOST_TEST(first.json["resend_in"].asInt() == 0);
  BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token).status == 202);
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token), 429,
              "send_limit_reached");
  BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token).status == 202);
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token), 429,
              "send_limit_reached");
}

BOOST_AUTO_TEST_CASE(per_ip_cap_and_daily_budget) {
  {
    ScopedAppConfig config(Overrides{{"ip_max_sends_per_hour", "1"}});
    auto client = Stack::Get().Client();
    TestUser user = NewUser(client);
    BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token).status == 202);
    ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token), 429,
                "send_limit_reached");
  }
  ScopedAppConfig config(Overrides{{"sms_daily_budget", "1"}});
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  BOOST_TEST(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token).status == 202);
  ExpectError(client.PostJson("/api/v1/phone/send-otp", Phone(UniquePhone()), user.token), 503,
              "sms_budget_exhausted");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
