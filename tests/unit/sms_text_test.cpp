#include "domain/sms_text.h"

#include <boost/test/unit_test.hpp>
#include <vector>

#include "util/config.h"

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

// Contract section 7 "SMS text": brand, app_hash line, WebOTP line last.
BOOST_AUTO_TEST_SUITE(sms_text_options)

const std::string kHash = "FA+9qCX9VSu";  // an SMS Retriever hash: 11 characters

SmsTextOptions Options(std::string brand, std::string app_hash = "",
                       std::string public_host = "") {
  SmsTextOptions options;
  options.brand = std::move(brand);
  options.app_hash = std::move(app_hash);
  options.public_host = std::move(public_host);
  return options;
}

// The worst case the brand check promises: longest brand (escape characters take two
// septets), code and host, the app_hash.
SmsTextOptions Longest(const std::string& brand) {
  return Options(brand, kHash, std::string(util::kMaxPublicHostChars - 4, 'h') + ".com");
}

std::string LastLine(const std::string& text) { return text.substr(text.rfind('\n') + 1); }

BOOST_AUTO_TEST_CASE(first_line_is_brand_code_then_app_hash_then_webotp_line_last) {
  const std::string text = VerificationSmsText("042917", 300, Language::kEnglish,
                                               Options("Acme Shop", kHash, "shop.example.np"));
  BOOST_TEST(text.rfind("Acme Shop code: 042917. It expires in 5 minutes.", 0) == 0u, text);
  BOOST_TEST(LastLine(text) == "@shop.example.np #042917");
  BOOST_TEST(text.find("\n" + kHash + "\n@shop.example.np #042917") != std::string::npos);
  const std::string nepali = VerificationSmsText("042917", 300, Language::kNepali,
                                                 Options("Acme Shop", kHash, "shop.example.np"));
  BOOST_TEST(nepali.rfind("Acme Shop कोड: 042917। म्याद ५ मिनेट", 0) == 0u, nepali);
  BOOST_TEST(LastLine(nepali) == "@shop.example.np #042917");
}

BOOST_AUTO_TEST_CASE(no_extra_lines_without_app_hash_or_public_host) {
  const std::string text = VerificationSmsText("1234", 60, Language::kEnglish, Options("Acme"));
  BOOST_TEST(text.find('\n') == std::string::npos, text);
  BOOST_TEST(text.find('@') == std::string::npos);
  const std::string host_only =
      VerificationSmsText("1234", 60, Language::kEnglish, Options("Acme", "", "a.np"));
  BOOST_TEST(host_only == "Acme code: 1234. It expires in 1 minute. Do not share it with anyone."
                          "\n@a.np #1234");
}

BOOST_AUTO_TEST_CASE(the_account_api_text_is_the_default_brand_without_extra_lines) {
  for (Language language : kLanguages) {
    BOOST_TEST(VerificationSmsText("123456", 300, language) ==
               VerificationSmsText("123456", 300, language, SmsTextOptions()));
  }
  BOOST_TEST(VerificationSmsText("123456", 300).rfind("phoneverify code: 123456", 0) == 0u);
  // An empty brand (never stored: "" unsets it) falls back to the default.
  BOOST_TEST(VerificationSmsText("123456", 300, Language::kEnglish, Options("")) ==
             VerificationSmsText("123456", 300));
}

BOOST_AUTO_TEST_CASE(english_longest_case_is_one_gsm7_message) {
  size_t longest = 0;
  for (const std::string& brand : {std::string(20, 'W'), std::string(20, '[')}) {
    for (int64_t ttl : EdgeLifetimes()) {
      const std::string text = VerificationSmsText(Code(10), ttl, Language::kEnglish,
                                                   Longest(brand));
      const SmsSize size = MeasureSms(text);
      BOOST_TEST(size.gsm7, text);
      BOOST_TEST(size.units <= 160u, size.units << ": " << text);
      BOOST_TEST(LastLine(text) == "@" + Longest(brand).public_host + " #0123456789");
      BOOST_TEST(text.find(DescribeDuration(ttl)) != std::string::npos, text);
      longest = std::max(longest, size.units);
    }
  }
  BOOST_TEST_MESSAGE("longest English SMS with app_hash and public_host: " << longest
                                                                           << "/160 GSM-7");
  // The full warning could not fit: the wording was shortened rather than overflow.
  const std::string worst =
      VerificationSmsText(Code(10), 999'999'999, Language::kEnglish, Longest(std::string(20, '[')));
  BOOST_TEST(worst.find("with anyone") == std::string::npos, worst);
}

BOOST_AUTO_TEST_CASE(nepali_longest_case_is_one_message_bare_and_two_with_extra_lines) {
  size_t longest_bare = 0, longest_extra = 0;
  const std::string brand(20, 'W');
  for (int64_t ttl : EdgeLifetimes()) {
    const std::string bare = VerificationSmsText(Code(10), ttl, Language::kNepali, Options(brand));
    const SmsSize bare_size = MeasureSms(bare);
    BOOST_TEST(!bare_size.gsm7);
    BOOST_TEST(bare_size.units <= 70u, bare_size.units << ": " << bare);
    BOOST_TEST(bare.find(DescribeDuration(ttl, Language::kNepali)) != std::string::npos, bare);
    const std::string extra =
        VerificationSmsText(Code(10), ttl, Language::kNepali, Longest(brand));
    const SmsSize extra_size = MeasureSms(extra);
    BOOST_TEST(extra_size.units <= kTwoUcs2Messages, extra_size.units << ": " << extra);
    BOOST_TEST(LastLine(extra) == "@" + Longest(brand).public_host + " #0123456789");
    longest_bare = std::max(longest_bare, bare_size.units);
    longest_extra = std::max(longest_extra, extra_size.units);
  }
  BOOST_TEST_MESSAGE("longest Nepali SMS: " << longest_bare << "/70 UCS-2 bare, "
                                            << longest_extra
                                            << "/134 with app_hash and public_host");
}

BOOST_AUTO_TEST_CASE(nepali_wording_is_shortened_before_a_second_message) {
  // The default brand with a common code: the full wording fits one message.
  const std::string full = VerificationSmsText("123456", 300, Language::kNepali);
  BOOST_TEST(full.find("कसैलाई नदिनुहोस्") != std::string::npos, full);
  // A 20-character brand and a 10-digit code: the warning goes, the lifetime stays.
  const std::string brand(20, 'W');
  const std::string shortened =
      VerificationSmsText(Code(10), 999'999'999, Language::kNepali, Options(brand));
  BOOST_TEST(shortened.find("कसैलाई") == std::string::npos, shortened);
  BOOST_TEST(shortened.find("२७७७७७ घण्टा") != std::string::npos, shortened);
  // With short extra lines the shorter wording keeps it to one message.
  const std::string one = VerificationSmsText("123456", 300, Language::kNepali,
                                              Options("ab", kHash, "x.np"));
  BOOST_TEST(one.find("कसैलाई") == std::string::npos, one);
  BOOST_TEST(MeasureSms(one).units <= 70u, MeasureSms(one).units << ": " << one);
  BOOST_TEST(MeasureSms(one).units > 0u);
}

BOOST_AUTO_TEST_CASE(brand_check_accepts_up_to_20_gsm7_characters) {
  for (const std::string& brand : std::vector<std::string>{"Acme", "Acme Shop", "a-b_c.d!@#$%&*()+=?",
                                                         std::string(20, 'W'),
                                                         std::string(20, '[')}) {
    const util::Status status = CheckBrand(brand);
    BOOST_TEST(status.ok(), brand << ": " << (status.ok() ? "" : status.error().details));
  }
}

BOOST_AUTO_TEST_CASE(brand_check_refuses_long_non_gsm7_and_blank_brands_naming_the_limit) {
  const util::Status too_long = CheckBrand(std::string(21, 'W'));
  BOOST_REQUIRE(!too_long.ok());
  BOOST_TEST(too_long.error().details.find("20") != std::string::npos, too_long.error().details);
  BOOST_TEST(too_long.error().field == "brand");
  for (const std::string& brand :
       {std::string(""), std::string("caf\xC3\xA9"), std::string("a`b"), std::string("a\tb"),
        std::string("a\nb"), std::string(" Acme"), std::string("Acme "),
        std::string("\xE0\xA4\x95")}) {
    const util::Status status = CheckBrand(brand);
    BOOST_TEST(!status.ok(), "accepted: " << brand);
    if (!status.ok()) BOOST_TEST((status.error().kind == util::ErrorKind::kInvalidInput));
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::domain
