// Sending and checking one-time codes, with every rule of the contract (section 4).
// Thread-compatible: one instance per worker thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/account.h"
#include "domain/language.h"
#include "domain/otp_policy.h"
#include "domain/phone_number.h"
#include "domain/ports.h"
#include "util/clock.h"
#include "util/random.h"
#include "util/status.h"

namespace phoneverify::domain {

struct SendReceipt {
  std::string phone;
  std::string operator_name;
  int64_t expires_in = 0;
  int64_t resend_in = 0;
  std::optional<int64_t> sends_left;  // nullopt when both daily limits are off
};

struct VerifyReceipt {
  std::string phone;
};

// A guess whose fields passed the checks that need no storage.
struct GuessInput {
  std::string phone;  // national number
  std::string otp;    // otp_length digits
};

// CodeStatusView::delivery_error: what a user is told, never the gateway's raw text.
inline constexpr char kDeliveryFailedText[] =
    "The SMS could not be delivered. Check the number, or ask for a new code later.";
inline constexpr char kDeliveryRetryingText[] =
    "The SMS could not be sent yet; it will be tried again shortly.";

struct CodeStatusView {
  std::string phone;
  std::string state;     // pending | verified | expired | locked
  std::string delivery;  // queued | sent | failed
  std::optional<std::string> delivery_error;
  int64_t expires_in = 0;
  int64_t resend_in = 0;
  std::optional<int64_t> attempts_left;  // nullopt when the attempt limit is off
  std::optional<int64_t> sends_left;
};

class VerificationService {
 public:
  VerificationService(OtpRepository& otps, const OtpPolicy& policy,
                      const util::Clock& clock, util::Random& random)
      : otps_(otps), policy_(policy), clock_(clock), random_(random) {}

  // 400 invalid_phone/missing_field, 403 phone_already_verified, 409 phone_taken,
  // 429 resend_too_soon/send_limit_reached, 503 sms_budget_exhausted.
  // `client_ip` is the client as per-IP limits count it (http::Request::client_key).
  // A 409 phone_taken counts toward the account's daily cap and the client's hourly cap.
  // The SMS is written in `language`. `request_id` follows the message into the outbox
  // and the dispatcher's log lines. A non-empty `client_key` (the client's
  // Idempotency-Key) makes the send idempotent (OtpRepository::RecordSend): the same key
  // for the same account and phone within 24 h answers the first send's receipt again,
  // without a second SMS or a second charge against any limit.
  util::Result<SendReceipt> SendCode(const Account& account, const std::string& raw_phone,
                                     const std::string& client_ip,
                                     const std::string& request_id,
                                     Language language = Language::kEnglish,
                                     const std::string& client_key = "");
  // The same for a phone already parsed, by an account or an API token resolved with the
  // send, in its one round trip (401 not_authenticated when the token matches no active
  // account).
  util::Result<SendReceipt> SendCode(const Caller& who, const PhoneNumber& phone,
                                     const std::string& client_ip,
                                     const std::string& request_id, Language language,
                                     const std::string& client_key);
  // 400 missing_field/invalid_phone: a send's phone, parsed (Devanagari digits allowed).
  util::Result<PhoneNumber> ParseSendPhone(const std::string& raw_phone) const;

  // 400 invalid_phone/missing_field/invalid_field/otp_not_requested/otp_invalid,
  // 403 phone_already_verified, 409 phone_taken, 410 otp_expired, 429 too_many_attempts.
  // A non-empty `client_key` makes the guess idempotent like SendCode: repeating
  // it answers the first outcome again and uses no further attempt.
  util::Result<VerifyReceipt> VerifyCode(const Account& account,
                                         const std::string& raw_phone,
                                         const std::string& raw_otp,
                                         const std::string& client_key = "");
  // The same for a guess already parsed, by an account or an API token resolved with
  // the code (401 not_authenticated when the token matches no active account).
  util::Result<VerifyReceipt> VerifyCode(const Caller& who, const GuessInput& guess,
                                         const std::string& client_key);
  // 400 invalid_phone/missing_field/invalid_field. Both fields may be typed in
  // Devanagari digits; the result holds ASCII digits only.
  util::Result<GuessInput> ParseGuess(const std::string& raw_phone,
                                      const std::string& raw_otp) const;

  // 400 invalid_phone, 404 otp_not_requested.
  util::Result<CodeStatusView> CodeStatus(const Account& account,
                                          const std::string& raw_phone);

 private:
  std::vector<WindowLimit> SendLimits(int64_t account_id, const std::string& phone,
                                      const std::string& ip) const;
  // The smaller of the per-phone and per-account remainders after `extra_sends` more.
  std::optional<int64_t> SendsLeft(const std::vector<WindowLimit>& limits,
                                   const std::vector<WindowUsage>& usage,
                                   int extra_sends) const;
  SendVerdict DecideSend(const std::vector<WindowLimit>& limits, const SendSnapshot& snap,
                         int64_t now) const;
  SendVerdict RefuseTaken(const std::vector<WindowLimit>& limits, const SendSnapshot& snap,
                          int64_t now) const;
  GuessDecision DecideGuess(const GuessInput& guess, const GuessContext& ctx,
                            int64_t now) const;
  // The first run's answer again, for a repeated request (RecordedGuess::replayed).
  util::Result<VerifyReceipt> AnswerReplay(const std::string& phone,
                                           const RecordedGuess& first) const;
  CodeStatusView DescribeCode(const std::string& phone, const CodeStatusRecord& rec,
                              const std::vector<WindowLimit>& limits,
                              const std::vector<WindowUsage>& usage, int64_t now) const;

  OtpRepository& otps_;
  const OtpPolicy& policy_;
  const util::Clock& clock_;
  util::Random& random_;
};

}  // namespace phoneverify::domain
