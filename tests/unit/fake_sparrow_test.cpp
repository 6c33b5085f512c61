// The fake SMS gateway itself (tests/fakes/fake_sparrow.h): the http backend's route, the
// load figures, and delayed replies that do not wait for one another. Plain sockets on
// loopback, so these tests do not depend on the gateways they serve.
#include "fakes/fake_sparrow.h"

#include <arpa/inet.h>
#include <json/reader.h>
#include <json/value.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace phoneverify::fakes {
namespace {

struct Reply {
  int status = 0;  // 0: no answer (connection closed or refused)
  std::string head;
  std::string body;
};

// One HTTP/1.1 exchange on a fresh connection to 127.0.0.1:port.
Reply Exchange(int port, const std::string& request) {
  Reply reply;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return reply;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string data;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t got;
    while ((got = ::recv(fd, buf, sizeof buf, 0)) > 0) data.append(buf, static_cast<size_t>(got));
  }
  ::close(fd);
  const size_t head_end = data.find("\r\n\r\n");
  if (data.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return reply;
  reply.status = std::stoi(data.substr(9, 3));
  reply.head = data.substr(0, head_end);
  reply.body = data.substr(head_end + 4);
  return reply;
}

// The request closes the connection so Exchange can read to the end.
std::string Request(const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& headers = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
         headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string HttpSms(const std::string& body) {
  return Request("POST", "/http-sms/", body,
                 "Content-Type: application/json\r\nwebhook-id: msg_42\r\n"
                 "webhook-timestamp: 1700000000\r\nwebhook-signature: v1,c2lnbmF0dXJl\r\n");
}

Json::Value ParseJson(const std::string& text) {
  Json::CharReaderBuilder builder;
  Json::Value value;
  std::string errors;
  std::istringstream in(text);
  Json::parseFromStream(builder, in, &value, &errors);
  return value;
}

constexpr const char* kMessage = R"({"id": "msg_42", "to": "9841234567", "text": "code 123456"})";

struct Fixture {
  FakeSparrow fake;
  Fixture() { BOOST_REQUIRE_MESSAGE(fake.ok(), fake.error()); }
};

BOOST_FIXTURE_TEST_SUITE(fake_sparrow, Fixture)

BOOST_AUTO_TEST_CASE(http_sms_is_recorded_with_its_id_and_webhook_headers) {
  const Reply reply = Exchange(fake.Port(), HttpSms(kMessage));
  BOOST_TEST(reply.status == 200);
  BOOST_TEST(ParseJson(reply.body)["ok"].asBool());
  const auto requests = fake.Requests();
  BOOST_REQUIRE(requests.size() == 1u);
  BOOST_TEST(requests[0].kind == "http");
  BOOST_TEST(requests[0].id == "msg_42");
  BOOST_TEST(requests[0].to == "9841234567");
  BOOST_TEST(requests[0].text == "code 123456");
  BOOST_TEST(requests[0].webhook_id == "msg_42");
  BOOST_TEST(requests[0].webhook_timestamp == "1700000000");
  BOOST_TEST(requests[0].webhook_signature == "v1,c2lnbmF0dXJl");
  BOOST_TEST(requests[0].reply == "ok");
  BOOST_TEST(fake.HttpUrl() == "http://127.0.0.1:" + std::to_string(fake.Port()) + "/http-sms/");
}

BOOST_AUTO_TEST_CASE(http_sms_shares_the_reply_modes_and_a_403_mode_is_400) {
  fake.SetMode(FakeSparrow::Error403(1007));
  BOOST_TEST(Exchange(fake.Port(), HttpSms(kMessage)).status == 400);
  fake.SetMode(FakeSparrow::Http500());
  BOOST_TEST(Exchange(fake.Port(), HttpSms(kMessage)).status == 500);
  fake.SetMode(FakeSparrow::Drop());
  BOOST_TEST(Exchange(fake.Port(), HttpSms(kMessage)).status == 0);
  BOOST_TEST(fake.RequestCount() == 3u);
}

BOOST_AUTO_TEST_CASE(http_sms_without_its_fields_is_400_and_still_recorded) {
  BOOST_TEST(Exchange(fake.Port(), HttpSms(R"({"to": "9841234567"})")).status == 400);
  BOOST_TEST(Exchange(fake.Port(), HttpSms("not json")).status == 400);
  BOOST_TEST(fake.RequestCount() == 2u);
}

BOOST_AUTO_TEST_CASE(sparrow_requests_are_of_kind_sparrow) {
  const Reply reply =
      Exchange(fake.Port(), Request("POST", "/v2/sms/", "token=t&from=F&to=9841234567&text=hi",
                                    "Content-Type: application/x-www-form-urlencoded\r\n"));
  BOOST_TEST(reply.status == 200);
  BOOST_REQUIRE(fake.Requests().size() == 1u);
  BOOST_TEST(fake.Requests()[0].kind == "sparrow");
  BOOST_TEST(fake.Requests()[0].path == "/v2/sms/");
}

BOOST_AUTO_TEST_CASE(a_known_path_with_another_method_is_405_with_allow) {
  const Reply reply = Exchange(fake.Port(), Request("GET", "/http-sms/"));
  BOOST_TEST(reply.status == 405);
  BOOST_TEST(reply.head.find("\r\nAllow: POST") != std::string::npos, reply.head);
  BOOST_TEST(Exchange(fake.Port(), Request("GET", "/nowhere")).status == 404);
}

// Delayed replies each hold only their own connection: 40 at once take about one delay,
// not 40, and the figures count them all.
BOOST_AUTO_TEST_CASE(delayed_replies_run_side_by_side_and_stats_count_them) {
  constexpr int kClients = 40;
  constexpr int kDelayMs = 300;
  fake.SetMode(FakeSparrow::Delay(kDelayMs));
  std::vector<int> statuses(kClients, 0);
  std::vector<std::thread> clients;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { statuses[i] = Exchange(fake.Port(), HttpSms(kMessage)).status; });
  }
  for (auto& client : clients) client.join();
  const auto took = std::chrono::steady_clock::now() - start;
  for (int status : statuses) BOOST_TEST(status == 200);
  BOOST_TEST(took < std::chrono::milliseconds(kDelayMs * 5));  // serialised: 40 delays
  const FakeSparrow::Stats stats = fake.GetStats();
  BOOST_TEST(stats.requests == static_cast<uint64_t>(kClients));
  BOOST_TEST(stats.in_flight == 0);
  BOOST_TEST(stats.in_flight_max > kClients / 2);  // they overlapped
  BOOST_TEST(stats.in_flight_us >= static_cast<uint64_t>(kClients) * kDelayMs * 1000);

  const Json::Value json = ParseJson(Exchange(fake.Port(), Request("GET", "/stats")).body);
  BOOST_TEST(json["requests"].asUInt64() == static_cast<uint64_t>(kClients));
  BOOST_TEST(json["in_flight"].asInt() == 0);
  BOOST_TEST(json["in_flight_max"].asInt() == stats.in_flight_max);
  BOOST_TEST(json["connections"].asInt() >= 1);  // this one
}

BOOST_AUTO_TEST_CASE(a_dropped_request_is_not_counted_as_answered) {
  fake.FailNext(1, FakeSparrow::Drop());
  Exchange(fake.Port(), HttpSms(kMessage));
  Exchange(fake.Port(), HttpSms(kMessage));
  BOOST_TEST(fake.GetStats().requests == 1u);
  BOOST_TEST(fake.RequestCount() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::fakes
