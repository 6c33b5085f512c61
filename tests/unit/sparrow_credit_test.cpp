#include "sms/sparrow_credit.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace phoneverify::sms {
namespace {

BOOST_AUTO_TEST_SUITE(sparrow_credit)

BOOST_AUTO_TEST_CASE(a_200_reply_gives_the_credits_and_the_other_fields) {
  auto credit = InterpretCreditReply(
      200, R"({"credits_available": 1234, "last_balance_added": 5000,)"
           R"( "last_balance_added_on": "2024-01-01 00:00:00", "response_code": 200})");
  BOOST_REQUIRE(credit.ok());
  BOOST_TEST(credit.value().credits_available == 1234);
  BOOST_REQUIRE(credit.value().details.size() == 2u);
  bool saw_date = false;
  for (const auto& [name, value] : credit.value().details) {
    BOOST_TEST(name != "response_code");
    saw_date = saw_date || (name == "last_balance_added_on" && value == "2024-01-01 00:00:00");
  }
  BOOST_TEST(saw_date);
}

BOOST_AUTO_TEST_CASE(numeric_strings_are_accepted) {
  auto credit = InterpretCreditReply(200, R"({"credits_available": "77"})");
  BOOST_REQUIRE(credit.ok());
  BOOST_TEST(credit.value().credits_available == 77);
}

BOOST_AUTO_TEST_CASE(sparrow_errors_are_refusals_naming_the_code) {
  auto refused =
      InterpretCreditReply(403, R"({"response_code": 1002, "response": "Invalid Token"})");
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.error().kind == util::ErrorKind::kForbidden));
  BOOST_TEST(refused.error().details == "sparrow 1002: Invalid Token");
}

BOOST_AUTO_TEST_CASE(server_trouble_and_garbage_are_unavailable) {
  for (long status : {500L, 502L, 408L, 429L}) {
    auto reply = InterpretCreditReply(status, "oops");
    BOOST_REQUIRE(!reply.ok());
    BOOST_TEST((reply.error().kind == util::ErrorKind::kUnavailable), status);
  }
  auto garbage = InterpretCreditReply(200, "<html>");
  BOOST_REQUIRE(!garbage.ok());
  BOOST_TEST((garbage.error().kind == util::ErrorKind::kUnavailable));
  auto not_found = InterpretCreditReply(404, "{}");
  BOOST_REQUIRE(!not_found.ok());
  BOOST_TEST((not_found.error().kind == util::ErrorKind::kInternal));
}

BOOST_AUTO_TEST_CASE(a_deeply_nested_reply_is_unreadable_not_fatal) {
  // Past jsoncpp's stack limit the parser throws; the gateway learnt that from fuzzing,
  // and the credit query reads its replies through the same parser now.
  const std::string nested = std::string(5000, '[') + std::string(5000, ']');
  auto reply = InterpretCreditReply(200, nested);
  BOOST_REQUIRE(!reply.ok());
  BOOST_TEST((reply.error().kind == util::ErrorKind::kUnavailable));
}

BOOST_AUTO_TEST_CASE(long_gateway_text_is_cut_on_a_utf8_boundary) {
  std::string text = "x";
  for (int i = 0; i < 100; ++i) text += "\u0928";  // each 3 bytes in UTF-8
  auto refused = InterpretCreditReply(403, R"({"response_code": 1002, "response": ")" + text + R"("})");
  BOOST_REQUIRE(!refused.ok());
  const std::string& details = refused.error().details;
  BOOST_TEST(details.size() < 140u);
  BOOST_TEST(details.substr(details.size() - 3) == "...");
  // "sparrow 1002: x" then whole characters only: 14 + 1 + 3k bytes before the "...".
  BOOST_TEST((details.size() - 3 - 15) % 3 == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::sms
