#include "domain/sms_text.h"

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
  const std::string lifetime = DescribeDuration(ttl_seconds, language);
  if (language == Language::kNepali) {
    // "phoneverify code <code>. Valid for <lifetime>. Do not give it to anyone."
    return "phoneverify कोड " + code + "। म्याद " + lifetime + "। कसैलाई नदिनुहोस्।";
  }
  return "Your phoneverify code is " + code + ". It expires in " + lifetime +
         ". Do not share it with anyone.";
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
