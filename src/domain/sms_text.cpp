#include "domain/sms_text.h"

namespace phoneverify::domain {
namespace {

std::string Plural(int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
}

}  // namespace

std::string DescribeDuration(int64_t seconds) {
  if (seconds % 3600 == 0) return Plural(seconds / 3600, "hour");
  if (seconds % 60 == 0) return Plural(seconds / 60, "minute");
  return Plural(seconds, "second");
}

std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds) {
  return "Your phoneverify code is " + code + ". It expires in " +
         DescribeDuration(ttl_seconds) + ". Do not share it with anyone.";
}

}  // namespace phoneverify::domain
