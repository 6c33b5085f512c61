// The figures a verification object shows and the limits they come from, as pure
// functions of the policy: shared by the API service (its answers) and by the storage's
// event writer (the events of a message's outcome and of expiry, which no request makes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/api_client.h"
#include "domain/otp_policy.h"
#include "domain/ports.h"
#include "domain/verification_resource.h"
#include "domain/verification_store.h"
#include "util/random.h"

namespace phoneverify::domain {

// Scope of a client's own daily SMS cap (key: the client's id).
inline constexpr char kClientDayScope[] = "client_day";

// The limits every send counts, from either API: sends from the end user's address
// (`ip_key`), to the phone's number block (the SMS-pumping guard) and the day's SMS budget;
// only those switched on.
std::vector<WindowLimit> SharedSendLimits(const OtpPolicy& policy, const std::string& phone,
                                          const std::string& ip_key);

// The daily limits a verification's `sends_left` counts: the phone's (otp_max_sends_per_day,
// shared with the account API) and the client's own cap; only those switched on.
std::vector<WindowLimit> DailySendLimits(const OtpPolicy& policy, const ClientCodeRules& rules,
                                         int64_t client_id, const std::string& phone);

// resend_in and sends_left after `extra_sends` more sends at `now`, from the limits' usage
// (same order) and the phone's latest send.
VerificationFigures FiguresOf(const OtpPolicy& policy, const std::vector<WindowLimit>& limits,
                              const std::vector<WindowUsage>& usage, int64_t last_send,
                              int extra_sends, int64_t now);

// An event about `record` at `now`, with a fresh webhook-id ("msg_" + 32 hex).
NewEvent MakeEvent(util::Random& random, const char* type, const VerificationRecord& record,
                   const VerificationFigures& figures, int64_t now);

}  // namespace phoneverify::domain
