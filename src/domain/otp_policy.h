// The OTP and abuse-limit rules, as numbers (from Config). 0 switches a limit off.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace phoneverify::domain {

struct OtpPolicy {
  int otp_length = 6;
  int64_t otp_ttl = 300;
  int otp_max_attempts = 5;
  int64_t otp_resend_cooldown = 60;
  int otp_max_sends_per_day = 5;
  int account_max_sends_per_day = 10;
  int ip_max_sends_per_hour = 100;
  int ip_max_signups_per_hour = 20;
  int login_max_failures = 10;
  int login_max_failures_per_ip = 50;  // failed logins from one client, all usernames
  int sms_daily_budget = 10000;
  int prefix_max_sends_per_hour = 30;  // sends to one number block (first prefix_digits)
  int prefix_digits = 6;
  std::vector<std::string> allowed_prefixes;
  std::string otp_hash_key;  // raw key bytes
  std::string outbox_key;    // raw key bytes
};

inline constexpr int64_t kDay = 24 * 3600;
inline constexpr int64_t kHour = 3600;
inline constexpr int64_t kLoginWindow = 15 * 60;

}  // namespace phoneverify::domain
