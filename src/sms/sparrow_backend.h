// The Sparrow SMS HTTP API as a backend (contract section 6).
//
// Prepare builds a form-encoded POST of token, from, to, text to the configured URL;
// Interpret classifies the answer:
//   HTTP 200 with response_code 200                 -> kDelivered
//   Sparrow error (response_code 1000-1013, any 4xx) -> kPermanent, gateway_code = that
//                                                       code, detail "sparrow 1002: Invalid Token";
//                                                       1002 (invalid token) and 1012/1013 (no
//                                                       credits) also set whole_gateway,
//                                                       1012/1013 out_of_credit
//   other 4xx (except 408/429)                       -> kPermanent, gateway_code = HTTP status
//   5xx, 408, 429, timeouts, connection errors,
//   unreadable replies                               -> kTransient ("timeout",
//                                                       "connect failed", "http 502", ...)
// `detail` never contains the token or the message text, and the phone only masked.
// Nothing is logged here. Stateless after construction: one instance serves every call.
#pragma once

#include <string>
#include <string_view>

#include "sms/sms_backend.h"

namespace phoneverify::sms {

class SparrowBackend final : public SmsBackend {
 public:
  // timeout_seconds <= 0 means 10. The connect phase is limited to min(timeout, 5) s.
  SparrowBackend(std::string url, std::string token, std::string from, int timeout_seconds);

  const char* Name() const override { return "sparrow"; }
  Prepared Prepare(const OutgoingSms& sms) override;
  SendResult Interpret(const OutgoingSms& sms, const HttpAnswer& answer) const override;

 private:
  std::string url_;
  std::string token_;
  std::string from_;
  int timeout_seconds_;
};

// Classifies a completed HTTP exchange (exposed for unit tests).
SendResult InterpretSparrowReply(long http_status, std::string_view body);

}  // namespace phoneverify::sms
