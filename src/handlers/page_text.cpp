#include "handlers/page_text.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <optional>

#include "domain/sms_text.h"

namespace phoneverify::handlers {
namespace {

using domain::Language;

struct Entry {
  const char* key;
  const char* en;
  const char* ne;
};

// clang-format off
constexpr Entry kTexts[] = {
  // layout
  {"brand", "phoneverify", "phoneverify"},
  {"language", "Language", "भाषा"},
  {"footer", "Your number is used only to confirm that it is yours.",
             "तपाईंको नम्बर त्यो तपाईंकै हो भनी पुष्टि गर्न मात्र प्रयोग हुन्छ।"},
  {"optional", "optional", "ऐच्छिक"},
  // sign-up
  {"signup_title", "Create your account", "आफ्नो खाता खोल्नुहोस्"},
  {"signup_intro", "We will send a code by SMS to check your mobile number.",
                   "तपाईंको मोबाइल नम्बर जाँच्न हामी SMS मार्फत एउटा कोड पठाउनेछौं।"},
  {"label_username", "Username", "प्रयोगकर्ता नाम"},
  {"hint_username", "Letters, digits and @ . + - _", "अङ्ग्रेजी अक्षर, अङ्क र @ . + - _"},
  {"label_password", "Password", "पासवर्ड"},
  {"hint_password", "At least 8 characters, not only digits",
                    "कम्तीमा ८ वटा अक्षर, अङ्क मात्र होइन"},
  {"label_phone", "Mobile number", "मोबाइल नम्बर"},
  {"hint_phone", "NTC or Ncell, for example 98XXXXXXXX", "NTC वा Ncell, जस्तै 98XXXXXXXX"},
  {"label_email", "Email", "इमेल"},
  {"signup_button", "Create account", "खाता खोल्नुहोस्"},
  {"have_account", "Already have an account?", "पहिले नै खाता छ?"},
  {"login_link", "Sign in", "साइन इन गर्नुहोस्"},
  // login
  {"login_title", "Sign in", "साइन इन"},
  {"login_intro", "Welcome back.", "फेरि स्वागत छ।"},
  {"login_button", "Sign in", "साइन इन गर्नुहोस्"},
  {"no_account", "New here?", "नयाँ हुनुहुन्छ?"},
  {"signup_link", "Create an account", "खाता खोल्नुहोस्"},
  // verify
  {"verify_title", "Verify your phone", "फोन नम्बर प्रमाणित गर्नुहोस्"},
  {"verify_sent_to", "We sent a code by SMS to {phone}.",
                     "{phone} मा SMS मार्फत कोड पठाइएको छ।"},
  {"verify_expires_in", "The code expires in {wait}.", "कोडको म्याद {wait}मा सकिन्छ।"},
  {"verify_no_code", "No code has been sent to {phone} yet.",
                     "{phone} मा अहिलेसम्म कोड पठाइएको छैन।"},
  {"verify_expired", "The last code has expired. Ask for a new one below.",
                     "पछिल्लो कोडको म्याद सकियो। तल नयाँ कोड माग्नुहोस्।"},
  {"verify_locked", "Too many wrong codes. Ask for a new one below.",
                    "धेरै पटक गलत कोड हालियो। तल नयाँ कोड माग्नुहोस्।"},
  {"verify_delivery_failed", "The SMS could not be delivered. Check the number, or ask for a new code.",
                             "SMS पुग्न सकेन। नम्बर जाँच्नुहोस् वा नयाँ कोड माग्नुहोस्।"},
  {"label_code", "Code from the SMS", "SMS मा आएको कोड"},
  {"hint_code", "{n} digits", "{n} अङ्कको कोड"},
  {"verify_button", "Verify", "प्रमाणित गर्नुहोस्"},
  {"resend_button", "Send a new code", "नयाँ कोड पठाउनुहोस्"},
  {"resend_wait", "Send a new code (in {wait})", "नयाँ कोड पठाउनुहोस् ({wait}पछि)"},
  {"change_phone_title", "Wrong number?", "नम्बर गलत छ?"},
  {"add_phone_title", "Add your mobile number", "आफ्नो मोबाइल नम्बर थप्नुहोस्"},
  {"change_phone_button", "Send the code to this number", "यो नम्बरमा कोड पठाउनुहोस्"},
  {"notice_code_sent", "A new code is on its way to {phone}.",
                       "{phone} मा नयाँ कोड पठाइँदैछ।"},
  {"notice_no_code", "Your account is ready, but no code could be sent yet: {reason}",
                     "तपाईंको खाता तयार भयो, तर अहिले कोड पठाउन सकिएन: {reason}"},
  // account
  {"account_title", "Your account", "तपाईंको खाता"},
  {"account_signed_in_as", "You are signed in as {name}.",
                           "तपाईं {name} नामबाट साइन इन हुनुहुन्छ।"},
  {"account_verified", "Your phone number is verified.", "तपाईंको फोन नम्बर प्रमाणित भएको छ।"},
  {"label_verified_phone", "Verified phone", "प्रमाणित फोन"},
  {"label_email_address", "Email", "इमेल"},
  {"continue_link", "Continue", "अगाडि बढ्नुहोस्"},
  {"logout_button", "Sign out", "साइन आउट गर्नुहोस्"},
  // error page
  {"error_title", "Something went wrong", "केही गडबड भयो"},
  {"forbidden_title", "This form has expired", "यो फारमको म्याद सकियो"},
  {"start_again", "Start again", "फेरि सुरु गर्नुहोस्"},
  // errors, by the contract's code
  {"error_missing_field", "This field is required.", "यो भर्न आवश्यक छ।"},
  {"error_invalid_username", "Use 1 to 150 letters, digits and @ . + - _ only.",
                             "१ देखि १५० वटा अङ्ग्रेजी अक्षर, अङ्क र @ . + - _ मात्र प्रयोग गर्नुहोस्।"},
  {"error_weak_password", "Use at least 8 characters, and not only digits.",
                          "कम्तीमा ८ वटा अक्षर राख्नुहोस्, अङ्क मात्र होइन।"},
  {"error_invalid_field_password", "Use at most 1024 characters.",
                                   "बढीमा १०२४ अक्षर प्रयोग गर्नुहोस्।"},
  {"error_invalid_email", "Enter a valid email address.", "सही इमेल ठेगाना लेख्नुहोस्।"},
  {"error_invalid_phone", "Enter a 10-digit NTC or Ncell mobile number.",
                          "१० अङ्कको NTC वा Ncell मोबाइल नम्बर लेख्नुहोस्।"},
  {"error_username_taken", "That username is taken. Choose another.",
                           "यो प्रयोगकर्ता नाम पहिले नै लिइसकिएको छ। अर्को रोज्नुहोस्।"},
  {"error_invalid_credentials", "Wrong username or password.",
                                "प्रयोगकर्ता नाम वा पासवर्ड मिलेन।"},
  {"error_too_many_requests", "Too many attempts. Try again in {wait}.",
                              "धेरै पटक प्रयास भयो। {wait}पछि फेरि प्रयास गर्नुहोस्।"},
  {"error_otp_invalid", "That code is not correct. Tries left: {n}.",
                        "कोड मिलेन। बाँकी प्रयास: {n}।"},
  {"error_otp_invalid_last", "That code is not correct, and that was the last try. Ask for a new code.",
                             "कोड मिलेन, र त्यो अन्तिम प्रयास थियो। नयाँ कोड माग्नुहोस्।"},
  {"error_invalid_field", "Enter the {n}-digit code from the SMS.",
                          "SMS मा आएको {n} अङ्कको कोड लेख्नुहोस्।"},
  {"error_otp_expired", "This code has expired. Ask for a new one.",
                        "यो कोडको म्याद सकियो। नयाँ कोड माग्नुहोस्।"},
  {"error_too_many_attempts", "Too many wrong codes. You can ask for a new code in {wait}.",
                              "धेरै पटक गलत कोड हालियो। {wait}पछि नयाँ कोड माग्न सकिन्छ।"},
  {"error_otp_not_requested", "No code has been sent yet. Ask for one below.",
                              "अहिलेसम्म कोड पठाइएको छैन। तल कोड माग्नुहोस्।"},
  {"error_resend_too_soon", "A code was sent moments ago. You can ask for another in {wait}.",
                            "भर्खरै कोड पठाइयो। {wait}पछि अर्को माग्न सकिन्छ।"},
  {"error_send_limit_reached", "Too many codes were asked for. Try again in {wait}.",
                               "धेरै कोड मागियो। {wait}पछि फेरि प्रयास गर्नुहोस्।"},
  {"error_sms_budget_exhausted", "We cannot send more SMS today. Try again in {wait}.",
                                 "आज थप SMS पठाउन सकिँदैन। {wait}पछि फेरि प्रयास गर्नुहोस्।"},
  {"error_phone_taken", "This number is already verified by another account.",
                        "यो नम्बर अर्को खातामा प्रमाणित भइसकेको छ।"},
  {"error_phone_already_verified", "This number is already verified for your account.",
                                   "यो नम्बर तपाईंकै खातामा प्रमाणित भइसकेको छ।"},
  {"error_csrf_failed", "For your safety this form works only once and only from this site. Go back, reload the page and try again.",
                 "सुरक्षाका लागि यो फारम एक पटक र यही साइटबाट मात्र चल्छ। पछाडि गएर पेज फेरि लोड गर्नुहोस् र प्रयास गर्नुहोस्।"},
  {"error_unavailable", "The service is busy right now. Try again in a moment.",
                        "सेवा अहिले व्यस्त छ। केही बेरपछि फेरि प्रयास गर्नुहोस्।"},
  {"error_generic", "Something went wrong. Try again.", "केही गडबड भयो। फेरि प्रयास गर्नुहोस्।"},
};
// clang-format on

const Entry* FindEntry(std::string_view key) {
  for (const Entry& entry : kTexts) {
    if (key == entry.key) return &entry;
  }
  return nullptr;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The q-value of one Accept-Language item ("ne-NP;q=0.8"); 1 when absent, -1 when bad.
double QualityOf(std::string_view params) {
  double q = 1.0;
  while (!params.empty()) {
    const size_t semi = params.find(';');
    std::string_view param = TrimSpaces(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    if (param.size() < 2 || Lower(param.substr(0, 2)) != "q=") continue;
    const std::string value(param.substr(2));
    char* end = nullptr;
    q = std::strtod(value.c_str(), &end);
    if (value.empty() || *end != '\0' || q < 0 || q > 1) return -1;
  }
  return q;
}

std::optional<Language> FromAcceptLanguage(std::string_view header) {
  std::optional<Language> best;
  double best_q = 0;
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view item = TrimSpaces(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semi = item.find(';');
    const std::string tag = Lower(TrimSpaces(item.substr(0, semi)));
    const std::string primary = tag.substr(0, tag.find('-'));
    const double q = QualityOf(semi == std::string_view::npos ? "" : item.substr(semi + 1));
    auto language = domain::LanguageFromCode(primary);
    if (language && q > best_q) {
      best = language;
      best_q = q;
    }
  }
  return best;
}

}  // namespace

Language ChooseLanguage(std::string_view param, std::string_view cookie,
                        std::string_view accept_language) {
  if (auto chosen = domain::LanguageFromCode(param)) return *chosen;
  if (auto chosen = domain::LanguageFromCode(cookie)) return *chosen;
  return FromAcceptLanguage(accept_language).value_or(Language::kEnglish);
}

const std::string& PageText(Language language, std::string_view key) {
  // Built once from the constant table; concurrent readers are fine.
  static const auto* const kByKey = [] {
    auto* by_key = new std::map<std::string, std::array<std::string, 2>, std::less<>>();
    for (const Entry& entry : kTexts) (*by_key)[entry.key] = {entry.en, entry.ne};
    return by_key;
  }();
  static const std::string kUnknown = "?";
  auto it = kByKey->find(key);
  if (it == kByKey->end()) return kUnknown;
  return it->second[language == Language::kNepali ? 1 : 0];
}

ViewData PageTexts(Language language) {
  ViewData texts;
  for (const Entry& entry : kTexts) texts.Set(entry.key, PageText(language, entry.key));
  return texts;
}

std::vector<std::string> PageTextKeys() {
  std::vector<std::string> keys;
  for (const Entry& entry : kTexts) keys.emplace_back(entry.key);
  return keys;
}

std::string Fill(std::string text, std::string_view name, std::string_view value) {
  const std::string placeholder = "{" + std::string(name) + "}";
  for (size_t at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
  return text;
}

std::string ErrorMessage(Language language, const util::Error& error, int code_digits) {
  std::string key = "error_" + error.code;
  // invalid_field is the code's own message on the verify page; other fields have theirs.
  if (error.code == "invalid_field" && !error.field.empty() && error.field != "otp") {
    key += "_" + error.field;
  }
  if (error.code == "otp_invalid" && error.attempts_left && *error.attempts_left == 0) {
    key = "error_otp_invalid_last";
  }
  if (FindEntry(key) == nullptr) key = "error_generic";
  std::string text = PageText(language, key);
  const int64_t wait = error.retry_after.value_or(1);
  text = Fill(std::move(text), "wait", domain::DescribeDuration(std::max<int64_t>(1, wait), language));
  const int64_t n = error.attempts_left.value_or(code_digits);
  return Fill(std::move(text), "n", domain::LocalizedNumber(n, language));
}

}  // namespace phoneverify::handlers
