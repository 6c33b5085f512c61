// GET /metrics on the real stack (Prometheus text, counts added up across the workers,
// dispatcher figures from the database) and request ids that follow a message from the
// HTTP request to the dispatcher's log lines.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_helpers.h"
#include "fault_helpers.h"

namespace phoneverify::itest {
namespace {

using namespace std::chrono_literals;

// The value of one series in the exposition text, -1 when absent.
double SeriesValue(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, series.size() + 1, series + " ") == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

std::string Scrape() {
  auto r = Stack::Get().Client().Get("/metrics");
  BOOST_REQUIRE_EQUAL(r.status, 200);
  return r.body;
}

Json::Value Phone(const std::string& phone) {
  Json::Value body;
  body["phone"] = phone;
  return body;
}

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(counts_from_every_worker_add_up) {
  const std::string series =
      R"(phoneverify_http_requests_total{route="/healthz",method="GET",status="200"})";
  auto first = Stack::Get().Client().Get("/metrics");
  BOOST_REQUIRE_EQUAL(first.status, 200);
  BOOST_TEST(first.Header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(first.body.find("# TYPE phoneverify_http_requests_total counter\n") !=
             std::string::npos);
  const double before = std::max(0.0, SeriesValue(first.body, series));
  auto client = Stack::Get().Client();
  for (int i = 0; i < 40; ++i) BOOST_REQUIRE_EQUAL(client.Get("/healthz").status, 200);
  BOOST_TEST(SeriesValue(Scrape(), series) == before + 40);
  BOOST_TEST(SeriesValue(Scrape(), "phoneverify_database_up") == 1);
  BOOST_TEST(SeriesValue(Scrape(), R"(phoneverify_outbox_depth{state="queued"})") >= 0);
}

BOOST_AUTO_TEST_CASE(codes_sent_verified_refused_and_delivered_are_counted) {
  auto client = Stack::Get().Client();
  const std::string before = Scrape();
  const double sent = SeriesValue(before, "phoneverify_otp_sent_total");
  const double verified = SeriesValue(before, "phoneverify_otp_verified_total");
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("984");
  const std::string code = SendAndReceive(client, user, phone);
  auto too_soon = client.PostJson("/api/v1/phone/send-otp", Phone(phone), user.token);
  BOOST_REQUIRE_EQUAL(too_soon.status, 429);
  Json::Value guess = Phone(phone);
  guess["otp"] = code;
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/verify-otp", guess, user.token).status, 200);
  const std::string after = Scrape();
  BOOST_TEST(SeriesValue(after, "phoneverify_otp_sent_total") == sent + 1);
  BOOST_TEST(SeriesValue(after, "phoneverify_otp_verified_total") == verified + 1);
  BOOST_TEST(SeriesValue(after, R"(phoneverify_rate_limited_total{route="/api/v1/phone/send-otp",code="resend_too_soon"})") >= 1);
  // The dispatcher flushes its figures every few seconds.
  const std::string delivered =
      R"(phoneverify_sms_attempts_total{gateway="sparrow",result="delivered",code="200"})";
  BOOST_TEST(WaitUntil([&] { return SeriesValue(Scrape(), delivered) >= 1; }, 15s));
  const std::string text = Scrape();
  BOOST_TEST(text.find("# TYPE phoneverify_sms_gateway_latency_seconds histogram\n") !=
             std::string::npos);
  BOOST_TEST(SeriesValue(text, R"(phoneverify_sms_gateway_latency_seconds_bucket{gateway="sparrow",le="+Inf"})") >= 1);
}

BOOST_AUTO_TEST_CASE(the_shipped_nginx_config_serves_metrics_to_loopback_only) {
  std::ifstream in(Stack::Get().var_dir() + "/nginx/nginx.conf");
  std::stringstream conf;
  conf << in.rdbuf();
  const std::string text = conf.str();
  const size_t at = text.find("location = /metrics {");
  BOOST_REQUIRE(at != std::string::npos);
  const std::string block = text.substr(at, text.find('}', at) - at);
  BOOST_TEST(block.find("allow 127.0.0.1;") != std::string::npos);
  BOOST_TEST(block.find("allow ::1;") != std::string::npos);
  BOOST_TEST(block.find("deny all;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_request_id_follows_the_message_to_the_dispatcher) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("985");
  const std::string id = UniqueName("trace");
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/v1/phone/send-otp";
  request.body = ToJson(Phone(phone));
  request.headers = {"Content-Type: application/json", "Authorization: Token " + user.token,
                     "X-Request-Id: " + id};
  auto sent = client.Send(request);
  BOOST_REQUIRE_EQUAL(sent.status, 202);
  BOOST_TEST(sent.Header("x-request-id") == id);
  BOOST_TEST(!WaitForCode(phone, 1).empty());
  const std::string tag = "\"request_id\":\"" + id + "\"";
  BOOST_TEST(WaitUntil([&] { return CountLogLines({tag, "\"msg\":\"sms sent\""}) == 1; }, 5s));
  BOOST_TEST(CountLogLines({tag, "\"component\":\"fcgi\"", "\"msg\":\"request\""}) == 1u);
  BOOST_TEST(CountLogLines({tag, "\"component\":\"dispatcher\""}) >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
