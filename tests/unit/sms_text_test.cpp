#include "domain/sms_text.h"

#include <boost/test/unit_test.hpp>

namespace phoneverify::domain {
namespace {

BOOST_AUTO_TEST_SUITE(sms_text)

BOOST_AUTO_TEST_CASE(text_names_the_code_and_its_lifetime) {
  const std::string text = VerificationSmsText("042917", 300);
  BOOST_TEST(text.find("042917") != std::string::npos);
  BOOST_TEST(text.find("5 minutes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(durations_read_naturally) {
  BOOST_TEST(DescribeDuration(60) == "1 minute");
  BOOST_TEST(DescribeDuration(300) == "5 minutes");
  BOOST_TEST(DescribeDuration(90) == "90 seconds");
  BOOST_TEST(DescribeDuration(1) == "1 second");
  BOOST_TEST(DescribeDuration(7200) == "2 hours");
}

BOOST_AUTO_TEST_CASE(longest_text_fits_one_gsm7_message) {
  // Longest code (10 digits) with the longest rendering of a lifetime.
  const std::string text = VerificationSmsText("0123456789", 86399);
  BOOST_TEST(text.size() <= 160u);
  for (char c : text) BOOST_TEST((c >= 0x20 && c < 0x7f));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
