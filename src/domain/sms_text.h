// The text of a verification SMS, in English or Nepali (contract section 7 "SMS text"):
//
//   <brand> code: <code>. It expires in <lifetime>. Do not share it with anyone.
//   <app_hash>                 (when given: Android SMS Retriever)
//   @<public_host> #<code>     (when public_host is set: WebOTP / iOS domain-bound codes)
//
// Sizes, for every code length (4 to 10 digits), every lifetime up to 10^9 s, every brand
// CheckBrand accepts, an 11-character app_hash and a public_host of up to
// util::kMaxPublicHostChars: English is one GSM-7 message (160 septets); Nepali is one
// UCS-2 message (70 UTF-16 units) without the two extra lines, and with them at most two
// (134 units). When the full wording does not fit, a shorter one is used (the warning
// first, then nothing but the lifetime); in Nepali a shorter wording is preferred to a
// second segment. The code is always written in ASCII digits, so a phone can offer it for
// autofill and it types the same on every keyboard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/language.h"
#include "util/status.h"

namespace phoneverify::domain {

// The brand of the account API and pages, and of API clients without one.
inline constexpr char kDefaultBrand[] = "phoneverify";
// Longest brand (contract section 7: at most 20 GSM-7 characters).
inline constexpr size_t kMaxBrandChars = 20;
// An Android SMS Retriever app hash.
inline constexpr size_t kAppHashChars = 11;
// Units of a two-part UCS-2 message (each part loses 3 units to the concatenation header).
inline constexpr size_t kTwoUcs2Messages = 134;

struct SmsTextOptions {
  std::string brand = kDefaultBrand;  // CheckBrand() accepts it
  std::string app_hash;               // "" or kAppHashChars characters
  std::string public_host;            // "" or a host name (util::kMaxPublicHostChars at most)
};

// The account API's text: brand "phoneverify", no extra lines.
std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds,
                                Language language = Language::kEnglish);
std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds, Language language,
                                const SmsTextOptions& options);

// Whether `brand` may be a client's brand: 1 to kMaxBrandChars printable GSM-7 ASCII
// characters (not '`'), no leading or trailing space, and every text with it fits the
// sizes above in the worst case (10-digit code, the longest lifetime wording, an app_hash
// and the longest public_host, both languages). Error::InvalidInput with a message that
// names the limit (to follow the flag's name, e.g. "is at most 20 characters").
util::Status CheckBrand(std::string_view brand);

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
