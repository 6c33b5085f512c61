// The JSON API routes end to end through http::App, over the in-memory repositories:
// response shapes of contract section 4.
#include <json/reader.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>

#include "domain/account_service.h"
#include "domain/verification_service.h"
#include "fakes/counting_hasher.h"
#include "fakes/memory_repositories.h"
#include "fakes/test_policy.h"
#include "handlers/routes.h"
#include "http/app.h"
#include "util/config.h"
#include "util/crypto.h"
#include "util/logger.h"

namespace phoneverify::handlers {
namespace {

Json::Value ParseBody(const std::string& text) {
  Json::Value value;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  BOOST_REQUIRE_MESSAGE(reader->parse(text.data(), text.data() + text.size(), &value, &errors),
                        text);
  return value;
}

struct Fixture {
  util::FakeClock clock;
  util::SeededRandom random{99};
  fakes::MemoryStore store;
  fakes::MemoryAccountRepository accounts{store};
  fakes::MemoryLimitRepository limits{store};
  fakes::MemoryOtpRepository otps{store};
  fakes::FakeHealth health;
  domain::OtpPolicy policy = fakes::TestOtpPolicy();
  fakes::CountingPasswordHasher hasher;
  domain::AccountService account_service{accounts, limits, policy, clock, random, hasher};
  domain::VerificationService verification{otps, policy, clock, random};
  http::Router router{BuildRoutes({account_service, verification, health})};
  http::ClientRules proxies;
  util::Logger logger{"/dev/null", "test"};
  http::App app{router, proxies, clock, random, logger};

  http::Response Call(const std::string& method, const std::string& target,
                      const std::string& json = "", const std::string& token = "") {
    http::Request request;
    request.method = method;
    size_t q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    request.remote_addr = "198.51.100.20";
    if (!json.empty()) request.content_type = "application/json";
    request.body = json;
    if (!token.empty()) request.authorization = "Token " + token;
    return app.Handle(std::move(request));
  }

  std::string SignUpAndLogin(const std::string& name) {
    BOOST_REQUIRE(Call("POST", "/api/v1/accounts",
                       R"({"username":")" + name + R"(","password":"correct horse"})")
                      .status == 201);
    http::Response r = Call("POST", "/api/v1/auth/token",
                            R"({"username":")" + name + R"(","password":"correct horse"})");
    BOOST_REQUIRE(r.status == 200);
    return ParseBody(r.body)["token"].asString();
  }

  std::string LastCode() { return fakes::LastSmsCode(store, policy); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(handlers, Fixture)

BOOST_AUTO_TEST_CASE(signup_returns_the_account_object) {
  http::Response r = Call("POST", "/api/v1/accounts",
                          R"({"username":"ram","password":"correct horse","email":null,)"
                          R"("first_name":"Ram","phone":"9841234567"})");
  BOOST_TEST(r.status == 201);
  Json::Value a = ParseBody(r.body);
  BOOST_TEST(a.size() == 7u);
  BOOST_TEST(a["id"].isIntegral());
  BOOST_TEST(a["username"].asString() == "ram");
  BOOST_TEST(a["email"].asString() == "");
  BOOST_TEST(a["first_name"].asString() == "Ram");
  BOOST_TEST(a["last_name"].asString() == "");
  BOOST_TEST(a["phone"].isNull());
  BOOST_TEST(a["phone_verified"].asBool() == false);
}

BOOST_AUTO_TEST_CASE(signup_requires_username_and_password) {
  http::Response r = Call("POST", "/api/v1/accounts", R"({"username":"ram"})");
  BOOST_TEST(r.status == 400);
  Json::Value e = ParseBody(r.body);
  BOOST_TEST(e["code"].asString() == "missing_field");
  BOOST_TEST(e["field"].asString() == "password");
  r = Call("POST", "/api/v1/accounts", R"({"username":"","password":"correct horse"})");
  BOOST_TEST(ParseBody(r.body)["field"].asString() == "username");
  BOOST_TEST(Call("POST", "/api/v1/accounts").status == 400);  // empty body: no fields
}

BOOST_AUTO_TEST_CASE(token_me_and_logout) {
  std::string token = SignUpAndLogin("sita");
  BOOST_TEST(token.size() == 64u);
  http::Response me = Call("GET", "/api/v1/me", "", token);
  BOOST_TEST(me.status == 200);
  BOOST_TEST(ParseBody(me.body)["username"].asString() == "sita");

  http::Response bearer = [&] {
    http::Request request;
    request.method = "GET";
    request.path = "/api/v1/me";
    request.authorization = "bearer " + token;
    return app.Handle(request);
  }();
  BOOST_TEST(bearer.status == 200);

  http::Response out = Call("DELETE", "/api/v1/auth/token", "", token);
  BOOST_TEST(out.status == 204);
  BOOST_TEST(out.body.empty());
  BOOST_TEST(!out.FindHeader("Content-Type"));
  BOOST_TEST(Call("GET", "/api/v1/me", "", token).status == 401);
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_authorization_is_401) {
  BOOST_TEST(Call("GET", "/api/v1/me").status == 401);
  for (const char* header : {"Basic abc", "Token", "Token ", "Token a b", "tok"}) {
    http::Request request;
    request.method = "GET";
    request.path = "/api/v1/me";
    request.authorization = header;
    http::Response r = app.Handle(request);
    BOOST_TEST(r.status == 401);
    BOOST_TEST(ParseBody(r.body)["code"].asString() == "not_authenticated");
  }
}

BOOST_AUTO_TEST_CASE(wrong_password_is_invalid_credentials) {
  SignUpAndLogin("hari");
  http::Response r =
      Call("POST", "/api/v1/auth/token", R"({"username":"hari","password":"wrong pass"})");
  BOOST_TEST(r.status == 401);
  BOOST_TEST(ParseBody(r.body)["code"].asString() == "invalid_credentials");
}

BOOST_AUTO_TEST_CASE(send_status_verify_flow) {
  std::string token = SignUpAndLogin("gita");
  http::Response sent =
      Call("POST", "/api/v1/phone/send-otp", R"({"phone":"+977 984-1234567"})", token);
  BOOST_TEST(sent.status == 202);
  Json::Value s = ParseBody(sent.body);
  BOOST_TEST(s["status"].asInt() == 202);
  BOOST_TEST(!s["details"].asString().empty());
  BOOST_TEST(s["phone"].asString() == "9841234567");
  BOOST_TEST(s["operator"].asString() == "NTC");
  BOOST_TEST(s["expires_in"].asInt() == 300);
  BOOST_TEST(s["resend_in"].asInt() == 60);
  BOOST_TEST(s["sends_left"].isIntegral());

  http::Response status = Call("GET", "/api/v1/phone/otp?phone=9841234567", "", token);
  BOOST_TEST(status.status == 200);
  Json::Value st = ParseBody(status.body);
  BOOST_TEST(st.size() == 8u);
  BOOST_TEST(st["state"].asString() == "pending");
  BOOST_TEST(st["delivery"].asString() == "queued");
  BOOST_TEST(st["delivery_error"].isNull());
  BOOST_TEST(st["attempts_left"].asInt() == 5);

  http::Response verified = Call("POST", "/api/v1/phone/verify-otp",
                                 R"({"phone":"9841234567","otp":")" + LastCode() + "\"}", token);
  BOOST_TEST(verified.status == 200);
  Json::Value v = ParseBody(verified.body);
  BOOST_TEST(v["status"].asInt() == 200);
  BOOST_TEST(v["phone"].asString() == "9841234567");
  BOOST_TEST(v["phone_verified"].asBool() == true);

  Json::Value me = ParseBody(Call("GET", "/api/v1/me", "", token).body);
  BOOST_TEST(me["phone"].asString() == "9841234567");
  BOOST_TEST(me["phone_verified"].asBool() == true);
}

BOOST_AUTO_TEST_CASE(sends_left_is_null_when_limits_are_off) {
  policy.otp_max_sends_per_day = 0;
  policy.account_max_sends_per_day = 0;
  std::string token = SignUpAndLogin("nolimit");
  http::Response sent = Call("POST", "/api/v1/phone/send-otp", R"({"phone":"9851234567"})", token);
  BOOST_TEST(sent.status == 202);
  BOOST_TEST(ParseBody(sent.body)["sends_left"].isNull());
}

BOOST_AUTO_TEST_CASE(otp_routes_validate_input) {
  std::string token = SignUpAndLogin("mohan");
  http::Response r = Call("POST", "/api/v1/phone/send-otp", "{}", token);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(ParseBody(r.body)["field"].asString() == "phone");
  r = Call("POST", "/api/v1/phone/verify-otp", R"({"phone":"9841234567"})", token);
  BOOST_TEST(ParseBody(r.body)["field"].asString() == "otp");
  r = Call("GET", "/api/v1/phone/otp", "", token);
  BOOST_TEST(r.status == 400);
  r = Call("GET", "/api/v1/phone/otp?phone=9841234567", "", token);
  BOOST_TEST(r.status == 404);
  BOOST_TEST(ParseBody(r.body)["code"].asString() == "otp_not_requested");
  r = Call("POST", "/api/v1/phone/send-otp", R"({"phone":"9611234567"})", token);
  BOOST_TEST(r.status == 400);
  BOOST_TEST(ParseBody(r.body)["code"].asString() == "invalid_phone");
  BOOST_TEST(Call("POST", "/api/v1/phone/send-otp", R"({"phone":"9841234567"})").status == 401);
}

BOOST_AUTO_TEST_CASE(resend_too_soon_has_retry_after) {
  std::string token = SignUpAndLogin("krishna");
  BOOST_TEST(Call("POST", "/api/v1/phone/send-otp", R"({"phone":"9841234567"})", token).status ==
             202);
  http::Response r = Call("POST", "/api/v1/phone/send-otp", R"({"phone":"9841234567"})", token);
  BOOST_TEST(r.status == 429);
  BOOST_REQUIRE(r.FindHeader("Retry-After"));
  BOOST_TEST(ParseBody(r.body)["retry_after"].asInt() == std::stoi(*r.FindHeader("Retry-After")));
}

BOOST_AUTO_TEST_CASE(form_bodies_work_too) {
  http::Request request;
  request.method = "POST";
  request.path = "/api/v1/accounts";
  request.content_type = "application/x-www-form-urlencoded";
  request.body = "username=shyam&password=correct+horse";
  BOOST_TEST(app.Handle(request).status == 201);
}

BOOST_AUTO_TEST_CASE(healthz) {
  http::Response ok = Call("GET", "/healthz");
  BOOST_TEST(ok.status == 200);
  BOOST_TEST(ParseBody(ok.body)["status"].asString() == "ok");
  BOOST_TEST(ParseBody(ok.body)["db_node"].asString() == "local");
  health.up = false;
  http::Response down = Call("GET", "/healthz");
  BOOST_TEST(down.status == 503);
  BOOST_TEST(ParseBody(down.body)["code"].asString() == "unavailable");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::handlers
