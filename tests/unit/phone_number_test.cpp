#include "domain/phone_number.h"

#include <boost/test/unit_test.hpp>

#include "util/config.h"

namespace phoneverify::domain {
namespace {

const std::vector<std::string> kDefaultPrefixes = util::Config().allowed_prefixes;

std::string Normalised(const std::string& input) {
  auto parsed = PhoneNumber::Parse(input, kDefaultPrefixes);
  BOOST_TEST_INFO("input: " << input);
  BOOST_REQUIRE(parsed.ok());
  return parsed.value().national();
}

BOOST_AUTO_TEST_SUITE(phone_number)

BOOST_AUTO_TEST_CASE(every_default_prefix_is_accepted_with_its_operator) {
  const std::map<std::string, std::string> expected = {
      {"984", "NTC"},   {"985", "NTC"},   {"986", "NTC"},   {"974", "NTC"},  {"975", "NTC"},
      {"976", "NTC"},   {"980", "Ncell"}, {"981", "Ncell"}, {"982", "Ncell"}};
  BOOST_REQUIRE_EQUAL(kDefaultPrefixes.size(), expected.size());
  for (const auto& [prefix, op] : expected) {
    auto parsed = PhoneNumber::Parse(prefix + "1234567", kDefaultPrefixes);
    BOOST_REQUIRE_MESSAGE(parsed.ok(), prefix);
    BOOST_TEST(parsed.value().national() == prefix + "1234567");
    BOOST_TEST(parsed.value().Operator() == op);
  }
}

BOOST_AUTO_TEST_CASE(prefixes_outside_the_list_are_rejected) {
  for (const char* p : {"961", "962", "988", "972", "970", "983", "987", "990", "977", "014"}) {
    auto parsed = PhoneNumber::Parse(std::string(p) + "1234567", kDefaultPrefixes);
    BOOST_TEST_INFO(p);
    BOOST_REQUIRE(!parsed.ok());
    BOOST_TEST(parsed.error().code == "invalid_phone");
    BOOST_TEST(parsed.error().field == "phone");
  }
}

BOOST_AUTO_TEST_CASE(configured_extra_prefixes_are_accepted) {
  std::vector<std::string> prefixes = kDefaultPrefixes;
  prefixes.insert(prefixes.end(), {"961", "962", "988"});
  auto parsed = PhoneNumber::Parse("9881234567", prefixes);
  BOOST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed.value().Operator() == "Smart Cell");
}

BOOST_AUTO_TEST_CASE(every_accepted_format_normalises_to_ten_digits) {
  for (const char* input :
       {"9841234567", "+9779841234567", "9779841234567", "009779841234567", "984 123 4567",
        "984-123-4567", "+977 984-1234567", "00977 984 1234 567", " 9841234567 "}) {
    BOOST_TEST(Normalised(input) == "9841234567");
  }
}

BOOST_AUTO_TEST_CASE(junk_is_rejected) {
  for (const char* input :
       {"", "984123456", "98412345678", "+9841234567", "+009779841234567", "9841234567a",
        "98412345６7", "984.123.4567", "(984)1234567", "977984123456", "0097798412345678",
        "++9779841234567", "9841234567; DROP TABLE accounts", "' OR 1=1 --",
        "98412\x00" "34567", "+", "----------", "9779841234567+"}) {
    BOOST_TEST_INFO(input);
    BOOST_TEST(!PhoneNumber::Parse(input, kDefaultPrefixes).ok());
  }
  BOOST_TEST(!PhoneNumber::Parse(std::string(1000, '9'), kDefaultPrefixes).ok());
}

BOOST_AUTO_TEST_CASE(devanagari_digits_are_read_as_digits_in_every_format) {
  for (const char* input :
       {"९८४१२३४५६७", "+९७७९८४१२३४५६७", "९७७९८४१२३४५६७", "००९७७९८४१२३४५६७", "९८४ १२३ ४५६७",
        "९८४-१२३-४५६७", "+977 ९८४-१२३४५६७", "98४१2३4५6७", "00977 ९८४ १२३४ ५६७"}) {
    BOOST_TEST(Normalised(input) == "9841234567");
  }
  // Stored, returned and sent: ASCII.
  BOOST_TEST(PhoneNumber::Parse("९८०१२३४५७८", kDefaultPrefixes).value().Masked() ==
             "98******78");
}

BOOST_AUTO_TEST_CASE(devanagari_numbers_follow_the_same_rules_and_other_scripts_stay_refused) {
  for (const char* input :
       {"९८४१२३४५६", "९८४१२३४५६७८", "९८३१२३४५६७",  // too short, too long, prefix not allowed
        "٩٨٤١٢٣٤٥٦٧",                               // Arabic-Indic
        "۹۸۴۱۲۳۴۵۶۷",                               // Extended Arabic-Indic
        "９８４１２３４５６７",                       // full-width
        "৯৮৪১২৩৪৫৬৭",                               // Bengali
        "९८४१२३४५६७॰", "+९७७+९८४१२३४५६७"}) {
    BOOST_TEST_INFO(input);
    auto parsed = PhoneNumber::Parse(input, kDefaultPrefixes);
    BOOST_REQUIRE(!parsed.ok());
    BOOST_TEST(parsed.error().code == "invalid_phone");
  }
  std::string long_devanagari;
  for (int i = 0; i < 41; ++i) long_devanagari += "९";
  BOOST_TEST(!PhoneNumber::Parse(long_devanagari, kDefaultPrefixes).ok());
}

BOOST_AUTO_TEST_CASE(masking_keeps_two_digits_at_each_end) {
  BOOST_TEST(MaskPhone("9841234578") == "98******78");
  BOOST_TEST(Normalised("9801234578") == "9801234578");
  BOOST_TEST(PhoneNumber::Parse("9801234578", kDefaultPrefixes).value().Masked() ==
             "98******78");
  BOOST_TEST(MaskPhone("123") == "***");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
