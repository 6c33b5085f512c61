// The FastCGI layer's pure pieces: CGI params -> Request, the body rule, response head.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <map>
#include <string>

#include "fcgi/cgi_params.h"

namespace phoneverify::fcgi {
namespace {

ParamLookup Params(const std::map<std::string, std::string>& params) {
  return [params](const char* name) -> const char* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : it->second.c_str();
  };
}

// A body source handing out at most `chunk` bytes per call, counting what was read.
struct Source {
  std::string data;
  size_t chunk = 1000;
  size_t pos = 0;
  BodyReader Reader() {
    return [this](char* buf, int len) {
      size_t n = std::min({static_cast<size_t>(len), chunk, data.size() - pos});
      std::memcpy(buf, data.data() + pos, n);
      pos += n;
      return static_cast<int>(n);
    };
  }
};

http::Request Read(const std::string& length, Source& source, size_t max = 16) {
  http::Request request;
  ReadBody(length, max, source.Reader(), request);
  return request;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fcgi_params)

BOOST_AUTO_TEST_CASE(request_from_nginx_params) {
  http::Request r = RequestFromParams(Params({
      {"REQUEST_METHOD", "GET"},
      {"REQUEST_URI", "/api/v1/phone/otp?phone=98%2041"},
      {"QUERY_STRING", "phone=98%2041"},
      {"CONTENT_TYPE", "application/json"},
      {"HTTP_AUTHORIZATION", "Token abc"},
      {"HTTP_COOKIE", "s=1"},
      {"HTTP_ACCEPT_LANGUAGE", "ne"},
      {"HTTP_X_FORWARDED_FOR", "1.2.3.4"},
      {"HTTP_X_REQUEST_ID", "rid"},
      {"HTTP_IDEMPOTENCY_KEY", "idem"},
      {"REMOTE_ADDR", "127.0.0.1"},
      {"HTTPS", "on"},
  }));
  BOOST_TEST(r.method == "GET");
  BOOST_TEST(r.path == "/api/v1/phone/otp");
  BOOST_TEST(r.query == "phone=98%2041");
  BOOST_TEST(r.content_type == "application/json");
  BOOST_TEST(r.authorization == "Token abc");
  BOOST_TEST(r.cookie == "s=1");
  BOOST_TEST(r.accept_language == "ne");
  BOOST_TEST(r.x_forwarded_for == "1.2.3.4");
  BOOST_TEST(r.x_request_id == "rid");
  BOOST_TEST(r.idempotency_key_header == "idem");
  BOOST_TEST(r.remote_addr == "127.0.0.1");
  BOOST_TEST(r.https);
}

BOOST_AUTO_TEST_CASE(request_fallbacks) {
  http::Request r = RequestFromParams(
      Params({{"REQUEST_METHOD", "GET"}, {"SCRIPT_NAME", "/healthz"}, {"PATH_INFO", ""}}));
  BOOST_TEST(r.path == "/healthz");
  BOOST_TEST(r.query == "");
  BOOST_TEST(!r.https);
  http::Request q = RequestFromParams(Params({{"REQUEST_URI", "/a?x=1#f"}}));
  BOOST_TEST(q.path == "/a");
  BOOST_TEST(q.query == "x=1");
  BOOST_TEST(RequestFromParams(Params({{"REQUEST_SCHEME", "https"}})).https);
}

BOOST_AUTO_TEST_CASE(body_complete) {
  Source s{"{\"a\":\"b\"}"};
  http::Request r = Read("9", s);
  BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kComplete));
  BOOST_TEST(r.body == "{\"a\":\"b\"}");
  BOOST_TEST(r.content_length == 9u);
}

BOOST_AUTO_TEST_CASE(body_exactly_at_the_limit_in_small_chunks) {
  Source s{std::string(16, 'x'), 3};
  http::Request r = Read("16", s);
  BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kComplete));
  BOOST_TEST(r.body.size() == 16u);
}

BOOST_AUTO_TEST_CASE(body_over_the_limit_reads_at_most_limit_plus_one) {
  Source declared{std::string(1000, 'x')};
  http::Request r = Read("1000", declared);
  BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kTooLarge));
  BOOST_TEST(r.body.empty());
  BOOST_TEST(declared.pos <= 17u);

  Source undeclared{std::string(1000, 'x')};
  http::Request u = Read("", undeclared);
  BOOST_TEST(static_cast<int>(u.body_state) == static_cast<int>(http::BodyState::kTooLarge));
  BOOST_TEST(undeclared.pos == 17u);
}

BOOST_AUTO_TEST_CASE(body_shorter_than_declared) {
  Source s{"abc"};
  http::Request r = Read("10", s);
  BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kIncomplete));
  BOOST_TEST(r.body.empty());
}

BOOST_AUTO_TEST_CASE(body_longer_than_declared_is_cut_at_the_declaration) {
  Source s{"abcdef"};
  http::Request r = Read("3", s);
  BOOST_TEST(r.body == "abc");
}

BOOST_AUTO_TEST_CASE(bad_content_length) {
  for (const char* bad : {"12x", "-1", " 5", "99999999999999999999"}) {
    Source s{"abc"};
    http::Request r = Read(bad, s);
    BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kBadLength));
    BOOST_TEST(s.pos == 0u);
  }
}

BOOST_AUTO_TEST_CASE(no_length_and_no_body) {
  Source s{""};
  http::Request r = Read("", s);
  BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kComplete));
  BOOST_TEST(r.body.empty());
}

BOOST_AUTO_TEST_CASE(head_has_status_headers_and_length) {
  http::Response r = http::JsonResponse(201, Json::Value(Json::objectValue));
  r.AddHeader("Set-Cookie", "a=1");
  r.AddHeader("Set-Cookie", "b=2");
  std::string head = ResponseHead(r);
  BOOST_TEST(head.rfind("Status: 201 Created\r\n", 0) == 0u);
  BOOST_TEST(head.find("Content-Type: application/json; charset=utf-8\r\n") != std::string::npos);
  BOOST_TEST(head.find("Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n") != std::string::npos);
  BOOST_TEST(head.find("Content-Length: 2\r\n") != std::string::npos);
  BOOST_TEST(head.substr(head.size() - 4) == "\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(head_drops_injected_headers) {
  http::Response r = http::EmptyResponse(204);
  r.AddHeader("X-Evil", "a\r\nSet-Cookie: x=y");
  r.AddHeader("X-Nul", std::string("a\0b", 3));
  BOOST_TEST(ResponseHead(r) == "Status: 204 No Content\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(path_of_uri) {
  BOOST_TEST(PathOfUri("/api/v1/phone/otp?phone=98") == "/api/v1/phone/otp");
  BOOST_TEST(PathOfUri("/api/v1/me") == "/api/v1/me");
  BOOST_TEST(PathOfUri("/a#frag") == "/a");
  BOOST_TEST(PathOfUri("http://example.com/api/v1/me?x") == "/api/v1/me");
  BOOST_TEST(PathOfUri("http://example.com") == "/");
  BOOST_TEST(PathOfUri("") == "");
}

BOOST_AUTO_TEST_CASE(authorizer_role_is_read_as_auth_check) {
  auto params = Params({{"FCGI_ROLE", "AUTHORIZER"},
                        {"REQUEST_METHOD", "POST"},
                        {"REQUEST_URI", "/members/secret.html?x=1"},
                        {"QUERY_STRING", "x=1"},
                        {"CONTENT_TYPE", "text/plain"},
                        {"HTTP_COOKIE", "pv_session=abc"},
                        {"HTTP_AUTHORIZATION", "Bearer t"},
                        {"REMOTE_ADDR", "127.0.0.1"}});
  BOOST_TEST(IsAuthorizerRole(params));
  BOOST_TEST(!IsAuthorizerRole(Params({{"FCGI_ROLE", "RESPONDER"}})));
  BOOST_TEST(!IsAuthorizerRole(Params({})));
  http::Request r = RequestFromParams(params);
  MakeAuthCheck(r);
  BOOST_TEST(r.method == "GET");
  BOOST_TEST(r.path == "/auth/check");
  BOOST_TEST(r.query.empty());
  BOOST_TEST(r.content_type.empty());
  BOOST_TEST(r.cookie == "pv_session=abc");
  BOOST_TEST(r.authorization == "Bearer t");
  BOOST_TEST(r.remote_addr == "127.0.0.1");
  BOOST_TEST(static_cast<int>(r.body_state) == static_cast<int>(http::BodyState::kComplete));
}

BOOST_AUTO_TEST_CASE(authorizer_verdicts_are_200_with_the_wall_decision) {
  http::Response allowed = http::EmptyResponse(204);
  allowed.SetHeader("X-Phoneverify-User", "ram");
  allowed.SetHeader("X-Phoneverify-Account", "7");
  allowed.SetHeader("X-Request-Id", "0123456789abcdef");
  allowed.SetHeader("Set-Cookie", "must-not=leak");
  std::string head = ResponseHead(AuthorizerResponse(allowed));
  BOOST_TEST(head.rfind("Status: 200 OK\r\n", 0) == 0u);
  BOOST_TEST(head.find("Variable-PHONEVERIFY_WALL: pass\r\n") != std::string::npos);
  BOOST_TEST(head.find("Variable-PHONEVERIFY_USER: ram\r\n") != std::string::npos);
  BOOST_TEST(head.find("Variable-PHONEVERIFY_ACCOUNT: 7\r\n") != std::string::npos);
  BOOST_TEST(head.find("X-Request-Id: 0123456789abcdef\r\n") != std::string::npos);
  BOOST_TEST(head.find("Set-Cookie") == std::string::npos);

  const std::map<int, std::string> expected = {
      {401, "login"}, {403, "verify"}, {500, "error"}, {503, "error"}, {404, "error"}};
  for (const auto& [status, wall] : expected) {
    http::Response verdict = AuthorizerResponse(http::EmptyResponse(status));
    BOOST_TEST(verdict.status == 200);
    BOOST_TEST(verdict.body.empty());
    const std::string* decision = verdict.FindHeader("Variable-PHONEVERIFY_WALL");
    BOOST_TEST_REQUIRE(decision != nullptr);
    BOOST_TEST(*decision == wall);
    BOOST_TEST(verdict.FindHeader("Variable-PHONEVERIFY_USER") == nullptr);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::fcgi
