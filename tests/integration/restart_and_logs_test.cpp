// A restart keeps data; no code, password or token ever reaches a log file.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api_helpers.h"

namespace phoneverify::itest {
namespace {

std::string ReadAllLogs(const std::string& var_dir) {
  std::string all;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(var_dir + "/log")) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    all += ss.str();
  }
  return all;
}

BOOST_AUTO_TEST_SUITE(restart_and_logs)

BOOST_AUTO_TEST_CASE(logs_never_hold_secrets_and_mask_phones) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("981");
  const std::string code = SendAndReceive(client, user, phone);
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/verify-otp",
                                      [&] {
                                        Json::Value b;
                                        b["phone"] = phone;
                                        b["otp"] = code;
                                        return b;
                                      }(),
                                      user.token)
                          .status,
                      200);
  const std::string logs = ReadAllLogs(Stack::Get().var_dir());
  BOOST_REQUIRE(logs.size() > 0u);
  BOOST_TEST(logs.find(user.password) == std::string::npos);
  BOOST_TEST(logs.find(user.token) == std::string::npos);
  BOOST_TEST(logs.find("itest-sparrow-token-5c1f") == std::string::npos);
  BOOST_TEST(logs.find(phone) == std::string::npos);
  BOOST_TEST(logs.find("code: " + code) == std::string::npos);
  BOOST_TEST(logs.find(phone.substr(0, 2) + "******" + phone.substr(8)) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_restart_keeps_accounts_tokens_and_verified_phones) {
  auto client = Stack::Get().Client();
  TestUser user = NewUser(client);
  const std::string phone = UniquePhone("982");
  const std::string code = SendAndReceive(client, user, phone);
  Json::Value b;
  b["phone"] = phone;
  b["otp"] = code;
  BOOST_REQUIRE_EQUAL(client.PostJson("/api/v1/phone/verify-otp", b, user.token).status, 200);
  Stack::Get().RestartAll();
  auto me = Stack::Get().Client().Get("/api/v1/me", user.token);
  BOOST_REQUIRE_EQUAL(me.status, 200);
  BOOST_TEST(me.json["phone"].asString() == phone);
  BOOST_TEST(me.json["phone_verified"].asBool());
  Json::Value login;
  login["username"] = user.username;
  login["password"] = user.password;
  BOOST_TEST(Stack::Get().Client().PostJson("/api/v1/auth/token", login).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::itest
