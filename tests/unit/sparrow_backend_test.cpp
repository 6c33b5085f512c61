// SparrowBackend with real libcurl (CurlMultiTransport, through BlockingGateway) against
// the fake Sparrow server on loopback.
#include "sms/sparrow_backend.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "fakes/fake_sparrow.h"
#include "sms/blocking_gateway.h"
#include "sms/curl_global.h"

namespace phoneverify::sms {
namespace {

using fakes::FakeSparrow;
using Kind = SendResult::Kind;

constexpr const char* kToken = "v2_sEcReT-t0ken/with+chars";
constexpr const char* kPhone = "9841234567";
// "Your phoneverify code is 482913. Valid 5 minutes." in Nepali, plus URL specials.
constexpr const char* kNepaliText =
    "तपाईंको phoneverify कोड ४८२९१३ हो। 5 मिनेट मान्य। a&b=c+d %20 ?x#y";

std::unique_ptr<BlockingGateway> Sparrow(std::string url, std::string token, std::string from,
                                         int timeout_seconds) {
  return std::make_unique<BlockingGateway>(std::make_unique<SparrowBackend>(
      std::move(url), std::move(token), std::move(from), timeout_seconds));
}

struct Fixture {
  CurlGlobal curl;
  FakeSparrow sparrow;

  Fixture() {
    BOOST_REQUIRE(curl.ok());
    BOOST_REQUIRE_MESSAGE(sparrow.ok(), sparrow.error());
  }
  std::unique_ptr<BlockingGateway> Gateway(int timeout_seconds = 5) {
    return Sparrow(sparrow.Url(), kToken, "Demo Sender", timeout_seconds);
  }
};

// A loopback port with nothing listening on it.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

BOOST_FIXTURE_TEST_SUITE(sparrow_backend, Fixture)

BOOST_AUTO_TEST_CASE(delivered_on_200_with_response_code_200) {
  auto gateway = Gateway();
  BOOST_REQUIRE(gateway->ok());
  const SendResult result = gateway->Send(kPhone, "Your code is 123456");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kDelivered));
  BOOST_TEST(result.gateway_code == 200);
  const auto requests = sparrow.Requests();
  BOOST_REQUIRE(requests.size() == 1u);
  BOOST_TEST(requests[0].method == "POST");
  BOOST_TEST(requests[0].token == kToken);
  BOOST_TEST(requests[0].from == "Demo Sender");
  BOOST_TEST(requests[0].to == kPhone);
  BOOST_TEST(requests[0].text == "Your code is 123456");
}

BOOST_AUTO_TEST_CASE(form_fields_are_url_encoded_including_nepali_utf8) {
  auto gateway = Gateway();
  BOOST_TEST(static_cast<int>(gateway->Send(kPhone, kNepaliText).kind) ==
             static_cast<int>(Kind::kDelivered));
  const auto requests = sparrow.Requests();
  BOOST_REQUIRE(requests.size() == 1u);
  BOOST_TEST(requests[0].text == kNepaliText);
  BOOST_TEST(requests[0].token == kToken);
  // Exactly four fields: no raw '&', '+', ' ' or non-ASCII byte leaked into the body.
  const std::string& body = requests[0].body;
  BOOST_TEST(std::count(body.begin(), body.end(), '&') == 3);
  BOOST_TEST(body.find(' ') == std::string::npos);
  BOOST_TEST(body.find('+') == std::string::npos);
  BOOST_TEST(std::none_of(body.begin(), body.end(),
                          [](char c) { return static_cast<unsigned char>(c) >= 0x80; }));
  BOOST_TEST(body.rfind("token=", 0) == 0);
}

BOOST_AUTO_TEST_CASE(one_handle_serves_many_sends_and_recovers_after_a_failure) {
  auto gateway = Gateway();
  sparrow.FailNext(1, FakeSparrow::Http500());
  BOOST_TEST(static_cast<int>(gateway->Send(kPhone, "a").kind) ==
             static_cast<int>(Kind::kTransient));
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(static_cast<int>(gateway->Send(kPhone, "b").kind) ==
               static_cast<int>(Kind::kDelivered));
  }
  BOOST_TEST(sparrow.RequestCount() == 4u);
}

BOOST_AUTO_TEST_CASE(sparrow_403_errors_are_permanent_with_their_code) {
  auto gateway = Gateway();
  for (int code : {1002, 1007, 1011, 1012, 1013}) {
    sparrow.SetMode(FakeSparrow::Error403(code));
    const SendResult result = gateway->Send(kPhone, "text");
    BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kPermanent));
    BOOST_TEST(result.gateway_code == code);
    BOOST_TEST(result.detail.rfind("sparrow " + std::to_string(code) + ": ", 0) == 0);
    BOOST_TEST(result.out_of_credit == (code == 1012 || code == 1013), "code " << code);
  }
  sparrow.SetMode(FakeSparrow::Error403(1002));
  BOOST_TEST(gateway->Send(kPhone, "text").detail == "sparrow 1002: Invalid Token");
}

BOOST_AUTO_TEST_CASE(http_500_is_transient) {
  sparrow.SetMode(FakeSparrow::Http500());
  const SendResult result = Gateway()->Send(kPhone, "text");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(result.gateway_code == 500);
  BOOST_TEST(result.detail == "http 500");
}

BOOST_AUTO_TEST_CASE(dropped_connection_is_transient) {
  sparrow.SetMode(FakeSparrow::Drop());
  const SendResult result = Gateway()->Send(kPhone, "text");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(result.detail == "connection dropped");
  BOOST_TEST(sparrow.RequestCount() == 1u);
}

BOOST_AUTO_TEST_CASE(reply_slower_than_the_timeout_is_transient_and_bounded) {
  sparrow.SetMode(FakeSparrow::Delay(5000));
  auto gateway = Gateway(1);
  const auto started = std::chrono::steady_clock::now();
  const SendResult result = gateway->Send(kPhone, "text");
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(result.detail == "timeout");
  BOOST_TEST(took < std::chrono::milliseconds(2500));
}

BOOST_AUTO_TEST_CASE(nothing_listening_is_transient_connect_failed) {
  auto gateway = Sparrow("http://127.0.0.1:" + std::to_string(ClosedPort()) + "/v2/sms/", kToken,
                         "Demo", 2);
  const SendResult result = gateway->Send(kPhone, "text");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(result.detail == "connect failed");
}

BOOST_AUTO_TEST_CASE(wrong_path_404_is_permanent) {
  auto gateway = Sparrow("http://127.0.0.1:" + std::to_string(sparrow.Port()) + "/v1/nope/", kToken,
                         "Demo", 2);
  const SendResult result = gateway->Send(kPhone, "text");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kPermanent));
  BOOST_TEST(result.gateway_code == 404);
  BOOST_TEST(result.detail == "http 404");
}

BOOST_AUTO_TEST_CASE(token_and_text_never_appear_in_detail) {
  // The fake's 1002 text is "Invalid Token": a token equal to a word of it must be masked.
  auto gateway = Sparrow(sparrow.Url(), "Invalid", "Demo", 2);
  sparrow.SetMode(FakeSparrow::Error403(1002));
  const SendResult result = gateway->Send(kPhone, "Token");
  BOOST_TEST(result.detail.find("Invalid") == std::string::npos);
  BOOST_TEST(result.detail.find("Token") == std::string::npos);
  BOOST_TEST(result.detail == "sparrow 1002: *** ***");
  for (auto reply : {FakeSparrow::Http500(), FakeSparrow::Drop(), FakeSparrow::Ok()}) {
    sparrow.SetMode(reply);
    BOOST_TEST(Gateway()->Send(kPhone, "code 123456").detail.find(kToken) == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(proxy_variables_from_the_environment_are_ignored) {
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);
  ::setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
  ::setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
  const SendResult result = Gateway()->Send(kPhone, "text");
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ::unsetenv("ALL_PROXY");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kDelivered));
}

BOOST_AUTO_TEST_CASE(only_http_and_https_urls_are_used) {
  auto gateway = Sparrow("file:///etc/passwd", kToken, "Demo", 2);
  const SendResult result = gateway->Send(kPhone, "text");
  BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(result.detail.rfind("curl: ", 0) == 0);
}

// A gateway whose certificate nobody vouches for (self-signed, as a man in the middle
// would show): libcurl refuses it before the token is sent. openssl makes the certificate
// and serves TLS on a loopback port.
BOOST_AUTO_TEST_CASE(an_https_gateway_with_an_untrusted_certificate_is_refused) {
  char dir_template[] = "/tmp/pv-tls-XXXXXX";
  BOOST_REQUIRE(::mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string make_cert =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " + dir + "/key.pem -out " + dir +
      "/cert.pem >/dev/null 2>&1";
  BOOST_REQUIRE(std::system(make_cert.c_str()) == 0);
  const int port = ClosedPort();
  const pid_t server = ::fork();
  BOOST_REQUIRE(server >= 0);
  if (server == 0) {
    const std::string accept = "127.0.0.1:" + std::to_string(port);
    const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
    const int null_fd = ::open("/dev/null", O_WRONLY);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(),
             "-cert", cert.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  bool listening = false;
  for (int i = 0; i < 100 && !listening; ++i) {  // up to 10 s for openssl to listen
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    listening = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (!listening) ::usleep(100'000);
  }
  SendResult result;
  if (listening) {
    auto gateway = Sparrow("https://127.0.0.1:" + std::to_string(port) + "/v2/sms/", kToken,
                           "Demo Sender", 5);
    BOOST_REQUIRE(gateway->ok());
    result = gateway->Send(kPhone, "Your code is 123456");
  }
  ::kill(server, SIGKILL);
  ::waitpid(server, nullptr, 0);
  std::filesystem::remove_all(dir);
  BOOST_REQUIRE_MESSAGE(listening, "openssl s_server did not listen");
  BOOST_TEST(static_cast<int>(result.kind) != static_cast<int>(Kind::kDelivered));
  BOOST_TEST(result.detail.find("certificate") != std::string::npos, result.detail);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sparrow_reply)

// Regression (tests/fuzz/sparrow_reply_fuzz.cpp): jsoncpp throws past its stack limit,
// and the uncaught exception ended the dispatcher process.
BOOST_AUTO_TEST_CASE(deeply_nested_reply_is_unreadable_not_fatal) {
  const std::string deep(64, '[');
  const SendResult ok_status = InterpretSparrowReply(200, deep);
  BOOST_TEST(static_cast<int>(ok_status.kind) == static_cast<int>(Kind::kTransient));
  BOOST_TEST(ok_status.detail == "unexpected reply");
  const SendResult refused = InterpretSparrowReply(403, "{\"a\":" + deep);
  BOOST_TEST(static_cast<int>(refused.kind) == static_cast<int>(Kind::kPermanent));
  BOOST_TEST(refused.gateway_code == 403);
}

BOOST_AUTO_TEST_CASE(classification_table) {
  struct Case {
    long http;
    const char* body;
    Kind kind;
    int code;
    const char* detail;
  };
  const Case cases[] = {
      {200, R"({"count":1,"response_code":200,"response":"queued"})", Kind::kDelivered, 200, ""},
      {200, R"({"response_code":"200"})", Kind::kDelivered, 200, ""},
      {200, "<html>oops</html>", Kind::kTransient, 200, "unexpected reply"},
      {200, R"({"response_code":1012,"response":"No Credits Available"})", Kind::kPermanent, 1012,
       "sparrow 1012: No Credits Available"},
      {403, R"({"response_code":1007,"response":"Invalid Receiver"})", Kind::kPermanent, 1007,
       "sparrow 1007: Invalid Receiver"},
      {403, R"({"response_code":1000})", Kind::kPermanent, 1000, "sparrow 1000"},
      {403, "Forbidden", Kind::kPermanent, 403, "http 403"},
      {400, R"({"response":"bad\nthing"})", Kind::kPermanent, 400, "http 400: bad thing"},
      {429, "", Kind::kTransient, 429, "http 429"},
      {408, "", Kind::kTransient, 408, "http 408"},
      {502, R"({"response_code":1002})", Kind::kTransient, 502, "http 502"},
      {503, "", Kind::kTransient, 503, "http 503"},
      {301, "", Kind::kTransient, 301, "http 301"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("http " << c.http << " body " << c.body) {
      const SendResult result = InterpretSparrowReply(c.http, c.body);
      BOOST_TEST(static_cast<int>(result.kind) == static_cast<int>(c.kind));
      BOOST_TEST(result.gateway_code == c.code);
      BOOST_TEST(result.detail == c.detail);
    }
  }
}

BOOST_AUTO_TEST_CASE(long_gateway_text_is_truncated_on_a_utf8_boundary) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "न";  // 3 bytes each
  const SendResult result =
      InterpretSparrowReply(403, R"({"response_code":1008,"response":")" + text + "\"}");
  BOOST_TEST(result.detail.size() < 160u);
  BOOST_TEST(result.detail.substr(result.detail.size() - 3) == "...");
  const std::string kept = result.detail.substr(14, result.detail.size() - 17);
  BOOST_TEST(kept.size() % 3 == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
