#include "domain/otp_policy.h"

namespace phoneverify::domain {

OtpPolicy OtpPolicyFrom(const util::Config& config) {
  OtpPolicy policy;
  policy.otp_length = config.otp_length;
  policy.otp_ttl = config.otp_ttl;
  policy.otp_max_attempts = config.otp_max_attempts;
  policy.otp_resend_cooldown = config.otp_resend_cooldown;
  policy.otp_max_sends_per_day = config.otp_max_sends_per_day;
  policy.account_max_sends_per_day = config.account_max_sends_per_day;
  policy.ip_max_sends_per_hour = config.ip_max_sends_per_hour;
  policy.ip_max_signups_per_hour = config.ip_max_signups_per_hour;
  policy.login_max_failures = config.login_max_failures;
  policy.login_max_failures_per_ip = config.login_max_failures_per_ip;
  policy.sms_daily_budget = config.sms_daily_budget;
  policy.prefix_max_sends_per_hour = config.prefix_max_sends_per_hour;
  policy.prefix_digits = config.prefix_digits;
  policy.allowed_prefixes = config.allowed_prefixes;
  policy.otp_hash_key = config.otp_hash_key_bytes;
  policy.outbox_key = config.outbox_key_bytes;
  policy.public_host = config.public_host;
  return policy;
}

}  // namespace phoneverify::domain
