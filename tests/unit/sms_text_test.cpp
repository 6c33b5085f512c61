#include "domain/sms_text.h"

#include <boost/test/unit_test.hpp>
#include <vector>

namespace phoneverify::domain {
namespace {

constexpr Language kLanguages[] = {Language::kEnglish, Language::kNepali};

// Every lifetime where the rendering changes shape, the config's extremes (1 s and
// 10^9 s) and their neighbours.
std::vector<int64_t> EdgeLifetimes() {
  std::vector<int64_t> ttl = {1,     9,     10,     59,     60,     61,        99,
                              100,   119,   120,    599,    600,    999,       1000,
                              3599,  3600,  3601,   3660,   7199,   7200,      35999,
                              36000, 86340, 86399,  86400,  86401,  359999,    360000,
                              3599999, 3600000, 35999999, 36000000, 359999999, 360000000,
                              999996400, 999999999, 1000000000};
  return ttl;
}

std::string Code(int digits) { return std::string("0123456789").substr(0, digits); }

BOOST_AUTO_TEST_SUITE(sms_text)

BOOST_AUTO_TEST_CASE(text_names_the_code_and_its_lifetime) {
  const std::string text = VerificationSmsText("042917", 300);
  BOOST_TEST(text.find("042917") != std::string::npos);
  BOOST_TEST(text.find("5 minutes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(nepali_text_names_the_code_in_ascii_digits_and_the_lifetime) {
  const std::string text = VerificationSmsText("042917", 300, Language::kNepali);
  BOOST_TEST(text.find("042917") != std::string::npos);
  BOOST_TEST(text.find("५ मिनेट") != std::string::npos, text);
  BOOST_TEST(text.find("कोड") != std::string::npos);
  BOOST_TEST(text != VerificationSmsText("042917", 300, Language::kEnglish));
}

BOOST_AUTO_TEST_CASE(english_is_the_default_language) {
  BOOST_TEST(VerificationSmsText("1234", 60) ==
             VerificationSmsText("1234", 60, Language::kEnglish));
}

BOOST_AUTO_TEST_CASE(durations_read_naturally) {
  BOOST_TEST(DescribeDuration(60) == "1 minute");
  BOOST_TEST(DescribeDuration(300) == "5 minutes");
  BOOST_TEST(DescribeDuration(90) == "90 seconds");
  BOOST_TEST(DescribeDuration(1) == "1 second");
  BOOST_TEST(DescribeDuration(7200) == "2 hours");
  BOOST_TEST(DescribeDuration(3599) == "3599 seconds");
}

BOOST_AUTO_TEST_CASE(long_odd_durations_are_rounded_down_never_up) {
  BOOST_TEST(DescribeDuration(3601) == "60 minutes");
  BOOST_TEST(DescribeDuration(86399) == "1439 minutes");
  BOOST_TEST(DescribeDuration(86401) == "24 hours");
  BOOST_TEST(DescribeDuration(1'000'000'000) == "277777 hours");
}

BOOST_AUTO_TEST_CASE(nepali_durations_use_devanagari_digits) {
  BOOST_TEST(DescribeDuration(60, Language::kNepali) == "१ मिनेट");
  BOOST_TEST(DescribeDuration(90, Language::kNepali) == "९० सेकेन्ड");
  BOOST_TEST(DescribeDuration(7200, Language::kNepali) == "२ घण्टा");
  BOOST_TEST(LocalizedNumber(1234567890, Language::kNepali) == "१२३४५६७८९०");
  BOOST_TEST(LocalizedNumber(42, Language::kEnglish) == "42");
}

BOOST_AUTO_TEST_CASE(measure_counts_gsm7_septets_and_ucs2_units) {
  BOOST_TEST(MeasureSms("abc 123.").gsm7);
  BOOST_TEST(MeasureSms("abc 123.").units == 8u);
  BOOST_TEST(MeasureSms("a[b]").units == 6u);  // escape characters take two septets
  BOOST_TEST(!MeasureSms("a`b").gsm7);
  const SmsSize nepali = MeasureSms("कोड १२");
  BOOST_TEST(!nepali.gsm7);
  BOOST_TEST(nepali.units == 6u);
  BOOST_TEST(nepali.single_message_limit() == 70u);
  BOOST_TEST(MeasureSms("\xF0\x9F\x98\x80").units == 2u);  // outside the BMP: a surrogate pair
}

// The contract: one SMS whatever the config says. Every template and every code length
// with the edge lifetimes; the longest code with every lifetime up to 28 hours.
BOOST_AUTO_TEST_CASE(every_template_fits_one_message_for_the_longest_values) {
  size_t longest[2] = {0, 0};
  for (Language language : kLanguages) {
    const int index = language == Language::kNepali ? 1 : 0;
    for (int digits = 4; digits <= 10; ++digits) {
      std::vector<int64_t> lifetimes = EdgeLifetimes();
      for (int64_t ttl = 1; digits == 10 && ttl <= 28 * 3600; ++ttl) lifetimes.push_back(ttl);
      for (int64_t ttl : lifetimes) {
        const std::string text = VerificationSmsText(Code(digits), ttl, language);
        const SmsSize size = MeasureSms(text);
        if (!size.fits_one_message() || size.gsm7 != (language == Language::kEnglish)) {
          BOOST_FAIL("does not fit one " << (size.gsm7 ? "GSM-7" : "UCS-2")
                                         << " message (" << size.units << "): " << text);
        }
        longest[index] = std::max(longest[index], size.units);
      }
    }
  }
  BOOST_TEST_MESSAGE("longest SMS: English " << longest[0] << "/160 GSM-7, Nepali "
                                             << longest[1] << "/70 UCS-2");
  BOOST_TEST(longest[0] <= 160u);
  BOOST_TEST(longest[1] <= 70u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
