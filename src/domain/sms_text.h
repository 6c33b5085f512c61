// The text of a verification SMS: the code and how long it is valid. Fits one GSM-7
// message (160 characters) for every code length and lifetime the config allows.
#pragma once

#include <cstdint>
#include <string>

namespace phoneverify::domain {

std::string VerificationSmsText(const std::string& code, int64_t ttl_seconds);

// "5 minutes", "90 seconds", "1 minute", "2 hours".
std::string DescribeDuration(int64_t seconds);

}  // namespace phoneverify::domain
