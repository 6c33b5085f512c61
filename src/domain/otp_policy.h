// The OTP and abuse-limit rules, as numbers. 0 switches a limit off. Made from a Config
// by OtpPolicyFrom, so each default has its one home (util::Config's initialisers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "util/config.h"

namespace phoneverify::domain {

struct OtpPolicy {
  int otp_length = 0;
  int64_t otp_ttl = 0;
  int otp_max_attempts = 0;
  int64_t otp_resend_cooldown = 0;
  int otp_max_sends_per_day = 0;
  int account_max_sends_per_day = 0;
  int ip_max_sends_per_hour = 0;
  int ip_max_signups_per_hour = 0;
  int login_max_failures = 0;
  int login_max_failures_per_ip = 0;  // failed logins from one client, all usernames
  int sms_daily_budget = 0;
  int prefix_max_sends_per_hour = 0;  // sends to one number block (first prefix_digits)
  int prefix_digits = 0;
  std::vector<std::string> allowed_prefixes;
  std::string otp_hash_key;  // raw key bytes
  std::string outbox_key;    // raw key bytes
  std::string public_host;   // "" or the host every code SMS names last (sms_text.h)
};

// The policy `config` sets (keys as raw bytes: config must come from LoadConfig for them).
OtpPolicy OtpPolicyFrom(const util::Config& config);

inline constexpr int64_t kDay = 24 * 3600;
inline constexpr int64_t kHour = 3600;
inline constexpr int64_t kLoginWindow = 15 * 60;

}  // namespace phoneverify::domain
