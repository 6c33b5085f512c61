#include "handlers/otp_handlers.h"

#include <optional>

#include "domain/language.h"
#include "handlers/common.h"
#include "http/fields.h"

namespace phoneverify::handlers {

namespace {

// The client's Idempotency-Key ("" when it sent none). A malformed one is refused, not
// dropped: a retry that silently lost its key could send a second SMS.
util::Result<std::string> KeyOf(const http::Request& request) {
  if (request.idempotency_key_malformed) {
    return util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_field",
                             "Idempotency-Key must be 1 to 255 printable ASCII characters.",
                             "Idempotency-Key");
  }
  return request.idempotency_key;
}

util::Result<domain::GuessInput> ReadGuess(const domain::VerificationService& verification,
                                           const http::Request& request) {
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  if (auto st = RequireFields(f, {"phone", "otp"}); !st.ok()) return st.error();
  return verification.ParseGuess(FieldOr(f, "phone"), FieldOr(f, "otp"));
}

struct SendInput {
  domain::PhoneNumber phone;
  domain::Language language;
};

util::Result<SendInput> ReadSend(const domain::VerificationService& verification,
                                 const http::Request& request) {
  auto fields = http::ParseFields(request);
  if (!fields.ok()) return fields.error();
  const http::Fields& f = fields.value();
  if (auto st = RequireFields(f, {"phone"}); !st.ok()) return st.error();
  // Optional `lang` ("en", the default, or "ne"): the language of the SMS.
  const std::string lang = FieldOr(f, "lang");
  const auto language =
      lang.empty() ? std::optional(domain::Language::kEnglish) : domain::LanguageFromCode(lang);
  if (!language) {
    return util::Error::Make(util::ErrorKind::kInvalidInput, "invalid_field",
                             "lang must be \"en\" or \"ne\".", "lang");
  }
  auto phone = verification.ParseSendPhone(FieldOr(f, "phone"));
  if (!phone.ok()) return phone.error();
  return SendInput{phone.value(), *language};
}

// The request's API token and the caller it names, which the storage resolves in the
// request's own round trip (401 for a missing or malformed token).
struct TokenCaller {
  std::string token;
  domain::Caller caller;
};

util::Result<TokenCaller> CallerOf(const http::Request& request) {
  auto token = RequestToken(request);
  if (!token.ok()) return token.error();
  auto token_hash = domain::AccountService::TokenHash(token.value());
  if (!token_hash.ok()) return token_hash.error();
  return TokenCaller{token.value(), domain::Caller{0, token_hash.value()}};
}

// A request refused before the storage has seen its token has the token checked first,
// so that a bad token still answers 401 before any complaint about the body, as on every
// route.
util::Error TokenFirst(domain::AccountService& accounts, const TokenCaller& by_token,
                       const util::Error& refusal) {
  auto account = accounts.Authenticate(by_token.token);
  return account.ok() ? refusal : account.error();
}

}  // namespace

// The token is resolved in the same round trip as the send (SendCode with a Caller).
util::Result<http::Response> SendOtp(domain::AccountService& accounts,
                                     domain::VerificationService& verification,
                                     const http::Request& request) {
  auto by_token = CallerOf(request);
  if (!by_token.ok()) return by_token.error();
  auto key = KeyOf(request);
  if (!key.ok()) return TokenFirst(accounts, by_token.value(), key.error());
  auto input = ReadSend(verification, request);
  if (!input.ok()) return TokenFirst(accounts, by_token.value(), input.error());
  auto sent = verification.SendCode(by_token.value().caller, input.value().phone,
                                    request.client_key, request.request_id,
                                    input.value().language, key.value());
  if (!sent.ok()) return sent.error();
  const domain::SendReceipt& r = sent.value();
  Json::Value body(Json::objectValue);
  body["status"] = 202;
  body["details"] = "A verification code is on its way by SMS.";
  body["phone"] = r.phone;
  body["operator"] = r.operator_name;
  body["expires_in"] = Json::Int64(r.expires_in);
  body["resend_in"] = Json::Int64(r.resend_in);
  body["sends_left"] = IntOrNull(r.sends_left);
  return http::JsonResponse(202, body);
}

// The token is resolved in the same round trip as the code (VerifyCode with a Caller).
util::Result<http::Response> VerifyOtp(domain::AccountService& accounts,
                                       domain::VerificationService& verification,
                                       const http::Request& request) {
  auto by_token = CallerOf(request);
  if (!by_token.ok()) return by_token.error();
  auto key = KeyOf(request);
  auto guess = key.ok() ? ReadGuess(verification, request)
                        : util::Result<domain::GuessInput>(key.error());
  if (!guess.ok()) return TokenFirst(accounts, by_token.value(), guess.error());
  auto verified = verification.VerifyCode(by_token.value().caller, guess.value(), key.value());
  if (!verified.ok()) return verified.error();
  Json::Value body(Json::objectValue);
  body["status"] = 200;
  body["details"] = "Phone number verified.";
  body["phone"] = verified.value().phone;
  body["phone_verified"] = true;
  return http::JsonResponse(200, body);
}

util::Result<http::Response> OtpStatus(domain::AccountService& accounts,
                                       domain::VerificationService& verification,
                                       const http::Request& request) {
  auto account = RequireAccount(accounts, request);
  if (!account.ok()) return account.error();
  auto query = http::ParseQuery(request.query);
  if (!query.ok()) return query.error();
  if (auto st = RequireFields(query.value(), {"phone"}); !st.ok()) return st.error();
  auto status = verification.CodeStatus(account.value(), FieldOr(query.value(), "phone"));
  if (!status.ok()) return status.error();
  const domain::CodeStatusView& v = status.value();
  Json::Value body(Json::objectValue);
  body["phone"] = v.phone;
  body["state"] = v.state;
  body["delivery"] = v.delivery;
  body["delivery_error"] = v.delivery_error ? Json::Value(*v.delivery_error) : Json::Value();
  body["expires_in"] = Json::Int64(v.expires_in);
  body["resend_in"] = Json::Int64(v.resend_in);
  body["attempts_left"] = IntOrNull(v.attempts_left);
  body["sends_left"] = IntOrNull(v.sends_left);
  return http::JsonResponse(200, body);
}

}  // namespace phoneverify::handlers
