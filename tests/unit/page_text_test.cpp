// The pages' two languages: the choice between them, a complete catalogue, and templates
// that only ask for texts the catalogue has.
#include "handlers/page_text.h"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "handlers/page_handlers.h"

namespace phoneverify::handlers {
namespace {

using domain::Language;

constexpr Language kEn = Language::kEnglish;
constexpr Language kNe = Language::kNepali;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

BOOST_AUTO_TEST_SUITE(page_text)

BOOST_AUTO_TEST_CASE(english_is_the_default) {
  BOOST_TEST((ChooseLanguage("", "", "") == kEn));
  BOOST_TEST((ChooseLanguage("", "", "fr-FR,de;q=0.8") == kEn));
  BOOST_TEST((ChooseLanguage("xx", "yy", "*") == kEn));
}

BOOST_AUTO_TEST_CASE(accept_language_picks_the_best_quality) {
  BOOST_TEST((ChooseLanguage("", "", "ne") == kNe));
  BOOST_TEST((ChooseLanguage("", "", "ne-NP") == kNe));
  BOOST_TEST((ChooseLanguage("", "", "NE-np, en;q=0.5") == kNe));
  BOOST_TEST((ChooseLanguage("", "", "en-US,en;q=0.9,ne;q=0.8") == kEn));
  BOOST_TEST((ChooseLanguage("", "", "en;q=0.4, ne;q=0.9") == kNe));
  BOOST_TEST((ChooseLanguage("", "", "hi-IN,ne;q=0.7,en;q=0.3") == kNe));
  BOOST_TEST((ChooseLanguage("", "", "ne;q=0, en;q=0.1") == kEn));
  BOOST_TEST((ChooseLanguage("", "", "ne;q=0") == kEn));
  BOOST_TEST((ChooseLanguage("", "", "ne;q=banana, en;q=0.2") == kEn));
}

BOOST_AUTO_TEST_CASE(equal_qualities_go_to_the_first_listed) {
  BOOST_TEST((ChooseLanguage("", "", "ne, en") == kNe));
  BOOST_TEST((ChooseLanguage("", "", "en, ne") == kEn));
}

BOOST_AUTO_TEST_CASE(an_explicit_choice_wins_parameter_then_cookie) {
  BOOST_TEST((ChooseLanguage("ne", "en", "en") == kNe));
  BOOST_TEST((ChooseLanguage("en", "ne", "ne") == kEn));
  BOOST_TEST((ChooseLanguage("", "ne", "en") == kNe));
  BOOST_TEST((ChooseLanguage("", "en", "ne") == kEn));
  BOOST_TEST((ChooseLanguage("de", "ne", "en") == kNe));  // an unknown choice is ignored
}

BOOST_AUTO_TEST_CASE(every_text_exists_in_both_languages) {
  const std::vector<std::string> keys = PageTextKeys();
  BOOST_TEST(keys.size() > 40u);
  std::set<std::string> unique(keys.begin(), keys.end());
  BOOST_TEST(unique.size() == keys.size(), "duplicate keys in the catalogue");
  for (const std::string& key : keys) {
    const std::string& en = PageText(kEn, key);
    const std::string& ne = PageText(kNe, key);
    BOOST_TEST(!en.empty(), key);
    BOOST_TEST(!ne.empty(), key);
    // The Nepali text is Nepali: some Devanagari (U+0900..U+097F: E0 A4/A5 xx in UTF-8),
    // except for the brand, a proper name.
    if (key != "brand") BOOST_TEST(ne.find("\xE0\xA4") != std::string::npos, key << ": " << ne);
  }
  BOOST_TEST(PageText(kEn, "no such key") == "?");
}

// The key of every {{t.<key>}} tag in `text`.
std::vector<std::string> TextTags(const std::string& text) {
  std::vector<std::string> keys;
  for (size_t at = text.find("{{t."); at != std::string::npos; at = text.find("{{t.", at + 4)) {
    const size_t end = text.find("}}", at);
    if (end != std::string::npos) keys.push_back(text.substr(at + 4, end - at - 4));
  }
  return keys;
}

BOOST_AUTO_TEST_CASE(templates_use_only_texts_that_exist) {
  const std::vector<std::string> keys = PageTextKeys();
  const std::set<std::string> known(keys.begin(), keys.end());
  size_t used = 0;
  for (const auto& entry : std::filesystem::directory_iterator("www/templates")) {
    for (const std::string& key : TextTags(ReadFile(entry.path()))) {
      ++used;
      BOOST_TEST(known.count(key) == 1u,
                 entry.path().filename().string() << " uses unknown text " << key);
    }
  }
  BOOST_TEST(used > 20u);
}

BOOST_AUTO_TEST_CASE(templates_never_use_unescaped_output) {
  for (const auto& entry : std::filesystem::directory_iterator("www/templates")) {
    const std::string text = ReadFile(entry.path());
    BOOST_TEST(text.find("{{{") == std::string::npos, entry.path().filename().string());
    BOOST_TEST(text.find("{{&") == std::string::npos, entry.path().filename().string());
  }
}

BOOST_AUTO_TEST_CASE(every_error_a_page_can_meet_has_its_own_message) {
  for (const char* code :
       {"missing_field", "invalid_username", "weak_password", "invalid_email", "invalid_phone",
        "username_taken", "invalid_credentials", "too_many_requests", "otp_invalid",
        "invalid_field", "otp_expired", "too_many_attempts", "otp_not_requested",
        "resend_too_soon", "send_limit_reached", "sms_budget_exhausted", "phone_taken",
        "phone_already_verified", "csrf_failed", "unavailable"}) {
    util::Error e = util::Error::Make(util::ErrorKind::kInvalidInput, code, "");
    for (Language language : {kEn, kNe}) {
      BOOST_TEST(ErrorMessage(language, e, 6) != PageText(language, "error_generic"), code);
    }
  }
}

// invalid_field names its field: the code's message belongs to the code's field only.
BOOST_AUTO_TEST_CASE(a_too_long_password_is_not_told_to_enter_a_code) {
  util::Error e = util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_field", "", "password");
  for (Language language : {kEn, kNe}) {
    BOOST_TEST(ErrorMessage(language, e, 6) == PageText(language, "error_invalid_field_password"));
  }
  BOOST_TEST(ErrorMessage(kEn, e, 6).find("1024") != std::string::npos);
  util::Error code = util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_field", "", "otp");
  BOOST_TEST(ErrorMessage(kEn, code, 6).find("6-digit") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(error_messages_fill_in_waits_and_counts) {
  util::Error wait = util::Error::Make(util::ErrorKind::kRateLimited, "resend_too_soon", "");
  wait.retry_after = 45;
  BOOST_TEST(ErrorMessage(kEn, wait, 6).find("45 seconds") != std::string::npos);
  BOOST_TEST(ErrorMessage(kNe, wait, 6).find("४५ सेकेन्ड") != std::string::npos);
  util::Error wrong = util::Error::Make(util::ErrorKind::kInvalidInput, "otp_invalid", "");
  wrong.attempts_left = 3;
  BOOST_TEST(ErrorMessage(kEn, wrong, 6).find("3") != std::string::npos);
  BOOST_TEST(ErrorMessage(kNe, wrong, 6).find("३") != std::string::npos);
  wrong.attempts_left = 0;
  BOOST_TEST(ErrorMessage(kEn, wrong, 6) == PageText(kEn, "error_otp_invalid_last"));
  util::Error format = util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_field", "");
  BOOST_TEST(ErrorMessage(kEn, format, 8).find("8-digit") != std::string::npos);
  util::Error odd = util::Error::Make(util::ErrorKind::kInvalidInput, "something_new", "");
  BOOST_TEST(ErrorMessage(kNe, odd, 6) == PageText(kNe, "error_generic"));
  BOOST_TEST(ErrorMessage(kEn, wait, 6).find('{') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(fill_replaces_every_placeholder) {
  BOOST_TEST(Fill("{a} and {a}, not {b}", "a", "x") == "x and x, not {b}");
  BOOST_TEST(Fill("{a}", "a", "{a}") == "{a}");
}

BOOST_AUTO_TEST_CASE(next_paths_must_stay_on_this_site) {
  BOOST_TEST(SafeNextPath("/members/") == "/members/");
  BOOST_TEST(SafeNextPath("/a?b=1&c=2") == "/a?b=1&c=2");
  for (const std::string& bad : std::vector<std::string>{"", "members", "//evil.example/", "/\\evil.example", "https://evil.example/",
        "/a b", "/a\nb", "/\xC3\xA9", std::string("/") + std::string(600, 'a')}) {
    BOOST_TEST(SafeNextPath(bad).empty(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace phoneverify::handlers
