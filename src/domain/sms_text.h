// The text of a verification SMS, in English or Nepali: the code and how long it is valid.
// Each fits one SMS for every code length (4 to 10 digits) and every lifetime the config
// allows (1 s to 10^9 s): English one GSM-7 message (160 characters), Nepali one UCS-2
// message (70 UTF-16 units). The code is always written in ASCII digits, so a phone can
// offer it for autofill and it types the same on every keyboard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/language.h"

namespace phoneverify::domain {

std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds,
                                Language language = Language::kEnglish);

// "5 minutes", "90 seconds", "1 minute", "2 hours" (Nepali: "५ मिनेट", ...). Exact when
// the duration is a whole number of hours, or under a day and a whole number of minutes,
// or under an hour; otherwise rounded down (to minutes under a day, hours beyond), so a
// lifetime is never overstated and never takes more than six digits.
std::string DescribeDuration(int64_t seconds, Language language = Language::kEnglish);

// Decimal digits of `n`; Devanagari digits (०-९) in Nepali.
std::string LocalizedNumber(int64_t n, Language language);

// How an SMS text would be encoded: GSM-7 (in septets; the escape characters ^{}\[~]|
// take two) when every character is printable ASCII other than '`', else UCS-2 (in UTF-16
// code units). Conservative: the few non-ASCII GSM-7 letters (é, ñ, ...) count as UCS-2.
struct SmsSize {
  bool gsm7 = true;
  size_t units = 0;
  // Units that fit one message in this encoding: 160 or 70.
  size_t single_message_limit() const { return gsm7 ? 160 : 70; }
  bool fits_one_message() const { return units <= single_message_limit(); }
};
SmsSize MeasureSms(std::string_view utf8);

}  // namespace phoneverify::domain
