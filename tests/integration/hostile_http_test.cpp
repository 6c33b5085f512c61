// Hostile HTTP, table-driven, sent as raw bytes through nginx: wrong methods, huge
// headers and URIs, bodies longer or shorter than declared, framing tricks, duplicate
// JSON keys, NUL bytes, overlong UTF-8, numbers where strings belong and strings where
// numbers would. Every row must answer a 4xx in the contract's error shape (and the
// expected code when the row names one); afterwards the service still works.
// (Rows bad_input_test.cpp already covers are not repeated here.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <json/reader.h>

#include <memory>
#include <string>
#include <vector>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

struct RawReply {
  int status = 0;
  std::string head;  // lower-cased
  std::string body;
  Json::Value json;
  bool is_json = false;
};

// Sends the bytes and reads until the server closes (or `timeout_ms` of silence). Unlike
// RawExchange it never half-closes: nginx takes a client's FIN as an abort (499) and would
// drop the answer.
std::string Exchange(const std::string& bytes, int timeout_ms = 10000) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  BOOST_REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(Stack::Get().port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    BOOST_FAIL("connect");
  }
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (e.g. on a huge header)
    sent += static_cast<size_t>(n);
  }
  std::string out;
  pollfd p{fd, POLLIN, 0};
  char buf[4096];
  while (::poll(&p, 1, timeout_ms) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Dechunk(const std::string& body) {
  std::string out;
  size_t at = 0;
  while (at < body.size()) {
    const size_t eol = body.find("\r\n", at);
    if (eol == std::string::npos) break;
    const size_t len = std::stoul(body.substr(at, eol - at), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    at = eol + 2 + len + 2;
  }
  return out;
}

RawReply Parse(const std::string& raw) {
  RawReply reply;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || end == std::string::npos) return reply;
  reply.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  reply.head = Lower(raw.substr(0, end));
  reply.body = raw.substr(end + 4);
  if (reply.head.find("transfer-encoding: chunked") != std::string::npos) {
    reply.body = Dechunk(reply.body);
  }
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string errors;
  reply.is_json = reader->parse(reply.body.data(), reply.body.data() + reply.body.size(),
                                &reply.json, &errors) &&
                  reply.json.isObject();
  return reply;
}

struct Row {
  const char* name;
  std::string request;  // raw bytes; "{TOKEN}" is replaced by a valid token
  int status;           // 0: any 4xx
  const char* code;     // "" = any code
};

std::string Post(const std::string& path, const std::string& type, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
         "Authorization: Token {TOKEN}\r\nContent-Type: " + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
         "Authorization: Token {TOKEN}\r\n" + extra_headers + "\r\n";
}

std::string Method(const std::string& method, const std::string& path) {
  return method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" +
         "Content-Length: 0\r\n\r\n";
}

const std::string kJson = "application/json";
const std::string kForm = "application/x-www-form-urlencoded";
const std::string kSend = "/api/v1/phone/send-otp";
const std::string kVerify = "/api/v1/phone/verify-otp";
const std::string kSignup = "/api/v1/accounts";
const std::string kNul("\0", 1);

std::vector<Row> Rows() {
  return {
      // wrong methods
      {"PATCH on send-otp", Method("PATCH", kSend), 405, "method_not_allowed"},
      {"DELETE on accounts", Method("DELETE", kSignup), 405, "method_not_allowed"},
      {"OPTIONS on verify-otp", Method("OPTIONS", kVerify), 405, "method_not_allowed"},
      {"TRACE (nginx refuses it)", Method("TRACE", "/healthz"), 405, "method_not_allowed"},
      {"made-up method", Method("BREW", "/api/v1/me"), 405, "method_not_allowed"},
      {"POST on healthz", Method("POST", "/healthz"), 405, "method_not_allowed"},
      {"lower-case method", Method("get", "/healthz"), 400, ""},
      // sizes and framing
      {"20 KiB header", Get("/healthz", "X-Big: " + std::string(20000, 'a') + "\r\n"), 400,
       "bad_request"},
      {"20 KiB URI", Get("/healthz?" + std::string(20000, 'a')), 414, "uri_too_long"},
      {"7000-byte token",
       "GET /api/v1/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
       "Authorization: Token " + std::string(7000, 'T') + "\r\n\r\n",
       401, "not_authenticated"},
      {"body longer than declared",
       "POST " + kSignup +
           " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json"
           "\r\nContent-Length: 5\r\n\r\n{\"username\":\"abc\",\"password\":\"abcdefgh1\"}",
       400, "invalid_json"},
      {"two Content-Length headers",
       "POST " + kSignup +
           " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 2\r\n"
           "Content-Length: 3\r\n\r\n{}",
       400, "bad_request"},
      {"negative Content-Length",
       "POST " + kSignup + " HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n", 400,
       "bad_request"},
      {"absurd Content-Length",
       "POST " + kSignup +
           " HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
       400, "bad_request"},
      {"declared over 16 KiB",
       "POST " + kSignup +
           " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json"
           "\r\nContent-Length: 100000\r\n\r\n{}",
       413, "body_too_large"},
      {"broken chunked body",
       "POST " + kSignup +
           " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json"
           "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       400, "bad_request"},
      {"no Host in HTTP/1.1", "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", 400,
       "bad_request"},
      {"TLS bytes on the plain port", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"),
       400, "bad_request"},
      {"NUL in a header", Get("/healthz", "X-A: a" + kNul + "b\r\n"), 400, "bad_request"},
      {"NUL in the request line", "GET /heal" + kNul + "thz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "bad_request"},
      // JSON bodies
      {"duplicate phone key", Post(kSend, kJson, R"({"phone":"9841234567","phone":"9851234567"})"),
       400, "invalid_json"},
      {"raw NUL in JSON", Post(kSend, kJson, "{\"phone\":\"984" + kNul + "1234567\"}"), 400,
       "invalid_json"},
      {"escaped NUL in JSON", Post(kSend, kJson, R"({"phone":"984\u00001234567"})"), 400,
       "invalid_json"},
      {"lone surrogate escape", Post(kSend, kJson, R"({"phone":"\udc00"})"), 400, "invalid_json"},
      {"overlong '/' in JSON", Post(kSend, kJson, "{\"phone\":\"\xe0\x80\xaf\"}"), 400,
       "invalid_json"},
      {"overlong NUL in JSON", Post(kSend, kJson, "{\"phone\":\"\xc0\x80\"}"), 400,
       "invalid_json"},
      {"phone as a number", Post(kSend, kJson, R"({"phone":9841234567})"), 400, "invalid_field"},
      {"otp as a number", Post(kVerify, kJson, R"({"phone":"9841234567","otp":123456})"), 400,
       "invalid_field"},
      {"otp as a float string", Post(kVerify, kJson, R"({"phone":"9841234567","otp":"12345.6"})"),
       400, "invalid_field"},
      {"otp in exponent form", Post(kVerify, kJson, R"({"phone":"9841234567","otp":"1e5"})"), 400,
       "invalid_field"},
      {"phone in exponent form", Post(kSend, kJson, R"({"phone":"9.841234567e9"})"), 400,
       "invalid_phone"},
      {"phone as true", Post(kSend, kJson, R"({"phone":true})"), 400, "invalid_field"},
      {"phone as an array", Post(kSend, kJson, R"({"phone":["9841234567"]})"), 400,
       "invalid_field"},
      {"phone as an object", Post(kSend, kJson, R"({"phone":{"n":"9841234567"}})"), 400,
       "invalid_field"},
      {"NaN", Post(kSend, kJson, R"({"phone":NaN})"), 400, "invalid_json"},
      {"comment in JSON", Post(kSend, kJson, R"({"phone":"9841234567" /* hi */})"), 400,
       "invalid_json"},
      {"Latin-1 charset", Post(kSend, kJson + "; charset=iso-8859-1", R"({"phone":"9841234567"})"),
       415, "unsupported_media_type"},
      // forms and query strings
      {"NUL in a form value", Post(kSend, kForm, "phone=984%001234567"), 400, "invalid_field"},
      {"overlong UTF-8 in a form", Post(kSend, kForm, "phone=%C0%AF"), 400, "invalid_field"},
      {"bad %-escape in a form", Post(kSend, kForm, "phone=%G1"), 400, "invalid_field"},
      {"repeated form field", Post(kSend, kForm, "phone=9841234567&phone=9851234567"), 400,
       "invalid_field"},
      {"NUL in the query string", Get("/api/v1/phone/otp?phone=984%001234567"), 400, ""},
      {"overlong UTF-8 in the query", Get("/api/v1/phone/otp?phone=%E0%80%AF"), 400, ""},
      {"repeated query field", Get("/api/v1/phone/otp?phone=9841234567&phone=9851234567"), 400,
       "invalid_field"},
  };
}

BOOST_AUTO_TEST_SUITE(hostile_http)

BOOST_AUTO_TEST_CASE(every_hostile_request_gets_a_4xx_in_the_contract_shape) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  for (Row row : Rows()) {
    BOOST_TEST_CONTEXT(row.name) {
      const size_t at = row.request.find("{TOKEN}");
      if (at != std::string::npos) row.request.replace(at, 7, user.token);
      const RawReply reply = Parse(Exchange(row.request));
      BOOST_TEST((reply.status >= 400 && reply.status < 500), "status " << reply.status);
      if (row.status != 0) BOOST_TEST(reply.status == row.status);
      BOOST_TEST(reply.head.find("content-type: application/json") != std::string::npos);
      BOOST_REQUIRE_MESSAGE(reply.is_json, "body: " << reply.body.substr(0, 200));
      BOOST_TEST(reply.json["status"].asInt() == reply.status);
      BOOST_TEST(!reply.json["code"].asString().empty());
      BOOST_TEST(!reply.json["details"].asString().empty());
      if (*row.code != '\0') BOOST_TEST(reply.json["code"].asString() == row.code);
    }
  }
  // Nothing above hurt the service.
  BOOST_TEST(client.Get("/healthz").status == 200);
  BOOST_TEST(client.Get("/api/v1/me", user.token).status == 200);
}

// A body cut short by a client that then closes: nginx gives up on the request, and
// nothing may reach a handler or answer with a 5xx.
BOOST_AUTO_TEST_CASE(a_body_cut_short_never_reaches_the_application) {
  const std::string name = UniqueName("cut");
  const std::string request =
      "POST /api/v1/accounts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Content-Length: 200\r\nConnection: close\r\n\r\n{\"username\":\"" +
      name + "\",\"password\":\"abcdefgh1\"}";
  const RawReply reply = Parse(Exchange(request, 3000));
  BOOST_TEST((reply.status == 0 || (reply.status >= 400 && reply.status < 500)),
             "status " << reply.status);
  Json::Value login;
  login["username"] = name;
  login["password"] = "abcdefgh1";
  BOOST_TEST(Stack::Get().Client().PostJson("/api/v1/auth/token", login).status == 401);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
