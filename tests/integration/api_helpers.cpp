#include "api_helpers.h"

#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <thread>

namespace phoneverify::itest {
namespace {

std::atomic<int> g_counter{0};

}  // namespace

std::string UniqueName(const std::string& prefix) {
  return prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++g_counter);
}

std::string UniquePhone(const std::string& prefix) {
  // The database is fresh every run, so a per-run counter is unique.
  static std::atomic<int> phones{0};
  return prefix + std::to_string(1000000 + ++phones);
}

TestUser NewUser(const HttpClient& client) {
  TestUser user{UniqueName("user"), "pw-" + UniqueName("secret"), "", 0};
  Json::Value body;
  body["username"] = user.username;
  body["password"] = user.password;
  auto created = client.PostJson("/api/v1/accounts", body);
  BOOST_REQUIRE_EQUAL(created.status, 201);
  user.id = created.json["id"].asInt64();
  auto token = client.PostJson("/api/v1/auth/token", body);
  BOOST_REQUIRE_EQUAL(token.status, 200);
  user.token = token.json["token"].asString();
  BOOST_REQUIRE(!user.token.empty());
  return user;
}

std::string InDevanagari(const std::string& ascii) {
  std::string out;
  for (char c : ascii) {
    if (c < '0' || c > '9') {
      out.push_back(c);
      continue;
    }
    out += "\xe0\xa5";  // U+0966 (०) + digit
    out.push_back(static_cast<char>(0xa6 + (c - '0')));
  }
  return out;
}

size_t SmsCountFor(const std::string& phone) {
  size_t n = 0;
  for (const auto& r : Stack::Get().Sparrow().Requests()) n += r.to == phone;
  return n;
}

std::string WaitForCode(const std::string& phone, size_t n) {
  for (int i = 0; i < 200; ++i) {
    size_t seen = 0;
    for (const auto& r : Stack::Get().Sparrow().Requests()) {
      if (r.to != phone || ++seen != n) continue;
      // The code is the first run of ASCII digits, in English and in Nepali texts.
      const size_t at = r.text.find_first_of("0123456789");
      if (at == std::string::npos) return "";
      const size_t end = r.text.find_first_not_of("0123456789", at);
      return r.text.substr(at, end - at);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

std::string SendAndReceive(const HttpClient& client, const TestUser& user,
                           const std::string& phone) {
  const size_t before = SmsCountFor(phone);
  Json::Value body;
  body["phone"] = phone;
  auto sent = client.PostJson("/api/v1/phone/send-otp", body, user.token);
  BOOST_REQUIRE_EQUAL(sent.status, 202);
  std::string code = WaitForCode(phone, before + 1);
  BOOST_REQUIRE_MESSAGE(!code.empty(), "no SMS reached the fake gateway for " << phone);
  return code;
}

std::string WrongCode(const std::string& code) {
  std::string wrong = code;
  if (!wrong.empty()) wrong[0] = code[0] == '9' ? '0' : static_cast<char>(code[0] + 1);
  return wrong;
}

}  // namespace phoneverify::itest
