#include "domain/verification_rules.h"

#include <algorithm>

#include "domain/limits.h"

namespace phoneverify::domain {

std::vector<WindowLimit> SharedSendLimits(const OtpPolicy& policy, const std::string& phone,
                                          const std::string& ip_key) {
  std::vector<WindowLimit> limits;
  auto add = [&](const char* scope, std::string key, int64_t window, int max) {
    if (max > 0) limits.push_back(WindowLimit{scope, std::move(key), window, max});
  };
  add("ip_send_hour", ip_key, kHour, policy.ip_max_sends_per_hour);
  // SMS pumping walks through number blocks: cap the sends to one block.
  const size_t digits = static_cast<size_t>(std::clamp(policy.prefix_digits, 1, 10));
  add("prefix_hour", phone.substr(0, digits), kHour, policy.prefix_max_sends_per_hour);
  add("budget_day", "", kDay, policy.sms_daily_budget);
  return limits;
}

std::vector<WindowLimit> DailySendLimits(const OtpPolicy& policy, const ClientCodeRules& rules,
                                         int64_t client_id, const std::string& phone) {
  std::vector<WindowLimit> limits;
  if (policy.otp_max_sends_per_day > 0) {
    limits.push_back({"phone_day", phone, kDay, policy.otp_max_sends_per_day});
  }
  if (rules.max_sends_per_day > 0) {
    limits.push_back({kClientDayScope, std::to_string(client_id), kDay, rules.max_sends_per_day});
  }
  return limits;
}

VerificationFigures FiguresOf(const OtpPolicy& policy, const std::vector<WindowLimit>& limits,
                              const std::vector<WindowUsage>& usage, int64_t last_send,
                              int extra_sends, int64_t now) {
  VerificationFigures figures;
  if (policy.otp_resend_cooldown > 0 && last_send > 0) {
    figures.resend_in = std::max<int64_t>(0, last_send + policy.otp_resend_cooldown - now);
  }
  for (size_t i = 0; i < limits.size() && i < usage.size(); ++i) {
    if (limits[i].scope != "phone_day" && limits[i].scope != kClientDayScope) continue;
    WindowUsage seen = usage[i];
    seen.count += extra_sends;
    if (extra_sends > 0 && seen.oldest == 0) seen.oldest = now;
    const int64_t left = Remaining(limits[i], seen);
    figures.sends_left = figures.sends_left ? std::min(*figures.sends_left, left) : left;
    if (IsExhausted(limits[i], seen)) {
      figures.resend_in = std::max(figures.resend_in, SecondsUntilFree(limits[i], seen, now));
    }
  }
  return figures;
}

NewEvent MakeEvent(util::Random& random, const char* type, const VerificationRecord& record,
                   const VerificationFigures& figures, int64_t now) {
  return NewEvent{"msg_" + random.Hex(16), record.public_id, type,
                  EventBody(type, now, VerificationObject(record, figures, now))};
}

}  // namespace phoneverify::domain
