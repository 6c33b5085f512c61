// Bad input gets a 4xx in the contract's error shape, never a 5xx, and writes nothing.
#include <boost/test/unit_test.hpp>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

void Expect4xx(const HttpResponse& r, long status, const std::string& code) {
  BOOST_TEST(r.status == status, "body: " << r.body);
  BOOST_TEST(r.HasErrorShape(), "body: " << r.body);
  BOOST_TEST(r.json["code"].asString() == code, "body: " << r.body);
}

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(malformed_json) {
  auto client = Stack::Get().Client();
  for (const char* body : {"{", "{\"username\": }", "[1,2]", "\"str\"", "{\"a\":1}}",
                           "{\"username\":\"a\",\"username\":\"b\"}"}) {
    Expect4xx(client.PostRaw("/api/v1/accounts", body, "application/json"), 400,
              "invalid_json");
  }
}

BOOST_AUTO_TEST_CASE(deep_nesting) {
  auto client = Stack::Get().Client();
  std::string deep = "{\"username\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
  auto r = client.PostRaw("/api/v1/accounts", deep, "application/json");
  BOOST_TEST(r.status == 400);
  BOOST_TEST(r.HasErrorShape());
}

BOOST_AUTO_TEST_CASE(non_string_values_are_invalid_fields) {
  auto client = Stack::Get().Client();
  auto r = client.PostRaw("/api/v1/accounts", "{\"username\":123,\"password\":\"abcdefgh1\"}",
                          "application/json");
  Expect4xx(r, 400, "invalid_field");
  BOOST_TEST(r.json["field"].asString() == "username");
}

BOOST_AUTO_TEST_CASE(wrong_content_type) {
  auto client = Stack::Get().Client();
  Expect4xx(client.PostRaw("/api/v1/accounts", "<xml/>", "text/xml"), 415,
            "unsupported_media_type");
  Expect4xx(client.PostRaw("/api/v1/accounts", "username=a", ""), 415,
            "unsupported_media_type");
}

BOOST_AUTO_TEST_CASE(oversize_body) {
  auto client = Stack::Get().Client();
  std::string big = "{\"username\":\"" + std::string(20 * 1024, 'a') + "\"}";
  Expect4xx(client.PostRaw("/api/v1/accounts", big, "application/json"), 413,
            "body_too_large");
}

BOOST_AUTO_TEST_CASE(invalid_utf8) {
  auto client = Stack::Get().Client();
  for (const std::string& bad : {std::string("\xff\xfe"), std::string("\xc0\xaf"),
                                std::string("a\xed\xa0\x80z")}) {
    auto r = client.PostRaw("/api/v1/accounts",
                            "{\"username\":\"u" + bad + "\",\"password\":\"abcdefgh1\"}",
                            "application/json");
    BOOST_TEST(r.status == 400, "body: " << r.body);
    BOOST_TEST(r.HasErrorShape());
    auto f = client.PostRaw("/api/v1/accounts", "username=u%FF&password=abcdefgh1",
                            "application/x-www-form-urlencoded");
    BOOST_TEST(f.status == 400, "body: " << f.body);
    BOOST_TEST(f.HasErrorShape());
  }
}

BOOST_AUTO_TEST_CASE(sql_metacharacters_are_just_data) {
  auto client = Stack::Get().Client();
  Json::Value body;
  body["username"] = UniqueName("o'brien\"--");
  body["password"] = "'; DROP TABLE accounts; --";
  auto r = client.PostJson("/api/v1/accounts", body);
  Expect4xx(r, 400, "invalid_username");
  body["username"] = UniqueName("sqlpw");
  body["first_name"] = "Robert'); DROP TABLE accounts;--";
  auto ok = client.PostJson("/api/v1/accounts", body);
  BOOST_REQUIRE_EQUAL(ok.status, 201);
  BOOST_TEST(ok.json["first_name"].asString() == "Robert'); DROP TABLE accounts;--");
  auto login = client.PostJson("/api/v1/auth/token", body);
  BOOST_TEST(login.status == 200);
  auto status = client.Get("/api/v1/phone/otp?phone=9841234567%27%20OR%201%3D1",
                           login.json["token"].asString());
  Expect4xx(status, 400, "invalid_phone");
}

BOOST_AUTO_TEST_CASE(unknown_routes_and_methods) {
  auto client = Stack::Get().Client();
  Expect4xx(client.Get("/api/v1/nope"), 404, "not_found");
  Expect4xx(client.Get("/"), 404, "not_found");
  auto r = client.Get("/api/v1/accounts");
  Expect4xx(r, 405, "method_not_allowed");
  BOOST_TEST(r.Header("allow").find("POST") != std::string::npos);
  auto put = client.Send(HttpRequest{"PUT", "/api/v1/phone/send-otp", "", {}});
  Expect4xx(put, 405, "method_not_allowed");
}

BOOST_AUTO_TEST_CASE(empty_body_is_an_empty_set_of_fields) {
  auto client = Stack::Get().Client();
  auto r = client.PostRaw("/api/v1/accounts", "", "text/plain");
  Expect4xx(r, 400, "missing_field");
}

BOOST_AUTO_TEST_CASE(truncated_body_is_a_4xx) {
  const std::string request =
      "POST /api/v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\nConnection: close\r\n\r\n{\"username\":";
  std::string reply = RawExchange(Stack::Get().port(), request, 15000);
  BOOST_TEST(reply.find(" 5") != 8, "reply: " << reply.substr(0, 200));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
