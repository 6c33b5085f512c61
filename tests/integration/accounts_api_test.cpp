// Contract section 4: accounts, tokens, /me, /healthz.
#include <boost/test/unit_test.hpp>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

Json::Value SignUpBody(const std::string& username, const std::string& password) {
  Json::Value body;
  body["username"] = username;
  body["password"] = password;
  return body;
}

void ExpectError(const HttpResponse& r, long status, const std::string& code,
                 const std::string& field = "") {
  BOOST_TEST(r.status == status);
  BOOST_TEST(r.HasErrorShape(), "body: " << r.body);
  BOOST_TEST(r.json["code"].asString() == code, "body: " << r.body);
  if (!field.empty()) BOOST_TEST(r.json["field"].asString() == field);
}

BOOST_AUTO_TEST_SUITE(accounts_api)

BOOST_AUTO_TEST_CASE(healthz_answers_ok_when_the_database_does) {
  auto r = Stack::Get().Client().Get("/healthz");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.json["status"].asString() == "ok");
  BOOST_TEST(r.Header("content-type") == "application/json; charset=utf-8");
}

BOOST_AUTO_TEST_CASE(sign_up_returns_the_account_object) {
  auto client = Stack::Get().Client();
  Json::Value body = SignUpBody(UniqueName("Signup"), "long enough pw");
  body["email"] = "someone@example.com";
  body["first_name"] = "राम";
  body["phone"] = "+977-980-" + UniquePhone("980").substr(3);
  auto r = client.PostJson("/api/v1/accounts", body);
  BOOST_REQUIRE_EQUAL(r.status, 201);
  BOOST_TEST(r.json["id"].isIntegral());
  BOOST_TEST(r.json["username"].asString() == body["username"].asString());
  BOOST_TEST(r.json["email"].asString() == "someone@example.com");
  BOOST_TEST(r.json["first_name"].asString() == "राम");
  BOOST_TEST(r.json["last_name"].asString() == "");
  BOOST_TEST(r.json["phone"].isNull());
  BOOST_TEST(r.json["phone_verified"].asBool() == false);
  BOOST_TEST(!r.json.isMember("password"));
}

BOOST_AUTO_TEST_CASE(sign_up_accepts_form_encoding) {
  auto client = Stack::Get().Client();
  const std::string name = UniqueName("form");
  auto r = client.PostRaw("/api/v1/accounts", "username=" + name + "&password=abc%20def%21gh",
                          "application/x-www-form-urlencoded");
  BOOST_REQUIRE_EQUAL(r.status, 201);
  auto login = client.PostRaw("/api/v1/auth/token",
                              "username=" + name + "&password=abc+def%21gh",
                              "application/x-www-form-urlencoded");
  BOOST_TEST(login.status == 200);
}

BOOST_AUTO_TEST_CASE(usernames_are_unique_case_insensitively) {
  auto client = Stack::Get().Client();
  const std::string name = UniqueName("Dup");
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/accounts", SignUpBody(name, "pw123456x")).status,
                      201);
  std::string upper = name;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectError(client.PostJson("/api/v1/accounts", SignUpBody(upper, "pw123456x")), 409,
              "username_taken", "username");
}

BOOST_AUTO_TEST_CASE(sign_up_validation_errors) {
  auto client = Stack::Get().Client();
  ExpectError(client.PostJson("/api/v1/accounts", SignUpBody("bad name", "pw123456x")), 400,
              "invalid_username", "username");
  ExpectError(client.PostJson("/api/v1/accounts", SignUpBody("x'; DROP TABLE accounts;--",
                                                             "pw123456x")),
              400, "invalid_username", "username");
  ExpectError(client.PostJson("/api/v1/accounts", SignUpBody(UniqueName("w"), "short")), 400,
              "weak_password", "password");
  ExpectError(client.PostJson("/api/v1/accounts", SignUpBody(UniqueName("w"), "123456789")),
              400, "weak_password", "password");
  // Too long is not weak: its own answer (Argon2 never sees it).
  ExpectError(client.PostJson("/api/v1/accounts",
                              SignUpBody(UniqueName("w"), std::string(15000, 'p'))),
              400, "invalid_field", "password");
  Json::Value email = SignUpBody(UniqueName("e"), "pw123456x");
  email["email"] = "nope";
  ExpectError(client.PostJson("/api/v1/accounts", email), 400, "invalid_email", "email");
  Json::Value phone = SignUpBody(UniqueName("p"), "pw123456x");
  phone["phone"] = "9611234567";
  ExpectError(client.PostJson("/api/v1/accounts", phone), 400, "invalid_phone", "phone");
  phone["phone"] = "٩٨٤١٢٣٤٥٦٧";  // Arabic-Indic digits: refused like any non-digit
  ExpectError(client.PostJson("/api/v1/accounts", phone), 400, "invalid_phone", "phone");
  phone["phone"] = "९८४१२३४५६७";  // Devanagari digits: a Nepali keyboard's number
  BOOST_TEST(client.PostJson("/api/v1/accounts", phone).status == 201);
  Json::Value missing;
  missing["username"] = UniqueName("m");
  ExpectError(client.PostJson("/api/v1/accounts", missing), 400, "missing_field", "password");
}

BOOST_AUTO_TEST_CASE(token_login_me_and_logout) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  auto me = client.Get("/api/v1/me", user.token);
  BOOST_REQUIRE_EQUAL(me.status, 200);
  BOOST_TEST(me.json["username"].asString() == user.username);
  BOOST_TEST(me.json["id"].asInt64() == user.id);
  HttpRequest bearer{"GET", "/api/v1/me", "", {"Authorization: Bearer " + user.token}};
  BOOST_TEST(client.Send(bearer).status == 200);
  BOOST_TEST(client.Delete("/api/v1/auth/token", user.token).status == 204);
  ExpectError(client.Get("/api/v1/me", user.token), 401, "not_authenticated");
  ExpectError(client.Delete("/api/v1/auth/token", user.token), 401, "not_authenticated");
  ExpectError(client.Get("/api/v1/me"), 401, "not_authenticated");
  ExpectError(client.Get("/api/v1/me", std::string(64, 'a')), 401, "not_authenticated");
}

BOOST_AUTO_TEST_CASE(bad_credentials_get_one_answer) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  auto wrong = client.PostJson("/api/v1/auth/token", SignUpBody(user.username, "wrong pw 1"));
  auto unknown = client.PostJson("/api/v1/auth/token", SignUpBody(UniqueName("nobody"), "x1234567"));
  ExpectError(wrong, 401, "invalid_credentials");
  ExpectError(unknown, 401, "invalid_credentials");
  BOOST_TEST(wrong.json["details"] == unknown.json["details"]);
}

BOOST_AUTO_TEST_CASE(login_failures_are_throttled_per_username) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  for (int i = 0; i < 10; ++i) {
    BOOST_TEST(client.PostJson("/api/v1/auth/token", SignUpBody(user.username, "bad pw 123"))
                   .status == 401);
  }
  auto blocked = client.PostJson("/api/v1/auth/token", SignUpBody(user.username, user.password));
  ExpectError(blocked, 429, "too_many_requests");
  BOOST_TEST(blocked.json["retry_after"].asInt() > 0);
  BOOST_TEST(std::stoi(blocked.Header("retry-after")) == blocked.json["retry_after"].asInt());
}

BOOST_AUTO_TEST_CASE(signups_per_ip_are_limited) {
  ScopedAppConfig config(Overrides{{"ip_max_signups_per_hour", "2"}});
  auto client = Stack::Get().Client();
  BOOST_TEST(client.PostJson("/api/v1/accounts", SignUpBody(UniqueName("ip"), "pw123456x")).status == 201);
  BOOST_TEST(client.PostJson("/api/v1/accounts", SignUpBody(UniqueName("ip"), "pw123456x")).status == 201);
  auto third = client.PostJson("/api/v1/accounts", SignUpBody(UniqueName("ip"), "pw123456x"));
  ExpectError(third, 429, "too_many_requests");
  BOOST_TEST(!third.Header("retry-after").empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
