#include "domain/api_verification_service.h"

#include <algorithm>

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

Error InvalidField(const std::string& field, const std::string& details) {
  return Error::Make(ErrorKind::kInvalidInput, "invalid_field", details, field);
}

Error NotFound() {
  return Error::Make(ErrorKind::kNotFound, "not_found", "No such verification.");
}

Error NotPending(VerificationStatus status) {
  return Error::Make(ErrorKind::kConflict, "verification_not_pending",
                     std::string("The verification is ") + StatusName(status) + ".");
}

Error WithRetry(Error e, int64_t retry_after) {
  e.retry_after = std::max<int64_t>(1, retry_after);
  return e;
}

// An answer that writes nothing: the storage rolls everything back.
VerificationChange Refusal(Error error) {
  VerificationChange change;
  change.answer.status = std::move(error);
  return change;
}

// Events are stored only for a client with a webhook to deliver them to (one disabled by
// a 410 takes none until it is given a URL again).
VerificationChange ForClient(const ApiClient& client, VerificationChange change) {
  if (client.webhook_url.empty() || client.webhook_disabled) change.events.clear();
  return change;
}

bool PrintableAscii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

bool AppHashChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

std::optional<Error> CheckStartFields(const StartInput& input) {
  if (input.has_reference && (input.reference.empty() || input.reference.size() > 64 ||
                              !PrintableAscii(input.reference))) {
    return InvalidField("reference", "reference must be 1 to 64 printable ASCII characters.");
  }
  if (!input.app_hash.empty() &&
      (input.app_hash.size() != kAppHashChars ||
       !std::all_of(input.app_hash.begin(), input.app_hash.end(), AppHashChar))) {
    return InvalidField("app_hash", "app_hash must be 11 characters of A-Z a-z 0-9 + /.");
  }
  return std::nullopt;
}

util::Result<Language> LanguageOf(const std::string& lang) {
  if (lang.empty()) return Language::kEnglish;
  auto language = LanguageFromCode(lang);
  if (!language) return InvalidField("lang", "lang must be \"en\" or \"ne\".");
  return *language;
}

}  // namespace

ApiRequest ApiVerificationService::RequestOf(const ApiCaller& caller,
                                             const std::string& path) const {
  return ApiRequest{caller.client.id, "POST " + path, caller.idempotency_key,
                    clock_.NowSeconds()};
}


// The account API's per-phone, per-IP, number-block and budget limits (same scopes and
// keys, so both APIs count together), and the client's own daily cap.
std::vector<WindowLimit> ApiVerificationService::SendLimits(const ClientCodeRules& rules,
                                                            int64_t client_id,
                                                            const std::string& phone,
                                                            const std::string& ip_key) const {
  std::vector<WindowLimit> limits = DailySendLimits(policy_, rules, client_id, phone);
  for (WindowLimit& limit : SharedSendLimits(policy_, phone, ip_key)) {
    limits.push_back(std::move(limit));
  }
  return limits;
}

std::optional<Error> ApiVerificationService::RefuseSend(const std::vector<WindowLimit>& limits,
                                                        const std::vector<WindowUsage>& usage,
                                                        int64_t last_send, int64_t now) const {
  const int64_t cooldown = policy_.otp_resend_cooldown;
  if (cooldown > 0 && last_send > 0 && now - last_send < cooldown) {
    return WithRetry(Error::Make(ErrorKind::kRateLimited, "resend_too_soon",
                                 "A code was sent to this phone moments ago; wait before "
                                 "asking for another.", "phone"),
                     last_send + cooldown - now);
  }
  for (size_t i = 0; i < limits.size() && i < usage.size(); ++i) {
    if (!IsExhausted(limits[i], usage[i])) continue;
    const int64_t wait = SecondsUntilFree(limits[i], usage[i], now);
    if (limits[i].scope == "budget_day") {
      return WithRetry(Error::Make(ErrorKind::kUnavailable, "sms_budget_exhausted",
                                   "The service has sent all the SMS it may send today."),
                       wait);
    }
    return WithRetry(Error::Make(ErrorKind::kRateLimited, "send_limit_reached",
                                 "Too many codes were requested; try again later.", "phone"),
                     wait);
  }
  return std::nullopt;
}


NewMessage ApiVerificationService::NewCode(VerificationRecord& record,
                                           const ClientCodeRules& rules,
                                           const std::string& request_id, int64_t now) {
  const std::string code = random_.Digits(rules.code_length);
  record.code_hash =
      util::KeyedHash(policy_.otp_hash_key, "ver:" + record.public_id + ":" + code);
  record.code_length = rules.code_length;
  record.max_attempts = rules.max_attempts;
  record.attempts_used = 0;
  record.sent_at = now;
  record.expires_at = now + rules.ttl;
  record.delivery_state = "queued";
  record.delivery_error.clear();
  NewMessage message;
  message.sealed_text =
      util::Seal(policy_.outbox_key,
                 VerificationSmsText(code, rules.ttl, record.lang,
                                     SmsTextOptions{rules.brand, record.app_hash,
                                                    policy_.public_host}));
  message.expires_at = record.expires_at;
  message.request_id = request_id;
  return message;
}


util::Result<ApiAnswer> ApiVerificationService::Start(const ApiCaller& caller,
                                                      const StartInput& input) {
  if (input.phone.empty()) {
    return Error::Make(ErrorKind::kInvalidInput, "missing_field",
                       "The field 'phone' is required.", "phone");
  }
  auto phone = PhoneNumber::Parse(input.phone, policy_.allowed_prefixes);
  if (!phone.ok()) return phone.error();
  auto lang = LanguageOf(input.lang);
  if (!lang.ok()) return lang.error();
  if (auto e = CheckStartFields(input)) return *e;

  const ClientCodeRules rules = CodeRulesOf(caller.client, policy_);
  VerificationRecord record;
  record.public_id = kVerificationIdPrefix + random_.Hex(16);
  record.client_id = caller.client.id;
  record.phone = phone.value().national();
  if (input.has_reference) record.reference = input.reference;
  record.lang = lang.value();
  record.app_hash = input.app_hash;
  record.ip_key = input.ip_key;
  record.sends = 1;
  const StartPlan plan{record.phone,
                       SendLimits(rules, caller.client.id, record.phone, input.ip_key)};
  const ApiRequest request = RequestOf(caller, "/api/v1/verifications");
  record.created_at = request.now;
  return store_.Start(request, plan, [&](const StartSnapshot& snap) {
    return ForClient(caller.client,
                     DecideStart(caller, rules, plan.limits, record, snap, request.now));
  });
}

VerificationChange ApiVerificationService::DecideStart(const ApiCaller& caller,
                                                       const ClientCodeRules& rules,
                                                       const std::vector<WindowLimit>& limits,
                                                       VerificationRecord record,
                                                       const StartSnapshot& snap, int64_t now) {
  if (auto e = RefuseSend(limits, snap.usage, snap.last_send_to_phone, now)) return Refusal(*e);
  VerificationChange change;
  const VerificationFigures figures = FiguresOf(policy_, limits, snap.usage, now, 1, now);
  for (VerificationRecord older : snap.pending) {
    older.status = VerificationStatus::kCanceled;
    change.events.push_back(MakeEvent(random_, kEventCanceled, older, figures, now));
    change.canceled.push_back(std::move(older));
  }
  change.message = NewCode(record, rules, caller.request_id, now);
  change.count_send = true;
  change.answer.object = VerificationObject(record, figures, now);
  change.record = std::move(record);
  return change;
}

util::Result<Json::Value> ApiVerificationService::Get(const ApiClient& client,
                                                      const std::string& public_id) {
  if (!LooksLikeVerificationId(public_id)) return NotFound();
  const int64_t now = clock_.NowSeconds();
  const ClientCodeRules rules = CodeRulesOf(client, policy_);
  auto found = store_.Find(client.id, public_id, now, [&](const VerificationRecord& r) {
    return ChangePlan{DailySendLimits(policy_, rules, client.id, r.phone), false};
  });
  if (!found.ok()) return found.error();
  if (!found.value()) return NotFound();
  const VerificationSnapshot& snap = *found.value();
  const auto limits = DailySendLimits(policy_, rules, client.id, snap.record.phone);
  return VerificationObject(snap.record,
                            FiguresOf(policy_, limits, snap.usage, snap.last_send_to_phone, 0, now), now);
}

util::Result<ApiAnswer> ApiVerificationService::Check(const ApiCaller& caller,
                                                      const std::string& public_id,
                                                      const std::string& raw_code) {
  if (raw_code.empty()) {
    return Error::Make(ErrorKind::kInvalidInput, "missing_field",
                       "The field 'code' is required.", "code");
  }
  if (!LooksLikeVerificationId(public_id)) return NotFound();
  const std::string code = util::FoldDevanagariDigits(raw_code);
  const ClientCodeRules rules = CodeRulesOf(caller.client, policy_);
  const ApiRequest request = RequestOf(caller, "/api/v1/verifications/" + public_id + "/check");
  return store_.Change(
      request, public_id,
      [&](const VerificationRecord& r) {
        return ChangePlan{DailySendLimits(policy_, rules, caller.client.id, r.phone), false};
      },
      [&](const VerificationSnapshot& snap) {
        return ForClient(caller.client, DecideCheck(rules, code, snap, request.now));
      });
}

VerificationChange ApiVerificationService::DecideCheck(const ClientCodeRules& rules,
                                                       const std::string& code,
                                                       const VerificationSnapshot& snap,
                                                       int64_t now) {
  VerificationRecord r = snap.record;
  if (code.size() != static_cast<size_t>(r.code_length) || !util::IsAsciiDigits(code)) {
    return Refusal(InvalidField(
        "code", "The code must be " + std::to_string(r.code_length) + " digits."));
  }
  const VerificationStatus status = EffectiveStatus(r, now);
  if (status == VerificationStatus::kExpired) {
    return Refusal(Error::Make(ErrorKind::kGone, "otp_expired",
                               "This code has expired; ask for a new one.", "code"));
  }
  if (status == VerificationStatus::kMaxAttemptsReached) {
    return Refusal(Error::Make(ErrorKind::kRateLimited, "too_many_attempts",
                               "Too many wrong codes; start a new verification.", "code"));
  }
  if (status != VerificationStatus::kPending) return Refusal(NotPending(status));
  const auto limits = DailySendLimits(policy_, rules, r.client_id, r.phone);
  const VerificationFigures figures = FiguresOf(policy_, limits, snap.usage, snap.last_send_to_phone, 0, now);
  VerificationChange change;
  const std::string hash = util::KeyedHash(policy_.otp_hash_key, "ver:" + r.public_id + ":" + code);
  if (util::ConstantTimeEqual(hash, r.code_hash)) {
    r.status = VerificationStatus::kApproved;
    change.events.push_back(MakeEvent(random_, kEventApproved, r, figures, now));
    change.answer.object = VerificationObject(r, figures, now);
  } else {
    ++r.attempts_used;
    Error wrong = Error::Make(ErrorKind::kInvalidInput, "otp_invalid", "The code is not correct.",
                              "code");
    if (r.max_attempts > 0) {
      wrong.attempts_left = std::max(0, r.max_attempts - r.attempts_used);
      if (r.attempts_used >= r.max_attempts) {
        r.status = VerificationStatus::kMaxAttemptsReached;
        change.events.push_back(MakeEvent(random_, kEventMaxAttempts, r, figures, now));
      }
    }
    change.answer.status = wrong;  // kept: the attempt counts once, even when repeated
  }
  change.record = std::move(r);
  return change;
}

util::Result<ApiAnswer> ApiVerificationService::Resend(const ApiCaller& caller,
                                                       const std::string& public_id,
                                                       const std::string& lang) {
  std::optional<Language> language;
  if (!lang.empty()) {
    auto parsed = LanguageOf(lang);
    if (!parsed.ok()) return parsed.error();
    language = parsed.value();
  }
  if (!LooksLikeVerificationId(public_id)) return NotFound();
  const ClientCodeRules rules = CodeRulesOf(caller.client, policy_);
  const ApiRequest request = RequestOf(caller, "/api/v1/verifications/" + public_id + "/resend");
  return store_.Change(
      request, public_id,
      [&](const VerificationRecord& r) {
        return ChangePlan{SendLimits(rules, caller.client.id, r.phone, r.ip_key), true};
      },
      [&](const VerificationSnapshot& snap) {
        return ForClient(caller.client, DecideResend(caller, rules, language, snap, request.now));
      });
}

VerificationChange ApiVerificationService::DecideResend(const ApiCaller& caller,
                                                        const ClientCodeRules& rules,
                                                        const std::optional<Language>& lang,
                                                        const VerificationSnapshot& snap,
                                                        int64_t now) {
  VerificationRecord r = snap.record;
  const VerificationStatus status = EffectiveStatus(r, now);
  if (status != VerificationStatus::kPending) return Refusal(NotPending(status));
  const auto limits = SendLimits(rules, r.client_id, r.phone, r.ip_key);
  if (auto e = RefuseSend(limits, snap.usage, snap.last_send_to_phone, now)) return Refusal(*e);
  if (lang) r.lang = *lang;
  ++r.sends;
  VerificationChange change;
  change.message = NewCode(r, rules, caller.request_id, now);
  change.count_send = true;
  change.answer.object = VerificationObject(r, FiguresOf(policy_, limits, snap.usage, now, 1, now), now);
  change.record = std::move(r);
  return change;
}

util::Result<ApiAnswer> ApiVerificationService::Cancel(const ApiCaller& caller,
                                                       const std::string& public_id) {
  if (!LooksLikeVerificationId(public_id)) return NotFound();
  const ClientCodeRules rules = CodeRulesOf(caller.client, policy_);
  const ApiRequest request = RequestOf(caller, "/api/v1/verifications/" + public_id + "/cancel");
  return store_.Change(
      request, public_id,
      [&](const VerificationRecord& r) {
        return ChangePlan{DailySendLimits(policy_, rules, caller.client.id, r.phone), false};
      },
      [&](const VerificationSnapshot& snap) {
        return ForClient(caller.client, DecideCancel(rules, snap, request.now));
      });
}

VerificationChange ApiVerificationService::DecideCancel(const ClientCodeRules& rules,
                                                        const VerificationSnapshot& snap,
                                                        int64_t now) {
  VerificationRecord r = snap.record;
  const VerificationStatus status = EffectiveStatus(r, now);
  if (status != VerificationStatus::kPending) return Refusal(NotPending(status));
  r.status = VerificationStatus::kCanceled;
  const auto limits = DailySendLimits(policy_, rules, r.client_id, r.phone);
  const VerificationFigures figures = FiguresOf(policy_, limits, snap.usage, snap.last_send_to_phone, 0, now);
  VerificationChange change;
  change.events.push_back(MakeEvent(random_, kEventCanceled, r, figures, now));
  change.answer.object = VerificationObject(r, figures, now);
  change.record = std::move(r);
  return change;
}

}  // namespace phoneverify::domain
