#include "domain/verification_service.h"

#include <algorithm>

#include "domain/account_service.h"
#include "domain/limits.h"
#include "domain/phone_number.h"
#include "domain/sms_text.h"
#include "domain/verification_rules.h"
#include "util/crypto.h"
#include "util/text.h"

namespace phoneverify::domain {
namespace {

using util::Error;
using util::ErrorKind;

Error MissingField(const char* field) {
  return Error::Make(ErrorKind::kInvalidInput, "missing_field",
                     std::string("The field '") + field + "' is required.", field);
}

Error AlreadyVerified() {
  return Error::Make(ErrorKind::kForbidden, "phone_already_verified",
                     "This phone number is already verified for your account.", "phone");
}

Error PhoneTaken() {
  return Error::Make(ErrorKind::kConflict, "phone_taken",
                     "This phone number is already verified by another account.", "phone");
}

Error WithRetry(Error e, int64_t retry_after) {
  e.retry_after = retry_after < 1 ? 1 : retry_after;
  return e;
}

// The code hash binds the code to its phone. It is made before the storage resolves an
// API token (the send is one round trip, sql/017), so it cannot name the account; the code
// row's key (account, phone) binds it to the account. A leading version byte tells it from
// the hashes of codes made before, bound to "account:phone:code" (still matched, so that
// no code pending at an upgrade is lost).
constexpr char kPhoneBoundHash = '\x02';

std::string CodeHash(const std::string& key, const std::string& phone, const std::string& code) {
  return kPhoneBoundHash + util::KeyedHash(key, "phone:" + phone + ":" + code);
}

bool CodeMatches(const std::string& key, int64_t account_id, const std::string& phone,
                 const std::string& code, const std::string& stored) {
  if (!stored.empty() && stored[0] == kPhoneBoundHash) {
    return util::ConstantTimeEqual(CodeHash(key, phone, code), stored);
  }
  const std::string account_bound =
      util::KeyedHash(key, std::to_string(account_id) + ":" + phone + ":" + code);
  return util::ConstantTimeEqual(account_bound, stored);
}

// Errors shared by send and verify once the phone owner is known.
std::optional<Error> OwnershipError(const std::optional<int64_t>& owner, int64_t account_id) {
  if (!owner) return std::nullopt;
  return *owner == account_id ? AlreadyVerified() : PhoneTaken();
}

Error SendLimitReached(int64_t wait) {
  return WithRetry(Error::Make(ErrorKind::kRateLimited, "send_limit_reached",
                               "Too many codes were requested; try again later.", "phone"),
                   wait);
}

// The code's SMS, sealed for the outbox: the account API's wording, with the WebOTP line
// when public_host is set.
std::string SealedSms(const OtpPolicy& policy, const std::string& code, Language language) {
  SmsTextOptions options;
  options.public_host = policy.public_host;
  return util::Seal(policy.outbox_key,
                    VerificationSmsText(code, policy.otp_ttl, language, options));
}

}  // namespace


// An account_id of 0 (a caller known by its token) leaves the account's limit to be keyed
// by the storage (WindowLimit::keyed_by_caller).
std::vector<WindowLimit> VerificationService::SendLimits(int64_t account_id,
                                                         const std::string& phone,
                                                         const std::string& ip) const {
  std::vector<WindowLimit> limits;
  auto add = [&](const char* scope, std::string key, int64_t window, int max,
                 bool by_caller = false) {
    if (max > 0) limits.push_back(WindowLimit{scope, std::move(key), window, max, by_caller});
  };
  add("phone_day", phone, kDay, policy_.otp_max_sends_per_day);
  add("account_day", account_id == 0 ? "" : std::to_string(account_id), kDay,
      policy_.account_max_sends_per_day, account_id == 0);
  for (WindowLimit& limit : SharedSendLimits(policy_, phone, ip)) limits.push_back(std::move(limit));
  return limits;
}

std::optional<int64_t> VerificationService::SendsLeft(const std::vector<WindowLimit>& limits,
                                                      const std::vector<WindowUsage>& usage,
                                                      int extra_sends) const {
  std::optional<int64_t> left;
  for (size_t i = 0; i < limits.size() && i < usage.size(); ++i) {
    if (limits[i].scope != "phone_day" && limits[i].scope != "account_day") continue;
    int64_t r = std::max<int64_t>(0, Remaining(limits[i], usage[i]) - extra_sends);
    left = left ? std::min(*left, r) : r;
  }
  return left;
}

// A send to another account's phone counts toward this account's daily cap and the
// client's hourly cap (checked first), so sweeping numbers to learn which are registered
// runs into them; it is no send, so not the phone's cooldown or cap, its block, the budget.
SendVerdict VerificationService::RefuseTaken(const std::vector<WindowLimit>& limits,
                                             const SendSnapshot& snap, int64_t now) const {
  SendVerdict verdict(PhoneTaken());
  for (size_t i = 0; i < limits.size(); ++i) {
    if (limits[i].scope != "account_day" && limits[i].scope != "ip_send_hour") continue;
    if (IsExhausted(limits[i], snap.usage[i])) {
      return SendLimitReached(SecondsUntilFree(limits[i], snap.usage[i], now));
    }
    verdict.charged.push_back(i);
  }
  return verdict;
}

SendVerdict VerificationService::DecideSend(const std::vector<WindowLimit>& limits,
                                            const SendSnapshot& snap, int64_t now) const {
  if (snap.account_id == 0) return NotAuthenticated();
  if (snap.phone_owner) {
    if (*snap.phone_owner == snap.account_id) return AlreadyVerified();
    return RefuseTaken(limits, snap, now);
  }
  const int64_t cooldown = policy_.otp_resend_cooldown;
  if (cooldown > 0 && snap.last_send_to_phone > 0 && now - snap.last_send_to_phone < cooldown) {
    return WithRetry(Error::Make(ErrorKind::kRateLimited, "resend_too_soon",
                                 "A code was sent to this phone moments ago; wait before "
                                 "asking for another.", "phone"),
                     snap.last_send_to_phone + cooldown - now);
  }
  for (size_t i = 0; i < limits.size(); ++i) {
    if (!IsExhausted(limits[i], snap.usage[i])) continue;
    const int64_t wait = SecondsUntilFree(limits[i], snap.usage[i], now);
    if (limits[i].scope == "budget_day") {
      return WithRetry(Error::Make(ErrorKind::kUnavailable, "sms_budget_exhausted",
                                   "The service has sent all the SMS it may send today."),
                       wait);
    }
    return SendLimitReached(wait);
  }
  return util::Status::Ok();
}

util::Result<PhoneNumber> VerificationService::ParseSendPhone(
    const std::string& raw_phone) const {
  if (raw_phone.empty()) return MissingField("phone");
  return PhoneNumber::Parse(raw_phone, policy_.allowed_prefixes);
}

util::Result<SendReceipt> VerificationService::SendCode(const Account& account,
                                                        const std::string& raw_phone,
                                                        const std::string& client_ip,
                                                        const std::string& request_id,
                                                        Language language,
                                                        const std::string& client_key) {
  auto parsed = ParseSendPhone(raw_phone);
  if (!parsed.ok()) return parsed.error();
  if (account.phone_verified && account.phone == parsed.value().national()) {
    return AlreadyVerified();
  }
  return SendCode(Caller{account.id, ""}, parsed.value(), client_ip, request_id, language,
                  client_key);
}

util::Result<SendReceipt> VerificationService::SendCode(const Caller& who,
                                                        const PhoneNumber& phone,
                                                        const std::string& client_ip,
                                                        const std::string& request_id,
                                                        Language language,
                                                        const std::string& client_key) {
  const int64_t now = clock_.NowSeconds();
  const std::string code = random_.Digits(policy_.otp_length);
  NewCode new_code;
  new_code.record = OtpRecord{CodeHash(policy_.otp_hash_key, phone.national(), code), now,
                              now + policy_.otp_ttl, 0, policy_.otp_max_attempts, false};
  new_code.sealed_text = SealedSms(policy_, code, language);
  new_code.message_expires_at = now + policy_.otp_ttl;
  new_code.request_id = request_id;
  new_code.client_key = client_key;

  const SendPlan plan{who, phone.national(), now,
                      SendLimits(who.account_id, phone.national(), client_ip),
                      policy_.otp_resend_cooldown};
  auto queued = otps_.RecordSend(plan, new_code, [&](const SendSnapshot& snap) {
    return DecideSend(plan.limits, snap, now);
  });
  if (!queued.ok()) return queued.error();
  // A replay's usage already counts its first run.
  const RecordedSend& sent = queued.value();
  return SendReceipt{phone.national(), phone.Operator(), policy_.otp_ttl,
                     policy_.otp_resend_cooldown,
                     SendsLeft(plan.limits, sent.usage, sent.replayed ? 0 : 1)};
}

GuessDecision VerificationService::DecideGuess(const GuessInput& guess, const GuessContext& ctx,
                                               int64_t now) const {
  if (ctx.account_id == 0) return {GuessOutcome::kRefused, NotAuthenticated()};
  const Error not_requested =
      Error::Make(ErrorKind::kInvalidInput, "otp_not_requested",
                  "No code was requested for this phone; ask for one first.", "phone");
  // Without a code of its own, an account learns nothing about who owns the phone: a
  // sweep of numbers through verify-otp must not tell registered ones apart.
  if (!ctx.otp) return {GuessOutcome::kRefused, not_requested};
  if (auto e = OwnershipError(ctx.phone_owner, ctx.account_id)) {
    return {GuessOutcome::kRefused, *e};
  }
  if (ctx.otp->consumed) return {GuessOutcome::kRefused, not_requested};
  const OtpRecord& otp = *ctx.otp;
  if (otp.AttemptsUsedUp()) {
    const int64_t resend_at = ctx.last_send_to_phone + policy_.otp_resend_cooldown;
    return {GuessOutcome::kRefused,
            WithRetry(Error::Make(ErrorKind::kRateLimited, "too_many_attempts",
                                  "Too many wrong codes; ask for a new code.", "otp"),
                      resend_at - now)};
  }
  if (now >= otp.expires_at) {
    return {GuessOutcome::kRefused,
            Error::Make(ErrorKind::kGone, "otp_expired",
                        "This code has expired; ask for a new one.", "otp")};
  }
  if (CodeMatches(policy_.otp_hash_key, ctx.account_id, guess.phone, guess.otp, otp.code_hash)) {
    return {GuessOutcome::kCorrect, {}};
  }
  Error wrong = Error::Make(ErrorKind::kInvalidInput, "otp_invalid",
                            "The code is not correct.", "otp");
  if (otp.max_attempts > 0) wrong.attempts_left = otp.max_attempts - otp.attempts_used - 1;
  return {GuessOutcome::kWrong, wrong};
}

// The storage applied nothing for a replay, and `otp` already counts the attempt the
// first run used.
util::Result<VerifyReceipt> VerificationService::AnswerReplay(const std::string& phone,
                                                              const RecordedGuess& first) const {
  if (first.decision.outcome == GuessOutcome::kCorrect) return VerifyReceipt{phone};
  Error wrong = Error::Make(ErrorKind::kInvalidInput, "otp_invalid",
                            "The code is not correct.", "otp");
  if (first.otp && first.otp->max_attempts > 0) {
    wrong.attempts_left = std::max(0, first.otp->max_attempts - first.otp->attempts_used);
  }
  return wrong;
}

util::Result<GuessInput> VerificationService::ParseGuess(const std::string& raw_phone,
                                                         const std::string& raw_otp) const {
  if (raw_phone.empty()) return MissingField("phone");
  auto parsed = PhoneNumber::Parse(raw_phone, policy_.allowed_prefixes);
  if (!parsed.ok()) return parsed.error();
  if (raw_otp.empty()) return MissingField("otp");
  // A Nepali keyboard types Devanagari digits; the code itself is ASCII.
  std::string otp = util::FoldDevanagariDigits(raw_otp);
  if (otp.size() != static_cast<size_t>(policy_.otp_length) || !util::IsAsciiDigits(otp)) {
    return Error::Make(ErrorKind::kInvalidInput, "invalid_field",
                       "The code must be " + std::to_string(policy_.otp_length) + " digits.",
                       "otp");
  }
  return GuessInput{parsed.value().national(), std::move(otp)};
}

util::Result<VerifyReceipt> VerificationService::VerifyCode(const Account& account,
                                                            const std::string& raw_phone,
                                                            const std::string& raw_otp,
                                                            const std::string& client_key) {
  auto guess = ParseGuess(raw_phone, raw_otp);
  if (!guess.ok()) return guess.error();
  return VerifyCode(Caller{account.id, ""}, guess.value(), client_key);
}

util::Result<VerifyReceipt> VerificationService::VerifyCode(const Caller& who,
                                                            const GuessInput& guess,
                                                            const std::string& client_key) {
  // (No shortcut for an already verified phone here: DecideGuess answers it, after a
  // replay of the guess that verified it has had the chance to answer 200 again.)
  const int64_t now = clock_.NowSeconds();
  const GuessRequest request{who, guess.phone, now, client_key};
  auto applied = otps_.RecordGuess(request, [&](const GuessContext& ctx) {
    return DecideGuess(guess, ctx, now);
  });
  if (!applied.ok()) return applied.error();
  if (applied.value().replayed) return AnswerReplay(guess.phone, applied.value());
  const GuessDecision& decision = applied.value().decision;
  if (decision.outcome != GuessOutcome::kCorrect) return decision.error;
  return VerifyReceipt{guess.phone};
}

util::Result<CodeStatusView> VerificationService::CodeStatus(const Account& account,
                                                             const std::string& raw_phone) {
  if (raw_phone.empty()) return MissingField("phone");
  auto parsed = PhoneNumber::Parse(raw_phone, policy_.allowed_prefixes);
  if (!parsed.ok()) return parsed.error();
  const std::string phone = parsed.value().national();
  auto found = otps_.FindCodeStatus(account.id, phone);
  if (!found.ok()) return found.error();
  if (!found.value()) {
    return Error::Make(ErrorKind::kNotFound, "otp_not_requested",
                       "No code was requested for this phone.", "phone");
  }
  const int64_t now = clock_.NowSeconds();
  std::vector<WindowLimit> limits = SendLimits(account.id, phone, "");
  std::erase_if(limits, [](const WindowLimit& l) {
    return l.scope != "phone_day" && l.scope != "account_day";
  });
  auto usage = otps_.Usage(limits, now);
  if (!usage.ok()) return usage.error();
  return DescribeCode(phone, *found.value(), limits, usage.value(), now);
}

CodeStatusView VerificationService::DescribeCode(const std::string& phone,
                                                 const CodeStatusRecord& rec,
                                                 const std::vector<WindowLimit>& limits,
                                                 const std::vector<WindowUsage>& usage,
                                                 int64_t now) const {
  const OtpRecord& otp = rec.otp;
  CodeStatusView view;
  view.phone = phone;
  const bool locked = otp.AttemptsUsedUp();
  view.state = otp.consumed ? "verified" : locked ? "locked"
               : now >= otp.expires_at ? "expired" : "pending";
  view.delivery = rec.delivery_state == "sent"     ? "sent"
                  : rec.delivery_state == "failed" ? "failed"
                                                   : "queued";
  // The gateway's own words ("sparrow 1002: Invalid Token") are for the log and
  // phoneverify-admin; a user gets plain words.
  if (!rec.delivery_error.empty() && rec.delivery_state == "failed") {
    view.delivery_error = kDeliveryFailedText;
  } else if (!rec.delivery_error.empty() && rec.delivery_state == "retry") {
    view.delivery_error = kDeliveryRetryingText;
  }
  view.expires_in = view.state == "pending" ? otp.expires_at - now : 0;
  view.resend_in = std::max<int64_t>(0, rec.last_send_to_phone + policy_.otp_resend_cooldown - now);
  if (policy_.otp_resend_cooldown <= 0) view.resend_in = 0;
  for (size_t i = 0; i < limits.size(); ++i) {
    if (limits[i].scope == "phone_day" && IsExhausted(limits[i], usage[i])) {
      view.resend_in = std::max(view.resend_in, SecondsUntilFree(limits[i], usage[i], now));
    }
  }
  if (otp.max_attempts > 0) {
    view.attempts_left = std::max(0, otp.max_attempts - otp.attempts_used);
  }
  view.sends_left = SendsLeft(limits, usage, 0);
  return view;
}

}  // namespace phoneverify::domain
