#include "http/cookies.h"

#include <boost/test/unit_test.hpp>

namespace phoneverify::http {
namespace {

BOOST_AUTO_TEST_SUITE(http_cookies)

BOOST_AUTO_TEST_CASE(finds_a_cookie_among_others) {
  const std::string header = "a=1; pv_session=abc123;pv_lang=ne ;  other=x=y";
  BOOST_TEST(CookieValue(header, "pv_session").value_or("?") == "abc123");
  BOOST_TEST(CookieValue(header, "pv_lang").value_or("?") == "ne");
  BOOST_TEST(CookieValue(header, "other").value_or("?") == "x=y");
  BOOST_TEST(!CookieValue(header, "pv").has_value());
  BOOST_TEST(!CookieValue("", "a").has_value());
  BOOST_TEST(!CookieValue("garbage", "garbage").has_value());
}

BOOST_AUTO_TEST_CASE(the_first_of_two_same_names_wins_and_quotes_go) {
  BOOST_TEST(CookieValue("x=1; x=2", "x").value_or("?") == "1");
  BOOST_TEST(CookieValue("x=\"quoted\"", "x").value_or("?") == "quoted");
  BOOST_TEST(CookieValue("x=", "x").value_or("?") == "");
}

BOOST_AUTO_TEST_CASE(set_cookie_carries_the_safety_attributes) {
  CookieAttributes attributes;
  BOOST_TEST(SetCookieValue("s", "v", attributes) == "s=v; Path=/; HttpOnly; SameSite=Lax");
  attributes.secure = true;
  attributes.max_age = 60;
  BOOST_TEST(SetCookieValue("s", "v", attributes) ==
             "s=v; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax");
  attributes.max_age = 0;
  BOOST_TEST(SetCookieValue("s", "", attributes).find("Max-Age=0") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::http
