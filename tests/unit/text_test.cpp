// util/text: the one IsAsciiDigits, the one UTF-8 check, Devanagari digit folding.
#include "util/text.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace phoneverify::util {
namespace {

// ० is U+0966; the digit d is U+0966 + d, three bytes in UTF-8.
std::string Devanagari(int d) { return std::string("\xe0\xa5") + static_cast<char>(0xa6 + d); }

BOOST_AUTO_TEST_SUITE(text)

BOOST_AUTO_TEST_CASE(every_devanagari_digit_folds_to_its_ascii_digit) {
  for (int d = 0; d <= 9; ++d) {
    BOOST_TEST(FoldDevanagariDigits(Devanagari(d)) == std::string(1, static_cast<char>('0' + d)));
  }
  BOOST_TEST(FoldDevanagariDigits("०१२३४५६७८९") == "0123456789");
}

BOOST_AUTO_TEST_CASE(mixed_digits_and_other_text_keep_their_order) {
  BOOST_TEST(FoldDevanagariDigits("+९७७ 98४-१२३4५६७") == "+977 984-1234567");
  BOOST_TEST(FoldDevanagariDigits("") == "");
  BOOST_TEST(FoldDevanagariDigits("नमस्ते") == "नमस्ते");  // Devanagari letters stay
}

BOOST_AUTO_TEST_CASE(lookalike_digits_of_other_scripts_are_not_folded) {
  for (const char* other : {"٤",     // Arabic-Indic four U+0664
                            "۴",     // Extended Arabic-Indic four U+06F4
                            "４",    // full-width four U+FF14
                            "৪",     // Bengali four U+09EA
                            "४",     // (control: Devanagari four folds)
                            "॰",     // Devanagari abbreviation sign U+0970, just past nine
                            "॥"}) {  // Devanagari double danda U+0965, just before zero
    const std::string folded = FoldDevanagariDigits(other);
    BOOST_TEST_INFO(other);
    if (std::string(other) == "४") {
      BOOST_TEST(folded == "4");
    } else {
      BOOST_TEST(folded == other);
      BOOST_TEST(!IsAsciiDigits(folded));
    }
  }
}

BOOST_AUTO_TEST_CASE(truncated_sequences_are_kept_as_bytes) {
  BOOST_TEST(FoldDevanagariDigits("\xe0\xa5") == "\xe0\xa5");
  BOOST_TEST(FoldDevanagariDigits("1\xe0") == "1\xe0");
}

BOOST_AUTO_TEST_CASE(ascii_digits_are_only_0_to_9_and_never_empty) {
  BOOST_TEST(IsAsciiDigits("0123456789"));
  BOOST_TEST(!IsAsciiDigits(""));
  BOOST_TEST(!IsAsciiDigits("12a"));
  BOOST_TEST(!IsAsciiDigits(" 1"));
  BOOST_TEST(!IsAsciiDigits("१२"));
}

BOOST_AUTO_TEST_CASE(utf8_validator) {
  BOOST_TEST(IsValidUtf8(""));
  BOOST_TEST(IsValidUtf8("plain ascii"));
  BOOST_TEST(IsValidUtf8("९८४"));
  BOOST_TEST(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  BOOST_TEST(IsValidUtf8("\xef\xbf\xbd"));
  BOOST_TEST(!IsValidUtf8("\x80"));
  BOOST_TEST(!IsValidUtf8("\xc1\xbf"));
  BOOST_TEST(!IsValidUtf8("\xe2\x82"));
  BOOST_TEST(!IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  BOOST_TEST(!IsValidUtf8("\xf8\x88\x80\x80\x80"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::util
