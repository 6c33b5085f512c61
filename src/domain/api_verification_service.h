// The verification API for backends that keep their own users (contract section 7): start,
// read, check, resend and cancel a verification, with the code rules of section 4 and the
// limits shared with the account API (the phone's cooldown and daily cap, per-IP sends,
// number blocks, the SMS budget) plus the client's own daily cap.
// Every rule is decided here, from a snapshot the storage reads under its transaction
// (domain/verification_store.h); the storage only reads and writes.
// Thread-compatible: one instance per worker thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/api_client.h"
#include "domain/otp_policy.h"
#include "domain/verification_store.h"
#include "util/clock.h"
#include "util/random.h"
#include "util/status.h"

namespace phoneverify::domain {

// A start's fields as the request gave them ("" = absent), except ip_key: the end user as
// per-IP limits count them (client_ip's limit key, else the caller's).
struct StartInput {
  std::string phone;
  std::string lang;
  std::string reference;
  bool has_reference = false;
  std::string app_hash;
  std::string ip_key;
};

// Who asks, and how the request is known to re-run safety.
struct ApiCaller {
  ApiClient client;
  std::optional<std::string> idempotency_key;  // the client's, if it sent one
  std::string request_id;                      // for log correlation
};

class ApiVerificationService {
 public:
  ApiVerificationService(VerificationStore& store, const OtpPolicy& policy,
                         const util::Clock& clock, util::Random& random)
      : store_(store), policy_(policy), clock_(clock), random_(random) {}

  // 201: 400 invalid_phone/missing_field/invalid_field, 429 resend_too_soon/
  // send_limit_reached, 503 sms_budget_exhausted. Cancels the client's pending
  // verification of the same phone.
  util::Result<ApiAnswer> Start(const ApiCaller& caller, const StartInput& input);
  // 404 not_found (also another client's id).
  util::Result<Json::Value> Get(const ApiClient& client, const std::string& public_id);
  // 400 invalid_field (uses no attempt) / otp_invalid, 404, 409 verification_not_pending,
  // 410 otp_expired, 429 too_many_attempts.
  util::Result<ApiAnswer> Check(const ApiCaller& caller, const std::string& public_id,
                                const std::string& raw_code);
  // 202: a new code, the old one dead. 400 invalid_field (lang), 404, 409, 429, 503.
  util::Result<ApiAnswer> Resend(const ApiCaller& caller, const std::string& public_id,
                                 const std::string& lang);
  // 200 canceled: 404, 409 verification_not_pending.
  util::Result<ApiAnswer> Cancel(const ApiCaller& caller, const std::string& public_id);

 private:
  ApiRequest RequestOf(const ApiCaller& caller, const std::string& path) const;
  std::vector<WindowLimit> SendLimits(const ClientCodeRules& rules, int64_t client_id,
                                      const std::string& phone,
                                      const std::string& ip_key) const;
  std::optional<util::Error> RefuseSend(const std::vector<WindowLimit>& limits,
                                        const std::vector<WindowUsage>& usage,
                                        int64_t last_send, int64_t now) const;
  // A fresh code for `record` (its public id set): code_hash, expiry, attempts, and the
  // sealed SMS; returns the message to queue.
  NewMessage NewCode(VerificationRecord& record, const ClientCodeRules& rules,
                     const std::string& request_id, int64_t now);
  VerificationChange DecideStart(const ApiCaller& caller, const ClientCodeRules& rules,
                                 const std::vector<WindowLimit>& limits,
                                 VerificationRecord record, const StartSnapshot& snap,
                                 int64_t now);
  VerificationChange DecideCheck(const ClientCodeRules& rules, const std::string& code,
                                 const VerificationSnapshot& snap, int64_t now);
  VerificationChange DecideResend(const ApiCaller& caller, const ClientCodeRules& rules,
                                  const std::optional<Language>& lang,
                                  const VerificationSnapshot& snap, int64_t now);
  VerificationChange DecideCancel(const ClientCodeRules& rules,
                                  const VerificationSnapshot& snap, int64_t now);

  VerificationStore& store_;
  const OtpPolicy& policy_;
  const util::Clock& clock_;
  util::Random& random_;
};

}  // namespace phoneverify::domain
