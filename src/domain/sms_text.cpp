#include "domain/sms_text.h"

#include <algorithm>
#include <vector>

#include "util/config.h"

namespace phoneverify::domain {
namespace {

constexpr int64_t kMinute = 60;
constexpr int64_t kHourSeconds = 3600;
constexpr int64_t kDaySeconds = 86400;

enum class Unit { kSecond, kMinute, kHour };

std::string UnitName(Unit unit, int64_t n, Language language) {
  if (language == Language::kNepali) {
    // Nepali nouns after a number do not change for the plural.
    switch (unit) {
      case Unit::kSecond: return "सेकेन्ड";
      case Unit::kMinute: return "मिनेट";
      case Unit::kHour: return "घण्टा";
    }
  }
  const char* name = unit == Unit::kSecond ? "second" : unit == Unit::kMinute ? "minute" : "hour";
  return std::string(name) + (n == 1 ? "" : "s");
}

// ASCII characters GSM-7 encodes through the escape table (two septets each).
bool IsGsmExtension(char c) {
  return c == '^' || c == '{' || c == '}' || c == '\\' || c == '[' || c == ']' || c == '~' ||
         c == '|';
}

size_t Utf16Units(std::string_view utf8) {
  size_t units = 0;
  for (size_t i = 0; i < utf8.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(utf8[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += c >= 0xF0 ? 2 : 1;        // 4-byte sequences need a surrogate pair
  }
  return units;
}

// Units one message holds in `language` (GSM-7 for English, UCS-2 for Nepali), and the
// most a text may take: Nepali with the extra lines may use a second message.
size_t OneMessage(Language language) { return language == Language::kNepali ? 70 : 160; }
size_t MostUnits(Language language, bool extra_lines) {
  return language == Language::kNepali && extra_lines ? kTwoUcs2Messages : OneMessage(language);
}

// "<brand> code: <code>", in `language`.
std::string Head(const std::string& code, Language language, const SmsTextOptions& options) {
  const std::string& brand = options.brand.empty() ? std::string(kDefaultBrand) : options.brand;
  return brand + (language == Language::kNepali ? " कोड: " : " code: ") + code;
}

// What follows the head on its line, fullest first.
std::vector<std::string> Wordings(int64_t ttl_seconds, Language language) {
  const std::string lifetime = DescribeDuration(ttl_seconds, language);
  if (language == Language::kNepali) {
    // "Valid for <lifetime>. Do not give it to anyone." / "Valid for <lifetime>."
    return {"। म्याद " + lifetime + "। कसैलाई नदिनुहोस्।", "। म्याद " + lifetime + "।"};
  }
  return {". It expires in " + lifetime + ". Do not share it with anyone.",
          ". It expires in " + lifetime + ". Do not share it.", ". It expires in " + lifetime + "."};
}

// The app_hash line, then the WebOTP / iOS line, which must come last.
std::string ExtraLines(const std::string& code, const SmsTextOptions& options) {
  std::string lines;
  if (!options.app_hash.empty()) lines += "\n" + options.app_hash;
  if (!options.public_host.empty()) lines += "\n@" + options.public_host + " #" + code;
  return lines;
}

bool IsGsmPrintableAscii(char c) { return c >= 0x20 && c < 0x7f && c != '`'; }

// The texts CheckBrand measures: the longest code and each longest lifetime wording (in
// seconds, minutes and hours), with and without the longest extra lines.
std::vector<SmsTextOptions> WorstCaseOptions(std::string_view brand) {
  SmsTextOptions bare;
  bare.brand = std::string(brand);
  SmsTextOptions extra = bare;
  extra.app_hash = std::string(kAppHashChars, 'A');
  extra.public_host = std::string(util::kMaxPublicHostChars, 'h');
  return {bare, extra};
}
constexpr int64_t kLongestLifetimes[] = {3599, 86399, 999'999'999};

// "" when every worst-case text with `brand` fits its limit, else what overflows.
std::string WorstCaseOverflow(std::string_view brand) {
  for (const SmsTextOptions& options : WorstCaseOptions(brand)) {
    const bool extra = !options.public_host.empty();
    for (Language language : {Language::kEnglish, Language::kNepali}) {
      const size_t most = MostUnits(language, extra);
      for (int64_t ttl : kLongestLifetimes) {
        const std::string text = VerificationSmsText(std::string(10, '9'), ttl, language, options);
        const size_t units = MeasureSms(text).units;
        if (units <= most) continue;
        return std::string("makes the ") +
               (language == Language::kNepali ? "Nepali" : "English") + " SMS too long: " +
               std::to_string(units) + " of at most " + std::to_string(most) +
               (language == Language::kNepali ? " UCS-2" : " GSM-7") +
               " characters in the worst case (10-digit code, longest lifetime" +
               (extra ? ", app_hash and a " + std::to_string(util::kMaxPublicHostChars) +
                            "-character public_host)"
                      : ")");
      }
    }
  }
  return "";
}

util::Error BrandProblem(std::string details) {
  return util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_brand", std::move(details),
                           "brand");
}

}  // namespace

std::string LocalizedNumber(int64_t n, Language language) {
  std::string digits = std::to_string(n);
  if (language != Language::kNepali) return digits;
  static const char* const kDevanagari[] = {"०", "१", "२", "३", "४", "५", "६", "७", "८", "९"};
  std::string out;
  for (char c : digits) out += (c >= '0' && c <= '9') ? kDevanagari[c - '0'] : std::string(1, c);
  return out;
}

std::string DescribeDuration(int64_t seconds, Language language) {
  int64_t n = seconds;
  Unit unit = Unit::kSecond;
  if (seconds % kHourSeconds == 0 || seconds >= kDaySeconds) {
    n = seconds / kHourSeconds;
    unit = Unit::kHour;
  } else if (seconds % kMinute == 0 || seconds >= kHourSeconds) {
    n = seconds / kMinute;
    unit = Unit::kMinute;
  }
  return LocalizedNumber(n, language) + " " + UnitName(unit, n, language);
}

std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds,
                                Language language) {
  return VerificationSmsText(code, ttl_seconds, language, SmsTextOptions());
}

std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds, Language language,
                                const SmsTextOptions& options) {
  const std::string head = Head(code, language, options);
  const std::string extra = ExtraLines(code, options);
  const std::vector<std::string> wordings = Wordings(ttl_seconds, language);
  // The fullest wording in one message; failing that (Nepali with the extra lines) the
  // fullest within two: a shorter wording is preferred to a second message.
  for (size_t limit : {OneMessage(language), MostUnits(language, !extra.empty())}) {
    for (const std::string& wording : wordings) {
      std::string text = head + wording + extra;
      if (MeasureSms(text).units <= limit) return text;
    }
  }
  return head + wordings.back() + extra;  // only for a brand CheckBrand refuses
}

util::Status CheckBrand(std::string_view brand) {
  if (brand.empty()) return BrandProblem("must not be empty");
  if (brand.size() > kMaxBrandChars) {
    return BrandProblem("is at most " + std::to_string(kMaxBrandChars) + " characters (got " +
                        std::to_string(brand.size()) + ")");
  }
  if (!std::all_of(brand.begin(), brand.end(), IsGsmPrintableAscii)) {
    return BrandProblem("must be printable GSM-7 ASCII: letters, digits, spaces and "
                        "punctuation other than ` (no accents, emoji or control characters)");
  }
  if (brand.front() == ' ' || brand.back() == ' ') {
    return BrandProblem("must not begin or end with a space");
  }
  if (std::string overflow = WorstCaseOverflow(brand); !overflow.empty()) {
    return BrandProblem(std::move(overflow));
  }
  return util::Status::Ok();
}

SmsSize MeasureSms(std::string_view utf8) {
  SmsSize size;
  for (char c : utf8) {
    const bool printable = c >= 0x20 && c < 0x7f && c != '`';
    const bool control_ok = c == '\n' || c == '\r';
    if (!printable && !control_ok) {
      size.gsm7 = false;
      break;
    }
    size.units += IsGsmExtension(c) ? 2 : 1;
  }
  if (!size.gsm7) size.units = Utf16Units(utf8);
  return size;
}

}  // namespace phoneverify::domain
