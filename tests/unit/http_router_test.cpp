// The route table (404/405 + Allow) and the App pipeline around it.
#include <json/reader.h>

#include <boost/test/unit_test.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "http/app.h"
#include "http/router.h"
#include "util/clock.h"
#include "util/logger.h"
#include "util/random.h"

namespace phoneverify::http {
namespace {

Handler Answer(int status) {
  return [status](const Request&) -> util::Result<Response> {
    Json::Value body(Json::objectValue);
    body["ok"] = status;
    return JsonResponse(status, body);
  };
}

Router TestRouter() {
  return Router({
      {"POST", "/api/v1/auth/token", Answer(200)},
      {"DELETE", "/api/v1/auth/token", Answer(204)},
      {"GET", "/api/v1/me", Answer(200)},
      {"GET", "/boom",
       [](const Request&) -> util::Result<Response> {
         throw std::runtime_error("secret internals");
       }},
      {"GET", "/boom-int", [](const Request&) -> util::Result<Response> { throw 42; }},
      {"GET", "/internal",
       [](const Request&) -> util::Result<Response> {
         return util::Error::Internal("mysql said: table x is full");
       }},
      {"GET", "/ip",
       [](const Request& r) -> util::Result<Response> {
         Json::Value body(Json::objectValue);
         body["ip"] = r.client_ip;
         body["id"] = r.request_id;
         body["idempotency_key"] = r.idempotency_key;
         body["key_malformed"] = r.idempotency_key_malformed;
         return JsonResponse(200, body);
       }},
  });
}

Json::Value ParseBody(const std::string& text) {
  Json::Value value;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  BOOST_REQUIRE(reader->parse(text.data(), text.data() + text.size(), &value, &errors));
  return value;
}

struct AppFixture {
  Router router = TestRouter();
  ClientRules proxies{TrustedProxies::Parse({"127.0.0.1"}).value()};
  util::FakeClock clock;
  util::SeededRandom random{7};
  util::Logger logger{"/dev/null", "test"};
  App app{router, proxies, clock, random, logger};

  Response Call(std::string method, std::string path) {
    Request request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.remote_addr = "203.0.113.9";
    return app.Handle(std::move(request));
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(http_router)

BOOST_AUTO_TEST_CASE(finds_exact_routes) {
  Router router = TestRouter();
  auto found = router.Find("DELETE", "/api/v1/auth/token");
  BOOST_REQUIRE(found.ok());
  BOOST_TEST(found.value()->method == "DELETE");
  BOOST_TEST(router.Find("HEAD", "/api/v1/me").ok());
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404) {
  Router router = TestRouter();
  for (const char* path : {"/api/v1/me/", "/api/v1/mee", "/", "", "/API/V1/ME"}) {
    auto found = router.Find("GET", path);
    BOOST_REQUIRE(!found.ok());
    BOOST_TEST(found.error().code == "not_found");
  }
}

BOOST_AUTO_TEST_CASE(wrong_method_is_405_with_allow) {
  Router router = TestRouter();
  auto found = router.Find("GET", "/api/v1/auth/token");
  BOOST_REQUIRE(!found.ok());
  BOOST_TEST(found.error().code == "method_not_allowed");
  BOOST_TEST(router.AllowHeader("/api/v1/auth/token") == "POST, DELETE");
  BOOST_TEST(router.AllowHeader("/api/v1/me") == "GET, HEAD");
  BOOST_TEST(router.AllowHeader("/nope") == "");
}

BOOST_AUTO_TEST_CASE(app_405_response_carries_allow) {
  AppFixture f;
  Response r = f.Call("PUT", "/api/v1/me");
  BOOST_TEST(r.status == 405);
  BOOST_REQUIRE(r.FindHeader("Allow"));
  BOOST_TEST(*r.FindHeader("Allow") == "GET, HEAD");
  Json::Value body = ParseBody(r.body);
  BOOST_TEST(body["status"].asInt() == 405);
  BOOST_TEST(body["code"].asString() == "method_not_allowed");
  BOOST_TEST(f.Call("GET", "/nowhere").status == 404);
}

BOOST_AUTO_TEST_CASE(app_exceptions_become_contract_500) {
  AppFixture f;
  for (const char* path : {"/boom", "/boom-int", "/internal"}) {
    Response r = f.Call("GET", path);
    BOOST_TEST(r.status == 500);
    BOOST_TEST(r.body.find("secret") == std::string::npos);
    BOOST_TEST(r.body.find("mysql") == std::string::npos);
    Json::Value body = ParseBody(r.body);
    BOOST_TEST(body["code"].asString() == "internal_error");
    BOOST_TEST(body["status"].asInt() == 500);
    BOOST_TEST(*r.FindHeader("Content-Type") == "application/json; charset=utf-8");
  }
}

BOOST_AUTO_TEST_CASE(app_rejects_bad_bodies_before_handlers) {
  AppFixture f;
  Request request;
  request.method = "POST";
  request.path = "/api/v1/auth/token";
  request.body_state = BodyState::kTooLarge;
  BOOST_TEST(f.app.Handle(request).status == 413);
  request.body_state = BodyState::kIncomplete;
  BOOST_TEST(f.app.Handle(request).status == 400);
  request.body_state = BodyState::kBadLength;
  BOOST_TEST(f.app.Handle(request).status == 400);
}

BOOST_AUTO_TEST_CASE(app_request_ids) {
  AppFixture f;
  Request request;
  request.method = "GET";
  request.path = "/ip";
  request.x_request_id = "abc-123_x.y";
  Response adopted = f.app.Handle(request);
  BOOST_TEST(*adopted.FindHeader("X-Request-Id") == "abc-123_x.y");
  for (std::string bad : {std::string("has space"), std::string(65, 'a'), std::string(),
                          std::string("x\r\nSet-Cookie: a=b")}) {
    request.x_request_id = bad;
    Response r = f.app.Handle(request);
    const std::string& id = *r.FindHeader("X-Request-Id");
    BOOST_TEST(id.size() == 16u);
    BOOST_TEST(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(app_idempotency_keys_are_the_clients_when_sane_else_none) {
  AppFixture f;
  Request request;
  request.method = "GET";
  request.path = "/ip";
  request.idempotency_key_header = "retry-7.a_b";
  Json::Value sane = ParseBody(f.app.Handle(request).body);
  BOOST_TEST(sane["idempotency_key"].asString() == "retry-7.a_b");
  BOOST_TEST(!sane["key_malformed"].asBool());
  // Contract section 4: any 1 to 255 printable ASCII characters.
  for (const std::string& good : {std::string("a b"), std::string(65, 'k'),
                                   std::string("{7e0c} +/=~") + std::string(244, 'x')}) {
    request.idempotency_key_header = good;
    Json::Value kept = ParseBody(f.app.Handle(request).body);
    BOOST_TEST(!kept["key_malformed"].asBool(), good.size());
    BOOST_TEST(kept["idempotency_key"].asString() == good);
  }
  for (std::string bad : {std::string(256, 'k'), std::string("tab\there"),
                          std::string("ключ")}) {
    request.idempotency_key_header = bad;
    Json::Value refused = ParseBody(f.app.Handle(request).body);
    BOOST_TEST(refused["key_malformed"].asBool(), bad);
    BOOST_TEST(refused["idempotency_key"].asString() == "");
  }
  request.idempotency_key_header = "";
  Json::Value none = ParseBody(f.app.Handle(request).body);
  BOOST_TEST(!none["key_malformed"].asBool());
  BOOST_TEST(none["idempotency_key"].asString() == "");
}

BOOST_AUTO_TEST_CASE(app_sets_client_ip_and_headers) {
  AppFixture f;
  Request request;
  request.method = "GET";
  request.path = "/ip";
  request.remote_addr = "127.0.0.1";
  request.x_forwarded_for = "1.1.1.1, 198.51.100.7";
  Response r = f.app.Handle(request);
  BOOST_TEST(ParseBody(r.body)["ip"].asString() == "198.51.100.7");
  BOOST_TEST(*r.FindHeader("Cache-Control") == "no-store");
  BOOST_TEST(*r.FindHeader("X-Content-Type-Options") == "nosniff");
}

BOOST_AUTO_TEST_CASE(app_head_has_no_body) {
  AppFixture f;
  Response r = f.Call("HEAD", "/api/v1/me");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.body.empty());
  BOOST_TEST(*r.FindHeader("Content-Length") != "0");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::http
