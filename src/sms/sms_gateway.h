// A gateway that sends synchronously: ConsoleGateway (sms.log), BlockingGateway (an HTTP
// backend, one call at a time) and test fakes; the dispatcher uses one through
// GatewayBackend (sms_backend.h). Send() may block for up to the configured timeout; it
// never throws. SendResult is what every backend answers.
#pragma once

#include <string>

namespace phoneverify::sms {

struct SendResult {
  enum class Kind { kDelivered, kTransient, kPermanent };
  Kind kind = Kind::kTransient;
  int gateway_code = 0;  // Sparrow response_code, HTTP status, or 0
  std::string detail;    // short reason for logs and GET /api/v1/phone/otp; no secrets
  // The gateway account can send nothing at all until an operator acts (Sparrow 1012/1013,
  // no credits): the dispatcher pauses sending instead of burning every queued message.
  bool out_of_credit = false;
  // The failure concerns the gateway account, not this message (no credit, invalid
  // token): that backend pauses and the next one in sms_backend takes over.
  bool whole_gateway = false;
};

class SmsGateway {
 public:
  virtual ~SmsGateway() = default;
  virtual SendResult Send(const std::string& to, const std::string& text) = 0;
  virtual const char* Name() const = 0;
};

}  // namespace phoneverify::sms
