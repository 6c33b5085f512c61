// What only the Apache fronts (conf/apache.conf.in: http_front = apache or apache-fcgid)
// add: the errors Apache produces itself in the contract's JSON shape, the /members/ wall
// through mod_fcgid's access checker (cookie and API token), its internal pieces closed
// to clients, the static files, the JSON access log, and in mod_fcgid mode that
// phoneverify-fcgi runs as single workers spawned by Apache. Behind nginx these cases are
// skipped (reported as such): nginx's own answers are covered by hostile_http and pages.
#include <json/reader.h>

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <string>

#include "api_helpers.h"
#include "stack.h"

namespace phoneverify::itest {
namespace {

namespace utf = boost::unit_test;

struct ApacheFront {
  boost::test_tools::assertion_result operator()(utf::test_unit_id) const {
    boost::test_tools::assertion_result ok(Stack::Get().front() != "nginx");
    ok.message() << "the stack runs behind " << Stack::Get().front()
                 << "; set PHONEVERIFY_TEST_FRONT=apache or apache-fcgid";
    return ok;
  }
};

struct FcgidFront {
  boost::test_tools::assertion_result operator()(utf::test_unit_id) const {
    boost::test_tools::assertion_result ok(Stack::Get().front() == "apache-fcgid");
    ok.message() << "mod_fcgid mode only (PHONEVERIFY_TEST_FRONT=apache-fcgid)";
    return ok;
  }
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The JSON error shape with the right type, and nothing of Apache's HTML.
void ExpectJsonError(const HttpResponse& r, long status, const std::string& code) {
  BOOST_TEST(r.status == status);
  BOOST_TEST(r.HasErrorShape());
  BOOST_TEST(r.json["code"].asString() == code);
  BOOST_TEST(Contains(r.Header("content-type"), "application/json"));
  BOOST_TEST(!Contains(r.body, "<html"));
  BOOST_TEST(!Contains(r.body, "Apache"));
}

// A raw exchange's status code and body (after the blank line).
long RawStatus(const std::string& reply) {
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12) return 0;
  return std::stol(reply.substr(9, 3));
}

std::string RawBody(const std::string& reply) {
  size_t end = reply.find("\r\n\r\n");
  return end == std::string::npos ? "" : reply.substr(end + 4);
}

// A user with a verified phone, signed in through the API (token).
TestUser VerifiedUser(const HttpClient& client) {
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("986");
  const std::string code = SendAndReceive(client, user, phone);
  Json::Value body(Json::objectValue);
  body["phone"] = phone;
  body["otp"] = code;
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/verify-otp", body, user.token).status, 200);
  return user;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(apache_front, *utf::precondition(ApacheFront()))

BOOST_AUTO_TEST_CASE(apaches_own_404_and_405_are_json) {
  HttpClient client = Stack::Get().Client();
  ExpectJsonError(client.Get("/static/no-such-file.css"), 404, "not_found");
  HttpResponse post = client.PostRaw("/static/style.css", "a=1",
                                     "application/x-www-form-urlencoded");
  ExpectJsonError(post, 405, "method_not_allowed");
  // The application's own 404 passes through untouched.
  ExpectJsonError(client.Get("/api/v1/no-such-endpoint"), 404, "not_found");
}

BOOST_AUTO_TEST_CASE(an_oversized_body_is_refused_with_413_json) {
  HttpClient client = Stack::Get().Client();
  const std::string big(20000, 'a');
  ExpectJsonError(client.PostRaw("/api/v1/accounts", big, "application/json"), 413,
                  "body_too_large");
  // Chunked, with no length announced: Apache's LimitRequestBody stops it.
  HttpRequest chunked;
  chunked.method = "POST";
  chunked.path = "/api/v1/accounts";
  chunked.body = big;
  chunked.headers = {"Content-Type: application/json", "Transfer-Encoding: chunked"};
  // mod_fcgid 2.3.9 answers an over-long chunked body with its own 500 (newer versions
  // with 413); the JSON shape holds either way, and the application never sees it.
  if (Stack::Get().front() == "apache-fcgid") {
    ExpectJsonError(client.Send(chunked), 500, "internal_error");
  } else {
    ExpectJsonError(client.Send(chunked), 413, "body_too_large");
  }
}

BOOST_AUTO_TEST_CASE(a_too_long_uri_and_a_bad_request_are_json) {
  HttpClient client = Stack::Get().Client();
  ExpectJsonError(client.Get("/" + std::string(9000, 'a')), 414, "uri_too_long");
  const int port = Stack::Get().port();
  const std::string bad_path = RawExchange(port, "GET /% HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(RawStatus(bad_path) == 400);
  BOOST_TEST(Contains(RawBody(bad_path), "\"code\": \"bad_request\""));
  BOOST_TEST(!Contains(bad_path, "<html"));
  const std::string no_host = RawExchange(port, "GET / HTTP/1.1\r\n\r\n");
  BOOST_TEST(RawStatus(no_host) == 400);
  BOOST_TEST(Contains(RawBody(no_host), "\"code\": \"bad_request\""));
}

BOOST_AUTO_TEST_CASE(static_files_are_served_by_apache) {
  HttpResponse css = Stack::Get().Client().Get("/static/style.css");
  BOOST_TEST(css.status == 200);
  BOOST_TEST(Contains(css.Header("content-type"), "text/css"));
  BOOST_TEST(css.Header("x-content-type-options") == "nosniff");
  BOOST_TEST(!css.Header("expires").empty());
  BOOST_TEST(!css.body.empty());
}

BOOST_AUTO_TEST_CASE(the_wall_keeps_the_query_and_sends_a_path) {
  HttpClient client = Stack::Get().Client();
  HttpResponse r = client.Get("/members/index.html?from=mail&x=1");
  BOOST_TEST(r.status == 303);
  BOOST_TEST(r.Header("location") == "/login?next=/members/index.html?from=mail&x=1");
  // A client cannot claim the verdict: request headers never become request variables.
  HttpRequest forged;
  forged.path = "/members/";
  forged.headers = {"Variable-PHONEVERIFY_WALL: pass", "PHONEVERIFY_WALL: pass"};
  HttpResponse still = client.Send(forged);
  BOOST_TEST(still.status == 303);
  BOOST_TEST(still.Header("location") == "/login?next=/members/");
}

BOOST_AUTO_TEST_CASE(the_wall_lets_an_api_token_through_and_leaks_no_variables) {
  HttpClient client = Stack::Get().Client();
  TestUser user = VerifiedUser(client);
  HttpResponse member = client.Get("/members/", user.token);
  BOOST_TEST(member.status == 200);
  BOOST_TEST(Contains(member.body, "You are through the wall"));
  BOOST_TEST(member.Header("x-phoneverify-user") == user.username);
  for (const auto& [name, value] : member.headers) {
    BOOST_TEST_INFO("header " << name);
    BOOST_TEST(!Contains(name, "variable-"));
  }
  // A token that is not valid counts as signed out.
  HttpResponse bad = client.Get("/members/", "not-a-token");
  BOOST_TEST(bad.status == 303);
  BOOST_TEST(bad.Header("location") == "/login?next=/members/");
}

BOOST_AUTO_TEST_CASE(the_walls_internal_pieces_are_closed_to_clients) {
  HttpClient client = Stack::Get().Client();
  ExpectJsonError(client.Get("/_wall/see-other.asis"), 404, "not_found");
  ExpectJsonError(client.Get("/_errors/404.json"), 404, "not_found");
  ExpectJsonError(client.Get("/_errors/500.json"), 404, "not_found");
}

BOOST_AUTO_TEST_CASE(the_access_log_is_json_lines) {
  HttpClient client = Stack::Get().Client();
  BOOST_REQUIRE_EQUAL(client.Get("/healthz?probe=access-log").status, 200);
  std::ifstream log(Stack::Get().var_dir() + "/log/apache-access.log");
  BOOST_REQUIRE(log.good());
  std::string line, last_healthz;
  size_t lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    if (Contains(line, "\"/healthz\"")) last_healthz = line;
  }
  BOOST_TEST(lines > 0u);
  Json::Value entry;
  Json::CharReaderBuilder builder;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  BOOST_REQUIRE(reader->parse(last_healthz.data(), last_healthz.data() + last_healthz.size(),
                              &entry, &errors));
  BOOST_TEST(entry["status"].asInt() == 200);
  BOOST_TEST(entry["method"].asString() == "GET");
  BOOST_TEST(entry["uri"].asString() == "/healthz");
  BOOST_TEST(!Contains(last_healthz, "probe=access-log"));  // query strings stay out
}

BOOST_AUTO_TEST_CASE(under_mod_fcgid_apache_spawns_single_workers,
                     *utf::precondition(FcgidFront())) {
  BOOST_REQUIRE_EQUAL(Stack::Get().Client().Get("/healthz").status, 200);
  std::ifstream log(Stack::Get().var_dir() + "/log/phoneverify.log");
  std::string line;
  size_t inherited = 0, masters = 0;
  while (std::getline(log, line)) {
    if (Contains(line, "worker started on inherited socket")) ++inherited;
    if (Contains(line, "master started")) ++masters;
  }
  BOOST_TEST(inherited > 0u);
  BOOST_TEST(masters == 0u);
  // No phoneverify-fcgi of stack.sh's own: Apache is the only front and supervisor.
  BOOST_TEST(Stack::Get().StackCommand("status") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace phoneverify::itest
